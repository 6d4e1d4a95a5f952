/**
 * readShm treats its buffer as hostile (docs/shm-format.md, "Hostile input"): every rule has a
 * case here with its error code and byte offset, and a fuzz test mutates valid buffers thousands
 * of times, accepting only a valid noun or a ShmFormatError.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atom, atomFromBytes, cell, type Noun } from "../../../src/noun/index.ts";
import { readShm, shmSize, writeShm, NounErrorCode, ShmFormatError } from "../../../src/noun/index.ts";
import { int, randomNoun, rng } from "./flat-test-support.ts";
import { equals } from "../../../src/noun/equals.ts";
import { TEST_TIMEOUT_MS } from "../../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** bunfig's test timeout is not applied by Bun 1.4.5 (default 5 s): slow cases set their own. */
const SLOW_TEST_MS = 60_000;

function encode(n: Noun): Uint8Array {
  const buf = new Uint8Array(shmSize(n));
  writeShm(n, buf);
  return buf;
}

/** The docs' worked example: header 0-31, cell [1 2] at 32, atom at 64, cell at 96, root cell at 128. */
function example(): Uint8Array {
  const pair = cell(1, 2);
  return encode(cell(pair, cell(pair, atom(2n ** 64n + 5n))));
}

function setU32(buf: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(buf.buffer, buf.byteOffset).setUint32(at, v, true);
  return buf;
}

function setU64(buf: Uint8Array, at: number, lo: number, hi: number): Uint8Array {
  setU32(buf, at, lo);
  return setU32(buf, at + 4, hi);
}

/** Asserts readShm throws ShmFormatError with `code` at byte `offset`. */
function rejects(buf: Uint8Array | Uint8Array[], code: ShmFormatError["code"], offset: number): ShmFormatError {
  let error: unknown;
  try {
    readShm(buf);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ShmFormatError);
  const e = error as ShmFormatError;
  expect({ code: e.code, offset: e.offset }).toEqual({ code, offset });
  expect(e.message).toContain(`at byte ${offset}`);
  return e;
}

/** A buffer from a root value and data words given as [lo, hi] pairs. */
function build(root: [number, number], words: [number, number][]): Uint8Array {
  const buf = new Uint8Array(32 + words.length * 8);
  buf.set(example().subarray(0, 16));
  setU64(buf, 16, root[0], root[1]);
  setU64(buf, 24, words.length * 8, 0);
  words.forEach(([lo, hi], i) => setU64(buf, 32 + i * 8, lo, hi));
  return buf;
}

/**
 * A copy of `buf` whose atom entry at `at` has a gap of `gap` bytes instead of its own (zero
 * bytes inserted or removed before its words), with the data length adjusted to match.
 */
function withGap(buf: Uint8Array, at: number, gap: number): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const old = dv.getUint32(at + 12, true);
  const out = new Uint8Array(buf.length - old + gap);
  out.set(buf.subarray(0, at + 16));
  out.set(buf.subarray(at + 16 + old), at + 16 + gap);
  setU32(out, at + 12, gap);
  setU64(out, 24, dv.getUint32(24, true) - old + gap, 0);
  return out;
}

const C = NounErrorCode.flat;

describe("readShm rejects each kind of bad header", () => {
  test("a buffer shorter than the header is truncated", () => {
    rejects(example().subarray(0, 12), C.truncated, 12);
    rejects(new Uint8Array(0), C.truncated, 0);
  });

  test("a wrong magic, version, header length, flags or reserved field is named", () => {
    rejects(setU32(example(), 0, 0x41454c51), C.badMagic, 0);
    const v = rejects(setU32(example(), 4, 3 | (32 << 16)), C.badVersion, 4);
    expect(v.message).toContain("version 3");
    rejects(setU32(example(), 4, 1 | (32 << 16)), C.badVersion, 4);
    rejects(setU32(example(), 4, 2 | (40 << 16)), C.badHeader, 6);
    rejects(setU32(example(), 8, 1), C.badHeader, 8);
    rejects(setU32(example(), 12, 1), C.badHeader, 12);
  });

  test("a data length beyond the buffer, or not in whole words, is refused before any entry is read", () => {
    rejects(setU64(example(), 24, 136, 0), C.truncated, 24);
    rejects(setU64(example(), 24, 0, 0xffffffff), C.truncated, 24);
    rejects(example().subarray(0, 159), C.truncated, 24);
    rejects(setU64(example(), 24, 124, 0), C.badHeader, 24);
  });

  test("the root must be a valid value naming the last entry, of its kind", () => {
    rejects(setU64(example(), 16, 96, 0x40000000), C.badValue, 16);
    rejects(setU64(example(), 16, 7, 0), C.badRoot, 16);
    rejects(setU64(example(), 16, 64, 0xc0000000), C.badRoot, 16);
    rejects(setU64(example(), 16, 96, 0x80000000), C.badRoot, 16);
    rejects(build([0, 0xc0000000], []), C.badRoot, 16);
  });
});

