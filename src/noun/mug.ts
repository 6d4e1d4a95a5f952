/**
 * mug: vere's 31-bit noun hash (docs/nouns.md, "mug").
 *
 * - atom: MurmurHash3_x86_32 of its minimal little-endian bytes (0 is the empty key), folded to
 *   31 bits as `(h >>> 31) ^ (h & 0x7fffffff)`, with seeds 0xcafebabe, 0xcafebabf, ... tried in
 *   turn until the fold is nonzero (8 tries, then 0x7fff).
 * - cell: the same over the bytes `mug(head)` (4 LE bytes) ++ `mug(tail)` (LE, only as many
 *   bytes as it needs), seeds from 0xdeadbeef, fallback 0xfffe.
 *
 * Mugs are never 0, so 0 marks "not computed" in the caches of `Cell`, `BigAtom` and `FileAtom`.
 * The walk over cells is iterative (post-order on an explicit stack) and stops at any cell whose
 * mug is already cached, so the mug of a state after an event costs only what the event changed.
 */
import { closeSync } from "node:fs";
import { BigAtom } from "./atom.ts";
import { Cell } from "./cell.ts";
import { FileAtom } from "./file-atom.ts";
import { murmur3, murmur3Blocks, murmur3Finish, murmur3Small } from "./murmur3.ts";
import type { Noun } from "./noun.ts";

/** The first seed of an atom's mug (vere's `_cr_mug_*`); AtomMugStream starts there. */
export const ATOM_SEED = 0xcafebabe;
const CELL_SEED = 0xdeadbeef;
/** Seeds tried before giving up on a nonzero fold (vere: retrieve.c `_cr_mug_*`). */
export const MUG_TRIES = 8;
/** An atom's mug when every seed folds to 0. */
export const ATOM_MUG_FALLBACK = 0x7fff;
const CELL_MUG_FALLBACK = 0xfffe;
/** Bytes of a file-backed atom hashed per read: a multiple of 4 so blocks never straddle reads. */
const MUG_FILE_READ_BYTES = 1 << 20;

const TWO_32 = 4294967296;

/** murmur3's 32 bits folded to a mug's 31; 0 means "try the next seed". */
export function fold(h: number): number {
  return (h >>> 31) ^ (h & 0x7fffffff);
}

/** The mug of any noun (cached in cells, big atoms and file atoms). */
export function mug(n: Noun): number {
  if (typeof n === "number") return mugNumber(n);
  if (n instanceof Cell) return n.mug !== 0 ? n.mug : mugCells(n);
  if (n instanceof BigAtom) return n.mug !== 0 ? n.mug : (n.mug = mugBytes(n.bytes));
  return mugFileAtom(n);
}

/** The mug of a direct atom (0 <= n <= 2^53-1). */
export function mugNumber(n: number): number {
  const lo = n >>> 0;
  const hi = (n - lo) / TWO_32;
  const length = hi !== 0 ? 4 + ((32 - Math.clz32(hi) + 7) >> 3) : (32 - Math.clz32(lo) + 7) >> 3;
  for (let i = 0; i < MUG_TRIES; i++) {
    const m = fold(murmur3Small(lo, hi, length, ATOM_SEED + i));
    if (m !== 0) return m;
  }
  return ATOM_MUG_FALLBACK;
}

/** The mug of an atom given as its minimal little-endian bytes (no trailing zero byte). */
export function mugBytes(bytes: Uint8Array): number {
  for (let i = 0; i < MUG_TRIES; i++) {
    const m = fold(murmur3(bytes, ATOM_SEED + i));
    if (m !== 0) return m;
  }
  return ATOM_MUG_FALLBACK;
}

/** The mug of a cell whose head and tail have mugs `l` and `r`. */
export function mugBoth(l: number, r: number): number {
  // r is a nonzero 31-bit value: 1 to 4 bytes.
  const length = 4 + ((32 - Math.clz32(r) + 7) >> 3);
  for (let i = 0; i < MUG_TRIES; i++) {
    const m = fold(murmur3Small(l, r, length, CELL_SEED + i));
    if (m !== 0) return m;
  }
  return CELL_MUG_FALLBACK;
}

function mugAtomChild(n: Noun): number {
  if (typeof n === "number") return mugNumber(n);
  if (n instanceof BigAtom) return n.mug !== 0 ? n.mug : (n.mug = mugBytes(n.bytes));
  return mugFileAtom(n as FileAtom);
}

/** Post-order over the cells below `root` whose mug is not cached yet. */
function mugCells(root: Cell): number {
  const stack: Cell[] = [root];
  while (stack.length > 0) {
    const c = stack[stack.length - 1];
    if (c.mug !== 0) {
      stack.pop();
      continue;
    }
    const h = c.head;
    const t = c.tail;
    if (h instanceof Cell && h.mug === 0) {
      stack.push(h);
      continue;
    }
    if (t instanceof Cell && t.mug === 0) {
      stack.push(t);
      continue;
    }
    const l = h instanceof Cell ? h.mug : mugAtomChild(h);
    const r = t instanceof Cell ? t.mug : mugAtomChild(t);
    c.mug = mugBoth(l, r);
    stack.pop();
  }
  return root.mug;
}

/**
 * The mug of a file-backed atom: its bytes stream through murmur3 in MUG_FILE_READ_BYTES reads.
 * Another seed (a second pass) is needed only when the first fold is 0: odds of 2^-31.
 */
export function mugFileAtom(f: FileAtom): number {
  if (f.mug !== 0) return f.mug;
  const length = f.exactLength();
  let m = ATOM_MUG_FALLBACK;
  if (length === 0) {
    m = mugNumber(0);
  } else {
    const fd = f.open();
    try {
      const buf = new Uint8Array(Math.min(MUG_FILE_READ_BYTES, length));
      for (let i = 0; i < MUG_TRIES; i++) {
        const folded = fold(murmur3File(f, fd, buf, length, ATOM_SEED + i));
        if (folded !== 0) {
          m = folded;
          break;
        }
      }
      f.checkUnchanged(fd);
    } finally {
      closeSync(fd);
    }
  }
  f.mug = m;
  return m;
}

function murmur3File(f: FileAtom, fd: number, buf: Uint8Array, length: number, seed: number): number {
  let h = seed | 0;
  let pos = 0;
  while (length - pos >= 4) {
    const n = Math.min(buf.length, Math.floor((length - pos) / 4) * 4);
    const view = buf.subarray(0, n);
    f.readInto(fd, pos, view);
    h = murmur3Blocks(h, view, 0, n / 4);
    pos += n;
  }
  const tailLength = length - pos;
  let tail = 0;
  if (tailLength > 0) {
    const view = buf.subarray(0, tailLength);
    f.readInto(fd, pos, view);
    for (let i = tailLength - 1; i >= 0; i--) tail = (tail << 8) | view[i];
  }
  return murmur3Finish(h, tail, tailLength, length);
}
