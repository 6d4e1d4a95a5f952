import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { LogError, LogErrorCode } from "../../src/mars/log/index.ts";
import { blobRecord, decodeRecord, eventFromKey, eventKey, RECORD_HEADER_BYTES, RECORD_VERSION, RECORD_VERSION_REFLESS, recordPrefixBytes, sealInlineRecord, type RecordRef } from "../../src/mars/log/record.ts";
import { crc32 } from "../../src/mars/log/streamed-file.ts";
import { blobFileName, parseBlobFileName } from "../../src/mars/log/layout.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function inline(mug: number, jam: number[]): Uint8Array {
  const value = new Uint8Array(RECORD_HEADER_BYTES + jam.length);
  value.set(jam, RECORD_HEADER_BYTES);
  return sealInlineRecord(value, mug);
}

const REF_A: RecordRef = { bitOffset: 3, name: "ab".repeat(32), byteLength: 2 ** 20, bitLength: 2 ** 23 - 5, mug: 0x1234567 };
const REF_B: RecordRef = { bitOffset: 2 ** 40 + 9, name: "0123456789abcdef".repeat(4), byteLength: 4 * 2 ** 30, bitLength: 4 * 2 ** 33, mug: 0x7fffffff };

function inlineWithRefs(mug: number, jam: number[], refs: RecordRef[]): Uint8Array {
  const value = new Uint8Array(recordPrefixBytes(refs.length) + jam.length);
  value.set(jam, recordPrefixBytes(refs.length));
  return sealInlineRecord(value, mug, refs);
}

/** Recomputes a record's CRC after an edit, so the edit itself is what decodeRecord judges. */
function reseal(value: Uint8Array): Uint8Array {
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  view.setUint32(8, crc32(value.subarray(RECORD_HEADER_BYTES), crc32(value.subarray(0, 8))), true);
  return value;
}

function damage(value: Uint8Array): string {
  try {
    decodeRecord(5, value);
  } catch (e) {
    expect(e).toBeInstanceOf(LogError);
    expect((e as LogError).code).toBe(LogErrorCode.record);
    return (e as LogError).message;
  }
  return "decoded";
}

describe("event records, version 2: a ref table before the jam", () => {
  test("an inline record's refs and jam round-trip; the jam sits at recordPrefixBytes", () => {
    const jam = [0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01];
    const value = inlineWithRefs(0x42, jam, [REF_A, { ...REF_B, bitOffset: 40 }]);
    expect(value[5]).toBe(RECORD_VERSION);
    expect(value.length).toBe(12 + 4 + 2 * 64 + jam.length);
    expect(decodeRecord(1, value)).toEqual({ mug: 0x42, version: RECORD_VERSION, refs: [REF_A, { ...REF_B, bitOffset: 40 }], form: "inline", jam: new Uint8Array(jam) });
  });

  test("a version-2 record without refs, and a blob record with refs whose offsets reach past 2^32 bits", () => {
    expect(decodeRecord(1, inlineWithRefs(7, [1], []))).toEqual({ mug: 7, version: RECORD_VERSION, refs: [], form: "inline", jam: new Uint8Array([1]) });
    const value = blobRecord(0x55, 2 ** 38, 0xabcdef01, [REF_A, REF_B]);
    expect(decodeRecord(2, value)).toEqual({ mug: 0x55, version: RECORD_VERSION, refs: [REF_A, REF_B], form: "blob", length: 2 ** 38, crc: 0xabcdef01 });
  });

  test("a hostile ref count is refused against the value's length, before anything is read", () => {
    const value = inlineWithRefs(7, [1, 2, 3], [REF_A]);
    new DataView(value.buffer).setUint32(12, 0xffffffff, true);
    expect(damage(reseal(value))).toMatch(/ref count is 4294967295, but its 83 bytes hold at most 1 refs/);
    const short = inlineWithRefs(7, [1], []).subarray(0, 14).slice();
    expect(damage(reseal(short))).toMatch(/too short for its ref count/);
    // A count that swallows the jam leaves it empty.
    const swallow = inlineWithRefs(7, new Array(64).fill(1), []);
    new DataView(swallow.buffer).setUint32(12, 1, true);
    expect(damage(reseal(swallow))).toMatch(/jam is empty/);
  });

  test("ref entries with bad fields are refused (checksum made right, so the check is the field's)", () => {
    const at = 16;
    const edits: [string, (v: DataView) => void, RegExp][] = [
      ["pad", (v) => v.setUint32(at + 28, 1, true), /nonzero pad/],
      ["mug 0", (v) => v.setUint32(at + 24, 0, true), /mug 0 is not/],
      ["mug over 31 bits", (v) => v.setUint32(at + 24, 0x80000000, true), /mug 2147483648 is not/],
      ["byte length 0", (v) => v.setUint32(at + 8, 0, true), /byte length 0/],
      ["byte length over 2^53", (v) => v.setUint32(at + 12, 0x00400000, true), /byte length/],
      ["bit length that does not fit", (v) => v.setUint32(at + 16, 8, true), /bit length 8 does not fit/],
      ["offset past the jam", (v) => v.setUint32(at, 31, true), /at bit 31, past the jam.s 32 bits/],
    ];
    for (const [, edit, message] of edits) {
      const value = inlineWithRefs(7, [1, 2, 3, 4], [REF_A]);
      edit(new DataView(value.buffer));
      expect(damage(reseal(value))).toMatch(message);
    }
    const unordered = inlineWithRefs(7, new Array(16).fill(1), [REF_A, { ...REF_B, bitOffset: 40 }]);
    new DataView(unordered.buffer).setUint32(16 + 64, 3, true);
    expect(damage(reseal(unordered))).toMatch(/ref 1 is at bit 3, not after ref 0/);
  });

  test("an unknown version or nonzero reserved bytes are refused", () => {
    const v3 = inlineWithRefs(7, [1], []);
    v3[5] = 3;
    expect(damage(reseal(v3))).toMatch(/version is 3, this build reads 1 and 2/);
    const reserved = inline(7, [1]);
    reserved[6] = 1;
    expect(damage(reseal(reserved))).toMatch(/reserved bytes/);
  });

  test("refs that would not decode are refused when written", () => {
    expect(() => inlineWithRefs(7, [1], [{ ...REF_A, name: "AB".repeat(32) }])).toThrow(RangeError);
    expect(() => inlineWithRefs(7, [1, 2], [{ ...REF_A, bitOffset: 9 }, REF_A])).toThrow(RangeError);
    expect(() => inlineWithRefs(7, [1], [{ ...REF_A, bitOffset: 7 }])).toThrow(RangeError);
  });
});