describe("readShm rejects each kind of bad entry", () => {
  test("an entry running past the data section is refused", () => {
    // Cut the data section in the middle of the last cell.
    rejects(setU64(example(), 24, 120, 0), C.badEntry, 128);
    rejects(setU64(example(), 64, 100, 0), C.badEntry, 64);
    rejects(setU64(example(), 64, 0, 1), C.badEntry, 64);
    rejects(setU64(example(), 64, 2 ** 29 + 1, 0), C.badEntry, 64);
  });

  test("nonzero padding and mugs above 31 bits are refused", () => {
    rejects(setU32(example(), 44, 1), C.badPadding, 44);
    // An atom's pad field is its gap: a multiple of 8 below a page, and only before large atoms.
    rejects(setU32(example(), 76, 2), C.badEntry, 76);
    // 1 there marks a blob reference: refused by a reader with no way to resolve one.
    rejects(setU32(example(), 76, 1), C.badValue, 64);
    rejects(setU32(example(), 76, 4096), C.badEntry, 76);
    rejects(setU32(example(), 40, 0x80000000), C.badMug, 40);
    expect(equals(readShm(setU32(example(), 40, 0x7fffffff)), readShm(example()))).toBe(true);
  });

  test("an atom must end in a nonzero word and must not hold a value that is written direct", () => {
    rejects(setU64(example(), 88, 0, 0), C.atomNotCanonical, 88);
    rejects(build([0, 0x80000000], [[1, 0], [0, 0], [5, 0]]), C.atomNotCanonical, 32);
    rejects(build([0, 0x80000000], [[1, 0], [0, 0], [0, 0x3fffffff]]), C.atomNotCanonical, 32);
    // 2^62 is the smallest atom an entry may hold.
    expect(readShm(build([0, 0x80000000], [[1, 0], [0, 0], [0, 0x40000000]]))).toEqual(atom(2n ** 62n));
  });

  test("a value must name an earlier entry of its kind, at the entry's start", () => {
    rejects(setU64(example(), 112, 0, 0x40000000), C.badValue, 112);
    // The root cell naming itself; the cell at 64 naming the later root.
    rejects(setU64(example(), 144, 96, 0xc0000000), C.badReference, 144);
    rejects(setU64(example(), 120, 96, 0xc0000000), C.badReference, 120);
    // Inside an entry, off the word grid, beyond the data section.
    rejects(setU64(example(), 112, 8, 0xc0000000), C.badReference, 112);
    rejects(setU64(example(), 112, 4, 0xc0000000), C.badReference, 112);
    rejects(setU64(example(), 112, 0xfffffff8, 0xffffffff), C.badReference, 112);
    // An atom tagged as a cell and a cell tagged as an atom.
    rejects(setU64(example(), 120, 32, 0xc0000000), C.badReference, 120);
    rejects(setU64(example(), 112, 0, 0x80000000), C.badReference, 112);
  });

  test("a large atom's gap must be the one that page-aligns its words, and zero", () => {
    const big = atomFromBytes(new Uint8Array(2 ** 20).fill(2));
    const valid = encode(cell(1, big));
    const dv = new DataView(valid.buffer);
    // The atom's entry at 32, its 4048-byte gap, its words at 4096, then the root cell.
    expect(dv.getUint32(44, true)).toBe(4048);
    expect(valid[4095]).toBe(0);
    expect(valid[4096]).toBe(2);
    // The same noun with 8 bytes less gap: consistent lengths, but not the canonical gap.
    const shifted = withGap(valid, 32, 4040);
    setU64(shifted, 16, dv.getUint32(16, true) - 8, 0xc0000000);
    rejects(shifted, C.atomNotCanonical, 44);
    const dirty = valid.slice();
    dirty[100] = 1;
    rejects(dirty, C.badPadding, 100);
    // A small atom has no gap.
    rejects(withGap(encode(atomFromBytes(new Uint8Array(4000).fill(1))), 32, 8), C.atomNotCanonical, 44);
  });

  test("the same rules hold where offsets resolve by binary search (few, large entries)", () => {
    const big = atomFromBytes(new Uint8Array(4000).fill(1));
    const buf = encode(cell(cell(1, big), big));
    // Layout: atom at 32 (4016 bytes), cell at 4048, root cell at 4080.
    expect(buf.length).toBe(4112);
    rejects(setU64(buf.slice(), 4048 + 24, 8, 0x80000000), C.badReference, 4072);
    rejects(setU64(buf.slice(), 4080 + 16, 4048, 0xc0000000 - 0), C.badReference, 4096);
    rejects(setU64(buf.slice(), 4080 + 16, 4096, 0xc0000000), C.badReference, 4096);
    rejects(setU64(buf.slice(), 4080 + 24, 0, 0xc0000000), C.badReference, 4104);
    expect(equals(readShm(buf), cell(cell(1, big), big))).toBe(true);
  });
});

