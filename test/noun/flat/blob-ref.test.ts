/**
 * The flat format's blob-reference entry (docs/shm-format.md, "Blob references"): writeShm writes
 * the atoms `refOf` names as 56-byte entries without reading their bytes, shmSize agrees, and
 * readShm hands each entry to `resolveRef`, checking it as hostile input like any other entry.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, BigAtom, Cell, cell, equals, readShm, shmSize, writeShm, NounErrorCode, ShmFormatError, type Atom, type AtomBytesSource, type Noun } from "../../../src/noun/index.ts";
import type { ShmRef } from "../../../src/noun/flat/layout.ts";
import { mugBytes } from "../../../src/noun/mug.ts";
import { TEST_TIMEOUT_MS } from "../../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** A blob stand-in whose bytes() throws: writing a reference must not read the atom. */
class UnreadableSource implements AtomBytesSource {
  readonly bitLength: number;
  constructor(
    readonly hidden: Uint8Array,
    readonly contentKey: string,
  ) {
    this.bitLength = (hidden.length - 1) * 8 + (32 - Math.clz32(hidden[hidden.length - 1]));
  }
  get byteLength(): number {
    return this.hidden.length;
  }
  bytes(): Uint8Array {
    throw new Error(`bytes() of ${this.contentKey} was read`);
  }
}

function bytesOf(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
  b[length - 1] = 0x80 | seed;
  return b;
}

const bytesA = bytesOf(5000, 1);
const bytesB = bytesOf(300, 2);
const nameA = new Uint8Array(32).fill(0xa1);
const nameB = new Uint8Array(32).fill(0xb2);
const sourced = (bytes: Uint8Array, name: Uint8Array) => BigAtom.fromSource(new UnreadableSource(bytes, Buffer.from(name).toString("hex")), mugBytes(bytes));
const heapA = atomFromBytes(bytesA) as BigAtom;
const heapB = atomFromBytes(bytesB) as BigAtom;

function refOf(a: BigAtom): ShmRef | undefined {
  const s = a.source;
  if (s === undefined) return undefined;
  return { name: Buffer.from(s.contentKey, "hex"), byteLength: s.byteLength, bitLength: s.bitLength, mug: a.mug };
}

/** Resolves to the heap atoms (what mars would build from the store), recording each call. */
function resolver(seen: ShmRef[] = []): (ref: ShmRef) => Atom {
  return (ref) => {
    seen.push(ref);
    if (Buffer.from(ref.name).equals(Buffer.from(nameA))) return heapA;
    if (Buffer.from(ref.name).equals(Buffer.from(nameB))) return heapB;
    throw new Error("no such blob");
  };
}

function encode(n: Noun): Uint8Array {
  const size = shmSize(n, { refOf });
  const buf = new Uint8Array(size);
  expect(writeShm(n, buf, { refOf })).toBe(size);
  return buf;
}

const C = NounErrorCode.flat;

function rejects(buf: Uint8Array, code: ShmFormatError["code"], offset: number): void {
  let error: unknown;
  try {
    readShm(buf, { resolveRef: resolver() });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ShmFormatError);
  expect({ code: (error as ShmFormatError).code, offset: (error as ShmFormatError).offset }).toEqual({ code, offset });
}

function setU32(buf: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(buf.buffer, buf.byteOffset).setUint32(at, v, true);
  return buf;
}

/** [A B]: ref A at data offset 0 (byte 32), ref B at 56 (byte 88), the cell at 112 (byte 144). */
const pairNoun = () => cell(sourced(bytesA, nameA), sourced(bytesB, nameB));

