/**
 * The hash that keys jam's dictionary (jam-dictionary.ts).
 *
 * jam must find every earlier noun that is structurally equal to the current one, so its
 * dictionary needs a hash that equal nouns share. vere uses the mug. We use a hash of our own,
 * cached in `Cell.jamHash`, because the mug of a cell depends on every byte of every atom below
 * it: with mugs, jamming a commit of file-backed atoms would read each file twice (once to hash,
 * once to emit). Here an atom of more than JAM_HASH_FULL_BYTES_MAX bytes contributes only its
 * length and three small samples (start, middle, end), so a file is read whole only to emit it,
 * or when an atom of the same length and samples needs an exact comparison (equals.ts, which
 * then compares mugs before bytes).
 *
 * The hash is a function of the noun's value alone (whatever its representation), which is what
 * makes it safe to cache on immutable cells and to compare across distinct objects.
 */
import { closeSync } from "node:fs";
import { BigAtom, type Atom, type AtomBytesSource } from "./atom.ts";
import { Cell } from "./cell.ts";
import { FileAtom } from "./file-atom.ts";
import { mug } from "./mug.ts";
import { murmur3Block, murmur3Blocks, murmur3Finish } from "./murmur3.ts";
import type { Noun } from "./noun.ts";

/**
 * Atoms up to this many bytes are hashed whole (by their mug, cached on the atom). Longer ones by
 * samples: long enough that in-memory maps of hashes or keys (32-64 bytes) hash exactly.
 */
export const JAM_HASH_FULL_BYTES_MAX = 4096;
/** Bytes taken from each of the start, the middle and the end of a longer atom. */
const JAM_HASH_SAMPLE_BYTES = 64;
/** Largest byte length whose atom may be a direct (number) atom. */
const DIRECT_ATOM_BYTES_MAX = 7;

const NUMBER_SEED = 0x3c6ef372;
const CELL_SEED = 0x510e527f;
const SAMPLE_SEED = 0x1f83d9ab;
const TWO_32 = 4294967296;

/** Sampled hashes of large file-backed atoms, so each file is sampled once. */
const fileSamples = new WeakMap<FileAtom, number>();
/** Sampled hashes of sources (blobs), so each is sampled once. */
const sourceSamples = new WeakMap<AtomBytesSource, number>();

/** The jam hash of a direct atom. Never 0. */
export function jamHashNumber(n: number): number {
  const lo = n >>> 0;
  const hi = (n - lo) / TWO_32;
  return murmur3Finish(murmur3Block(NUMBER_SEED ^ hi, lo), 0, 0, 8) || 1;
}

/** The jam hash of two children's jam hashes. Never 0. */
export function jamHashPair(head: number, tail: number): number {
  return murmur3Finish(murmur3Block(murmur3Block(CELL_SEED, head), tail), 0, 0, 8) || 1;
}

/** The jam hash of any noun; cells get theirs cached, with every uncached cell below them. */
export function jamHash(n: Noun): number {
  if (n instanceof Cell) return n.jamHash !== 0 ? n.jamHash : jamHashCells(n);
  return jamHashAtom(n);
}

/** The jam hash of an atom of any representation. Never 0. */
export function jamHashAtom(a: Atom): number {
  if (typeof a === "number") return jamHashNumber(a);
  if (a instanceof BigAtom) {
    // byteLength and a sourced atom's stored mug: a blob is not read for either.
    const length = a.byteLength;
    if (length <= JAM_HASH_FULL_BYTES_MAX) return mug(a);
    const source = a.source;
    if (source !== undefined) return jamHashSource(source);
    return sampleHash(sampleOfBytes(a.bytes), length);
  }
  return jamHashFileAtom(a);
}

/**
 * A sourced atom's sampled hash: the same samples as of its bytes (the hash is a function of the
 * value), read with `readRange` when the source has it, so a blob is not mapped and checked whole
 * just to hash it. Cached per source.
 */