/** Positions of every value slot (root and cell fields) and atom length field of a valid buffer. */
function slotsOf(buf: Uint8Array): { values: number[]; lengths: number[] } {
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const values = [16];
  const lengths = [24];
  const end = 32 + dv.getUint32(24, true);
  for (let pos = 32; pos < end; ) {
    const words = dv.getUint32(pos, true);
    if (words === 0) {
      values.push(pos + 16, pos + 24);
      pos += 32;
    } else {
      lengths.push(pos);
      pos += 16 + words * 8;
    }
  }
  return { values, lengths };
}

/** One random corruption of a copy of `valid`. */
function mutate(r: () => number, valid: Uint8Array): Uint8Array {
  const buf = valid.slice();
  const dv = new DataView(buf.buffer);
  const { values, lengths } = slotsOf(valid);
  const kind = int(r, 0, 5);
  if (kind === 0) {
    for (let i = int(r, 1, 3); i > 0; i--) {
      const bit = int(r, 0, buf.length * 8 - 1);
      buf[bit >> 3] ^= 1 << (bit & 7);
    }
    return buf;
  }
  if (kind === 1) return buf.subarray(0, int(r, 0, buf.length - 1));
  if (kind === 2) {
    // A random offset (usually a plausible one) written into a value slot.
    const at = values[int(r, 0, values.length - 1)];
    const dataBytes = dv.getUint32(24, true);
    const off = r() < 0.7 ? int(r, 0, dataBytes / 8) * 8 : int(r, 0, 0xffffffff);
    dv.setUint32(at, off, true);
    dv.setUint32(at + 4, [0, 0x40000000, 0x80000000, 0xc0000000][int(r, 0, 3)] | (r() < 0.1 ? int(r, 0, 0x3fffffff) : 0), true);
    return buf;
  }
  if (kind === 3) {
    // A lying length: an atom's word count or the header's data length.
    const at = lengths[int(r, 0, lengths.length - 1)];
    const v = dv.getUint32(at, true);
    dv.setUint32(at, r() < 0.5 ? v + int(r, -3, 3) * (at === 24 ? 8 : 1) : int(r, 0, 0xffffffff), true);
    if (r() < 0.1) dv.setUint32(at + 4, int(r, 1, 0xffffffff), true);
    return buf;
  }
  if (kind === 4) {
    dv.setUint32(int(r, 0, (buf.length >> 2) - 1) * 4, int(r, 0, 0xffffffff), true);
    return buf;
  }
  // Swap two aligned words.
  const a = int(r, 0, (buf.length >> 3) - 1) * 8;
  const b = int(r, 0, (buf.length >> 3) - 1) * 8;
  const wa = buf.slice(a, a + 8);
  buf.copyWithin(a, b, b + 8);
  buf.set(wa, b);
  return buf;
}

