/**
 * `[%plea %bref refs jam]`, Plea's task for a poke whose large atoms are blobs (docs/ipc.md,
 * "Plea extension: blob references"): the exact noun, the round trip through jam and cue, blob
 * names as atoms, and every hostile table mars must refuse with a protocol error naming the field.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { isPleaError, PleaError } from "../../src/error.ts";
import { BLOB_DIGEST_BYTES } from "../../src/blob/layout.ts";
import { blobNameToAtom, BREF_ATOM_BYTES_MAX, BREF_ATOM_BYTES_MIN, BREF_REFS_MAX, readBlobName, type BrefRef } from "../../src/ipc/bref.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";
import { TAG } from "../../src/ipc/tags.ts";
import { parseTask, taskToNoun } from "../../src/ipc/task.ts";
import { atomFromBytes, BigAtom, cell, cue, equals, jam, list, metBits, tuple, type Noun } from "../../src/noun/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** A jam atom of exactly `bits` bits (its value does not matter to the message). */
function jamOfBits(bits: number): number | BigAtom {
  const bytes = new Uint8Array(Math.ceil(bits / 8));
  bytes[bytes.length - 1] = 1 << ((bits - 1) % 8);
  return atomFromBytes(bytes);
}

const NAME_A = "5e".repeat(32);
const NAME_B = "0123456789abcdef".repeat(4);

function bref(refs: Noun, jamAtom: Noun = jamOfBits(1000)): Noun {
  return tuple(TAG.plea, TAG.bref, refs, jamAtom);
}