describe("blob references in the flat format", () => {
  test("a referenced atom costs a 56-byte entry; the round trip resolves it, and equal names share one entry", () => {
    const a1 = sourced(bytesA, nameA);
    const a2 = sourced(bytesA, nameA); // another object, the same blob
    const n = new Cell(a1, new Cell(sourced(bytesB, nameB), new Cell(a2, a1)));
    const buf = encode(n);
    expect(buf.length).toBe(32 + 56 * 2 + 32 * 3);
    const seen: ShmRef[] = [];
    const back = readShm(buf, { resolveRef: resolver(seen) });
    expect(equals(back, new Cell(heapA, new Cell(heapB, new Cell(heapA, heapA))))).toBe(true);
    expect(seen.map((r) => [r.byteLength, r.bitLength, r.mug])).toEqual([
      [5000, 5000 * 8, heapA.mug || mugBytes(bytesA)],
      [300, 300 * 8, mugBytes(bytesB)],
    ]);
    expect(new DataView(buf.buffer).getUint32(4, true) & 0xffff).toBe(2);
  });

  test("the root itself may be a reference; heap atoms are still written whole beside references", () => {
    expect(readShm(encode(sourced(bytesA, nameA)), { resolveRef: resolver() })).toBe(heapA);
    const mixed = cell(heapB, sourced(bytesA, nameA));
    expect(equals(readShm(encode(mixed), { resolveRef: resolver() }), cell(heapB, heapA))).toBe(true);
  });

  test("without resolveRef a buffer with a reference is refused, as tag 01 was in version 1", () => {
    let error: unknown;
    try {
      readShm(encode(pairNoun()));
    } catch (e) {
      error = e;
    }
    expect((error as ShmFormatError).code).toBe(C.badValue);
  });

  test("hostile reference entries are refused with the byte they are wrong at", () => {
    rejects(setU32(encode(pairNoun()), 32 + 4, 2), C.badEntry, 32); // byte length above 2^32
    rejects(setU32(encode(pairNoun()), 32 + 8, 0), C.badMug, 40);
    rejects(setU32(encode(pairNoun()), 32 + 8, 0x80000000), C.badMug, 40);
    rejects(setU32(encode(pairNoun()), 32 + 16, 5000 * 8 + 1), C.atomNotCanonical, 48); // bits beyond bytes
    rejects(setU32(encode(pairNoun()), 32 + 16, 4999 * 8), C.atomNotCanonical, 48);
    const small = setU32(setU32(encode(pairNoun()), 32, 4), 32 + 16, 30); // a 4-byte "blob": write it direct
    rejects(small, C.atomNotCanonical, 48);
    // The cell's head (reference A) tagged as an atom entry; then naming the middle of A's entry.
    rejects(setU32(encode(pairNoun()), 144 + 20, 0x80000000), C.badReference, 160);
    rejects(setU32(encode(pairNoun()), 144 + 16, 8), C.badReference, 160);
    // A data section cut inside the second reference.
    const cut = encode(pairNoun()).subarray(0, 32 + 56 + 40).slice();
    setU32(cut, 24, 96);
    setU32(cut, 16, 56);
    rejects(cut, C.badEntry, 88);
  });

  test("a ref tag naming a cell or an atom entry is refused", () => {
    // [[A B] heapAtom]: the cell [A B] at data offset 112, the heap atom after it.
    const buf = encode(cell(pairNoun(), atomFromBytes(bytesOf(20, 3))));
    const dv = new DataView(buf.buffer);
    const root = 32 + dv.getUint32(16, true); // the root cell's entry
    const head = root + 16;
    const tail = root + 24;
    setU32(buf, head + 4, 0x40000000); // the head (a cell) tagged as a reference
    rejects(buf, C.badReference, head);
    const buf2 = encode(cell(pairNoun(), atomFromBytes(bytesOf(20, 3))));
    setU32(buf2, tail + 4, 0x40000000); // the tail (an atom entry) tagged as a reference
    rejects(buf2, C.badReference, tail);
  });

  test("mutated buffers with references decode or fail with ShmFormatError, never otherwise", () => {
    const base = encode(new Cell(pairNoun(), new Cell(sourced(bytesA, nameA), atomFromBytes(bytesOf(40, 4)))));
    let seed = 1234567;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = base.slice();
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) {
        const at = 16 + Math.floor(next() * (buf.length - 16));
        buf[at] = next() < 0.5 ? buf[at] ^ (1 << Math.floor(next() * 8)) : Math.floor(next() * 256);
      }
      try {
        readShm(buf, { resolveRef: (ref) => (ref.byteLength === 5000 ? heapA : ref.byteLength === 300 ? heapB : 0) });
        decoded++;
      } catch (e) {
        if (!(e instanceof ShmFormatError)) throw e;
      }
    }
    expect(decoded).toBeLessThan(3000);
  });
});