describe("event records", () => {
  test("keys are 8 bytes big-endian, so byte order is numeric order", () => {
    const eves = [1, 2, 255, 256, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    for (const eve of eves) expect(eventFromKey(eventKey(eve))).toBe(eve);
    const keys = eves.map((e) => eventKey(e));
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted.map((k) => eventFromKey(k))).toEqual(eves);
    expect(() => eventFromKey(new Uint8Array(4))).toThrow(LogError);
  });

  test("an inline record starts with the mug, as vere's does, and decodes to its jam", () => {
    const value = inline(0x1234abcd, [0x01, 0x02, 0x03]);
    expect([...value.subarray(0, 4)]).toEqual([0xcd, 0xab, 0x34, 0x12]);
    const rec = decodeRecord(7, value);
    expect(rec).toEqual({ mug: 0x1234abcd, version: RECORD_VERSION_REFLESS, refs: [], form: "inline", jam: new Uint8Array([1, 2, 3]) });
  });

  test("a blob record carries the jam's length and checksum", () => {
    const value = blobRecord(0x55, 5 * 2 ** 32 + 17, 0xdeadbeef);
    expect(decodeRecord(9, value)).toEqual({ mug: 0x55, version: RECORD_VERSION_REFLESS, refs: [], form: "blob", length: 5 * 2 ** 32 + 17, crc: 0xdeadbeef });
  });

  test("any flipped bit in a record is reported naming the event", () => {
    const values = [
      inline(0x1234abcd, [0x01, 0x02, 0x03, 0x44]),
      blobRecord(0x55, 123456, 0xdeadbeef),
      inlineWithRefs(0x1234abcd, [0x01, 0x02, 0x03, 0x44], [REF_A]),
      blobRecord(0x55, 2 ** 38, 0xdeadbeef, [REF_A, REF_B]),
    ];
    for (const value of values) {
      for (let bit = 0; bit < value.length * 8; bit++) {
        const damaged = value.slice();
        damaged[bit >> 3] ^= 1 << (bit & 7);
        let error: unknown;
        try {
          decodeRecord(42, damaged);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(LogError);
        expect((error as LogError).code).toBe(LogErrorCode.record);
        expect((error as LogError).eve).toBe(42);
        expect((error as LogError).message).toMatch(/^Event 42 in the event log is damaged/);
      }
    }
  });

  test("a short record is reported, not read past its end", () => {
    expect(() => decodeRecord(3, new Uint8Array(5))).toThrow(/Event 3 .* below the 12-byte header/);
  });

  test("blob names carry the event and the checksum, and nothing else parses as one", () => {
    expect(blobFileName(12, 0xab)).toBe("12-000000ab.jam");
    expect(parseBlobFileName("12-000000ab.jam")).toEqual({ eve: 12, crc: 0xab });
    for (const name of ["12.partial", "012-000000ab.jam", "12-000000AB.jam", "12-00ab.jam", "x-000000ab.jam", "12-000000ab.jam.tmp"]) {
      expect(parseBlobFileName(name)).toBeUndefined();
    }
  });
});