function jamHashSource(source: AtomBytesSource): number {
  const cached = sourceSamples.get(source);
  if (cached !== undefined) return cached;
  const length = source.byteLength;
  let h: number;
  if (source.readRange === undefined) {
    h = sampleHash(sampleOfBytes(source.bytes()), length);
  } else {
    const sample = new Uint8Array(3 * JAM_HASH_SAMPLE_BYTES);
    const [mid, end] = samplePositions(length);
    source.readRange(0, sample.subarray(0, JAM_HASH_SAMPLE_BYTES));
    source.readRange(mid, sample.subarray(JAM_HASH_SAMPLE_BYTES, 2 * JAM_HASH_SAMPLE_BYTES));
    source.readRange(end, sample.subarray(2 * JAM_HASH_SAMPLE_BYTES));
    h = sampleHash(sample, length);
  }
  sourceSamples.set(source, h);
  return h;
}

function jamHashFileAtom(f: FileAtom): number {
  const length = f.exactLength();
  if (length <= DIRECT_ATOM_BYTES_MAX) return jamHashAtom(f.materialize());
  if (length <= JAM_HASH_FULL_BYTES_MAX) return mug(f);
  const cached = fileSamples.get(f);
  if (cached !== undefined) return cached;
  const sample = new Uint8Array(3 * JAM_HASH_SAMPLE_BYTES);
  const fd = f.open();
  try {
    const [mid, end] = samplePositions(length);
    f.readInto(fd, 0, sample.subarray(0, JAM_HASH_SAMPLE_BYTES));
    f.readInto(fd, mid, sample.subarray(JAM_HASH_SAMPLE_BYTES, 2 * JAM_HASH_SAMPLE_BYTES));
    f.readInto(fd, end, sample.subarray(2 * JAM_HASH_SAMPLE_BYTES));
  } finally {
    closeSync(fd);
  }
  const h = sampleHash(sample, length);
  fileSamples.set(f, h);
  return h;
}

function samplePositions(length: number): [number, number] {
  return [Math.floor(length / 2) - JAM_HASH_SAMPLE_BYTES / 2, length - JAM_HASH_SAMPLE_BYTES];
}

function sampleOfBytes(b: Uint8Array): Uint8Array {
  const sample = new Uint8Array(3 * JAM_HASH_SAMPLE_BYTES);
  const [mid, end] = samplePositions(b.length);
  sample.set(b.subarray(0, JAM_HASH_SAMPLE_BYTES), 0);
  sample.set(b.subarray(mid, mid + JAM_HASH_SAMPLE_BYTES), JAM_HASH_SAMPLE_BYTES);
  sample.set(b.subarray(end), 2 * JAM_HASH_SAMPLE_BYTES);
  return sample;
}

function sampleHash(sample: Uint8Array, length: number): number {
  const h = murmur3Blocks(SAMPLE_SEED, sample, 0, sample.length / 4);
  return murmur3Finish(h, 0, 0, length) || 1;
}

/** Post-order over the cells below `root` whose jam hash is not cached yet. */
function jamHashCells(root: Cell): number {
  const stack: Cell[] = [root];
  while (stack.length > 0) {
    const c = stack[stack.length - 1];
    if (c.jamHash !== 0) {
      stack.pop();
      continue;
    }
    const h = c.head;
    const t = c.tail;
    if (h instanceof Cell && h.jamHash === 0) {
      stack.push(h);
      continue;
    }
    if (t instanceof Cell && t.jamHash === 0) {
      stack.push(t);
      continue;
    }
    const hh = h instanceof Cell ? h.jamHash : typeof h === "number" ? jamHashNumber(h) : jamHashAtom(h);
    const ht = t instanceof Cell ? t.jamHash : typeof t === "number" ? jamHashNumber(t) : jamHashAtom(t);
    c.jamHash = jamHashPair(hh, ht);
    stack.pop();
  }
  return root.jamHash;
}