describe("fuzzing readShm", () => {
  test("mutated buffers decode to a valid noun or throw ShmFormatError, and the decoder still works", () => {
    let rejected = 0;
    let accepted = 0;
    const codes: Record<string, number> = {};
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed * 7919);
      let noun = randomNoun(r, int(r, 1, 60), r() < 0.3 ? 3000 : 60);
      // Some with a page-aligned atom, so gaps are mutated too.
      if (seed % 20 === 0) noun = cell(noun, atomFromBytes(new Uint8Array(2 ** 20 + int(r, 0, 100)).fill(seed)));
      const valid = encode(noun);
      for (let i = 0; i < 100; i++) {
        const bad = mutate(r, valid);
        const zeroCopy = r() < 0.5;
        let out: Noun;
        try {
          // Sometimes as windows, so the cross-border paths see hostile bytes too.
          const src = r() < 0.3 && bad.length >= 32 ? [bad.subarray(0, 32), bad.subarray(32)] : bad;
          out = readShm(src, { zeroCopy, trustMugs: r() < 0.5 });
        } catch (e) {
          if (!(e instanceof ShmFormatError)) throw new Error(`seed ${seed} mutation ${i}: ${String(e)}`, { cause: e });
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(bad.length);
          codes[e.code] = (codes[e.code] ?? 0) + 1;
          rejected++;
          continue;
        }
        // What came back is a proper noun: it encodes and decodes to itself.
        expect(equals(readShm(encode(out)), out)).toBe(true);
        accepted++;
      }
      expect(equals(readShm(valid), noun)).toBe(true);
    }
    console.log(`fuzz: ${accepted} accepted, ${rejected} rejected: ${JSON.stringify(codes)}`);
    expect(rejected + accepted).toBe(20_000);
    expect(rejected).toBeGreaterThan(10_000);
    expect(Object.keys(codes).length).toBeGreaterThanOrEqual(10);
  }, SLOW_TEST_MS);
});

describe("a peer writing during the read", () => {
  test("readShm returns a valid noun or throws ShmFormatError while another thread scribbles", async () => {
    const noun = cell(randomNoun(rng(99), 3000), atomFromBytes(new Uint8Array(5000).fill(3)));
    const valid = encode(noun);
    // Word 0 of the shared buffer is the worker's stop flag; the noun starts at byte 8.
    const shared = new SharedArrayBuffer(8 + valid.length);
    const bytes = new Uint8Array(shared, 8);
    bytes.set(valid);
    const worker = new Worker(new URL("./scribbler-fixture.ts", import.meta.url).href);
    try {
      const done = new Promise<number>((resolve) => (worker.onmessage = (e) => resolve(e.data as number)));
      worker.postMessage({ buffer: shared, seed: 5 });
      const codes = new Set<string>();
      let decoded = 0;
      const until = performance.now() + 1500;
      while (performance.now() < until) {
        try {
          const out = readShm(bytes, { zeroCopy: decoded % 2 === 0 });
          decoded++;
          // A copy-mode decode is a proper noun (zero-copy views may change under us).
          if (decoded % 2 === 0) expect(readShm(encode(out)) !== undefined).toBe(true);
        } catch (e) {
          if (!(e instanceof ShmFormatError)) throw e;
          codes.add(e.code);
        }
        await Promise.resolve();
      }
      Atomics.store(new Int32Array(shared, 0, 1), 0, 1);
      expect(await done).toBeGreaterThan(0);
      console.log(`scribbled: ${decoded} decoded, errors seen: ${[...codes].join(", ")}`);
      expect(codes.size).toBeGreaterThan(0);
    } finally {
      worker.terminate();
    }
  }, SLOW_TEST_MS);
});
