import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { LogError, LogErrorCode } from "../../src/mars/log/index.ts";
import { blobRecord, decodeRecord, eventFromKey, eventKey, RECORD_HEADER_BYTES, sealInlineRecord } from "../../src/mars/log/record.ts";
import { blobFileName, parseBlobFileName } from "../../src/mars/log/layout.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function inline(mug: number, jam: number[]): Uint8Array {
  const value = new Uint8Array(RECORD_HEADER_BYTES + jam.length);
  value.set(jam, RECORD_HEADER_BYTES);
  return sealInlineRecord(value, mug);
}

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
    expect(rec).toEqual({ mug: 0x1234abcd, form: "inline", jam: new Uint8Array([1, 2, 3]) });
  });

  test("a blob record carries the jam's length and checksum", () => {
    const value = blobRecord(0x55, 5 * 2 ** 32 + 17, 0xdeadbeef);
    expect(decodeRecord(9, value)).toEqual({ mug: 0x55, form: "blob", length: 5 * 2 ** 32 + 17, crc: 0xdeadbeef });
  });

  test("any flipped bit in a record is reported naming the event", () => {
    const values = [inline(0x1234abcd, [0x01, 0x02, 0x03, 0x44]), blobRecord(0x55, 123456, 0xdeadbeef)];
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