function protocolError(noun: Noun): PleaError {
  try {
    parseTask(noun);
  } catch (e) {
    if (isPleaError(e, IpcErrorCode.protocol)) return e;
    throw new Error(`expected a protocol error, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a protocol error, got a task");
}

describe("the %bref task", () => {
  test("is [%plea %bref refs jam], refs a list of [bit-offset name byte-length], and round-trips through jam and cue", () => {
    const refs: BrefRef[] = [
      { bitOffset: 9, name: NAME_A, byteLength: 1 << 20 },
      { bitOffset: 500, name: NAME_B, byteLength: BREF_ATOM_BYTES_MAX },
    ];
    const jamAtom = jamOfBits(1000);
    const noun = taskToNoun({ type: "bref", refs, jam: jamAtom });
    expect(noun).toEqual(tuple(TAG.plea, TAG.bref, list([tuple(9, blobNameToAtom(NAME_A), 1 << 20), tuple(500, blobNameToAtom(NAME_B), 2 ** 32)]), jamAtom));
    const back = parseTask(cue(jam(noun)));
    expect(back.type === "bref" && back.refs).toEqual(refs);
    expect(back.type === "bref" && equals(back.jam, jamAtom)).toBe(true);
    // The seed's [%plea len] and Plea's [%plea %memfd len] read as before beside it.
    expect(parseTask(cell(TAG.plea, 5))).toEqual({ type: "plea", length: 5 });
  });

  test("an empty table is a plain jam of a poke, and parses", () => {
    expect(parseTask(bref(0, 2))).toEqual({ type: "bref", refs: [], jam: 2 });
  });

  test("a blob name is its digest's bytes as a little-endian atom, shorter when the digest ends in zeros", () => {
    expect(blobNameToAtom("01" + "00".repeat(31))).toBe(1);
    expect(readBlobName(1, "name")).toBe("01" + "00".repeat(31));
    expect(readBlobName(0, "name")).toBe("00".repeat(32));
    const a = blobNameToAtom(NAME_B) as BigAtom;
    expect(a.byteLength).toBe(BLOB_DIGEST_BYTES);
    expect(a.bytes[0]).toBe(0x01);
    expect(a.bytes[31]).toBe(0xef);
    expect(readBlobName(a, "name")).toBe(NAME_B);
    for (const bad of ["", "AB".repeat(32), "ab".repeat(31), "ab".repeat(33), "zz".repeat(32)]) expect(() => blobNameToAtom(bad)).toThrow(/not a blob name/);
  });
});

describe("a hostile %bref is a protocol error naming the field", () => {
  const cases: [string, Noun, string, string][] = [
    ["refs not a list", bref(5), IpcErrorCode.protocol.badShape, "list ending in ~"],
    ["no jam", tuple(TAG.plea, TAG.bref, 0), IpcErrorCode.protocol.badShape, "Task %plea %bref"],
    ["a cell for the jam", bref(0, cell(1, 2)), IpcErrorCode.protocol.badShape, "jam"],
    ["an atom for an entry", bref(list([7])), IpcErrorCode.protocol.badShape, "reference 0"],
    ["an entry without its length", bref(list([cell(3, blobNameToAtom(NAME_A))])), IpcErrorCode.protocol.badShape, "reference 0"],
    ["a cell for a bit offset", bref(list([tuple(cell(1, 1), 1, 1 << 20)])), IpcErrorCode.protocol.badShape, "bit offset"],
    ["a bit offset above 2^53-1", bref(list([tuple(atomFromBytes(new Uint8Array(8).fill(1)), 1, 1 << 20)])), IpcErrorCode.protocol.outOfRange, "bit offset"],
    ["a bit offset past the jam", bref(list([tuple(999, 1, 1 << 20)]), jamOfBits(1000)), IpcErrorCode.protocol.outOfRange, "past the jam's 1000 bits"],
    ["bit offsets out of order", bref(list([tuple(10, 1, 1 << 20), tuple(9, 2, 1 << 20)])), IpcErrorCode.protocol.outOfRange, "reference 1, bit offset"],
    ["a bit offset twice", bref(list([tuple(10, 1, 1 << 20), tuple(10, 2, 1 << 20)])), IpcErrorCode.protocol.outOfRange, "reference 1, bit offset"],
    ["a name longer than a digest", bref(list([tuple(0, atomFromBytes(new Uint8Array(33).fill(7)), 1 << 20)])), IpcErrorCode.protocol.outOfRange, "name"],
    ["a cell for a name", bref(list([tuple(0, cell(1, 2), 1 << 20)])), IpcErrorCode.protocol.badShape, "name"],
    ["a byte length of 0", bref(list([tuple(0, 1, 0)])), IpcErrorCode.protocol.outOfRange, "byte length"],
    ["a byte length a direct atom fits in", bref(list([tuple(0, 1, BREF_ATOM_BYTES_MIN - 1)])), IpcErrorCode.protocol.outOfRange, "byte length"],
    ["a byte length above 4 GiB", bref(list([tuple(0, 1, BREF_ATOM_BYTES_MAX + 1)])), IpcErrorCode.protocol.outOfRange, "byte length"],
    ["a list not ending in ~", bref(cell(tuple(0, 1, 1 << 20), 5)), IpcErrorCode.protocol.badShape, "after 1 items"],
    ["an unknown %plea form", tuple(TAG.plea, TAG.done, 0, 0), IpcErrorCode.protocol.unknownTag, "%plea"],
  ];
  for (const [what, noun, code, where] of cases) {
    test(what, () => {
      const e = protocolError(noun);
      expect(e.code).toBe(code);
      expect(e.message).toContain(where);
    });
  }

  test(`a table of more than BREF_REFS_MAX (${BREF_REFS_MAX}) references is refused before the extra entry is read`, () => {
    const entry = (i: number): Noun => tuple(2 * i, 1, 1 << 20);
    // The extra entry is a cell where an entry's offset belongs: reading it would be a bad shape.
    let over: Noun = cell(tuple(cell(0, 0), 1, 1), 0);
    let full: Noun = 0;
    for (let i = BREF_REFS_MAX - 1; i >= 0; i--) {
      over = cell(entry(i), over);
      full = cell(entry(i), full);
    }
    const jamAtom = jamOfBits(2 * BREF_REFS_MAX + 2);
    expect(metBits(jamAtom as BigAtom)).toBe(2 * BREF_REFS_MAX + 2);
    const e = protocolError(bref(over, jamAtom));
    expect(e.code).toBe(IpcErrorCode.protocol.outOfRange);
    expect(e.message).toContain(`more than ${BREF_REFS_MAX} references`);
    // Exactly BREF_REFS_MAX is a table mars accepts.
    const fewer = parseTask(bref(full, jamAtom));
    expect(fewer.type === "bref" && fewer.refs.length).toBe(BREF_REFS_MAX);
  });
});
