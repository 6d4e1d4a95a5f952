/**
 * The post-order walk behind both `shmSize` and `writeShm` (docs/shm-format.md).
 *
 * One walk lays out every entry: each unique cell or large atom becomes an entry the first time
 * its subtree is finished, so children always precede parents. Given a target it writes the
 * entries; without one it only advances the position. Both use this same code, so the size
 * pass agrees with the write to the byte, gaps before page-aligned atoms included.
 *
 * Atoms up to 62 bits are direct values, never entries, so each value has one encoding. A large
 * atom is one bulk copy (`set`), split only where it crosses a window border; a FileAtom's bytes
 * are read from its file straight into the target and never pass through the heap (docs/decisions.md).
 * Without a target a FileAtom counts at its stat length: an upper bound, because writing it drops
 * trailing zero bytes and every later entry can then only move down (gaps included).
 */
import { closeSync } from "node:fs";
import { BigAtom } from "../atom.ts";
import { Cell } from "../cell.ts";
import { FileAtom } from "../file-atom.ts";
import type { Noun } from "../noun.ts";
import { ShmAtomDedup } from "./atom-dedup.ts";
import {
  SHM_ATOM_ENTRY_HEADER_BYTES,
  SHM_CELL_ENTRY_BYTES,
  SHM_HEADER_BYTES,
  SHM_REF_ENTRY_BYTES,
  SHM_REF_MARK,
  SHM_REF_NAME_BYTES,
  SHM_TAG_ATOM_HI,
  SHM_TAG_REF_HI,
  type ShmRef,
  SHM_TAG_CELL_HI,
  TWO_32,
  shmAtomEntryBytes,
  shmFitsDirect,
  shmWordsGap,
} from "./layout.ts";
import { ShmMarks, shmMarkOf, shmOffsetOfMark } from "./marks.ts";
import type { ByteWindows } from "../../byte-windows.ts";

/** Initial lengths of the walk's stacks; they double as needed (a 1,000,000-item list). */
const WALK_STACK_ITEMS_DEFAULT = 1024;

const VISIT = 0;
const FINISH = 1;

/**
 * Lays out `noun` from the start of the data section, writing entries into `w` if given.
 * Leaves the root's value in `root` as [lo, hi]; returns the position after the last entry.
 * Throws RangeError if `w` is too small, FileAtomError if a backing file changed. Cells and
 * large atoms are marked in their mug while it runs and always restored (marks.ts).
 */
export function walkShm(
  noun: Noun,
  w: ByteWindows | undefined,
  root: Uint32Array,
  onFileBytes?: (bytes: number) => void,
  refOf?: (a: BigAtom) => ShmRef | undefined,
): number {
  const marks = new ShmMarks();
  try {
    return walk(noun, w, marks, root, onFileBytes, refOf);
  } finally {
    marks.restore();
  }
}

function walk(
  noun: Noun,
  w: ByteWindows | undefined,
  marks: ShmMarks,
  root: Uint32Array,
  onFileBytes: ((bytes: number) => void) | undefined,
  refOf: ((a: BigAtom) => ShmRef | undefined) | undefined,
): number {
  // Blob references already written, by name (hex): data offset of their entry.
  const refs = new Map<string, number>();
  const refOffsets = new Set<number>();
  // FileAtoms (few) are looked up here: data offset of their entry, or -1 when direct.
  const files = new Map<FileAtom, number>();
  const fileDirect = new Map<FileAtom, [number, number]>();
  const dedup = new ShmAtomDedup();
  const scratch = new Uint32Array(2);

  // The value stack holds finished values as [lo, hi] u32 pairs; a cell pops its two.
  let vals: Uint32Array = new Uint32Array(WALK_STACK_ITEMS_DEFAULT * 2);
  let vp = 0;
  const stack: Noun[] = [noun];
  let phase: Uint8Array = new Uint8Array(WALK_STACK_ITEMS_DEFAULT);
  phase[0] = VISIT;
  let sp = 1;
  let pos = SHM_HEADER_BYTES; // where the next entry goes

  while (sp > 0) {
    if (vp + 6 > vals.length) vals = grow32(vals);
    if (sp + 3 > phase.length) phase = grow8(phase);
    const n = stack[--sp];

    if (typeof n === "number") {
      const lo = n >>> 0;
      vals[vp] = lo;
      vals[vp + 1] = (n - lo) / TWO_32;
      vp += 2;
      continue;
    }

    if (n instanceof Cell) {
      if (phase[sp] === FINISH) {
        vp -= 4;
        pos = putCell(w, pos, n, marks, vals, vp);
        vp += 2;
        continue;
      }
      if (n.mug < 0) {
        const off = shmOffsetOfMark(n.mug);
        vals[vp] = off >>> 0;
        vals[vp + 1] = SHM_TAG_CELL_HI | Math.floor(off / TWO_32);
        vp += 2;
        continue;
      }
      const h = n.head;
      const t = n.tail;
      if (typeof h === "number") {
        // The common shapes (list items, small leaves) skip a round through the stack.
        const lo = h >>> 0;
        vals[vp] = lo;
        vals[vp + 1] = (h - lo) / TWO_32;
        vp += 2;
        if (typeof t === "number") {
          const tlo = t >>> 0;
          vals[vp] = tlo;
          vals[vp + 1] = (t - tlo) / TWO_32;
          vp -= 2;
          pos = putCell(w, pos, n, marks, vals, vp);
          vp += 2;
          continue;
        }
        stack[sp] = n;
        phase[sp++] = FINISH;
        stack[sp] = t;
        phase[sp++] = VISIT;
        continue;
      }
      stack[sp] = n;
      phase[sp++] = FINISH;
      stack[sp] = t;
      phase[sp++] = VISIT;
      stack[sp] = h;
      phase[sp++] = VISIT;
      continue;
    }

    if (n instanceof BigAtom) {
      if (refOf !== undefined && n.mug >= 0 && n.byteLength > 8) {
        // A blob reference: its entry costs 56 bytes and its bytes are never read.
        const ref = refOf(n);
        if (ref !== undefined) {
          const key = Buffer.from(ref.name.buffer, ref.name.byteOffset, ref.name.byteLength).toString("hex");
          let off = refs.get(key);
          if (off === undefined) {
            off = pos - SHM_HEADER_BYTES;
            pos = putRef(w, pos, ref);
            refs.set(key, off);
            refOffsets.add(off);
          }
          marks.mark(n, shmMarkOf(off));
          vals[vp] = off >>> 0;
          vals[vp + 1] = SHM_TAG_REF_HI | Math.floor(off / TWO_32);
          vp += 2;
          continue;
        }
      }
      if (n.mug < 0 && refOffsets.size > 0 && refOffsets.has(shmOffsetOfMark(n.mug))) {
        const off = shmOffsetOfMark(n.mug);
        vals[vp] = off >>> 0;
        vals[vp + 1] = SHM_TAG_REF_HI | Math.floor(off / TWO_32);
        vp += 2;
        continue;
      }
      const bytes = n.bytes;
      if (shmFitsDirect(bytes)) {
        directFromBytes(bytes, vals, vp);
        vp += 2;
        continue;
      }
      let off: number;
      if (n.mug < 0) {
        off = shmOffsetOfMark(n.mug);
      } else {
        const same = n.mug !== 0 ? dedup.find(n) : undefined;
        if (same !== undefined) {
          off = shmOffsetOfMark(same.mug);
        } else {
          off = pos - SHM_HEADER_BYTES;
          pos = putAtom(w, pos, bytes, n.mug);
          // The table keys on the real mug: fill it before marking.
          if (n.mug !== 0) dedup.add(n);
        }
        marks.mark(n, shmMarkOf(off));
      }
      vals[vp] = off >>> 0;
      vals[vp + 1] = SHM_TAG_ATOM_HI | Math.floor(off / TWO_32);
      vp += 2;
      continue;
    }

    // A FileAtom (the only other noun).
    const f = n as FileAtom;
    let off = files.get(f);
    if (off === undefined) {
      const wrote = putFileAtom(w, pos, f, scratch, onFileBytes);
      if (wrote === 0) {
        off = -1;
        fileDirect.set(f, [scratch[0], scratch[1]]);
      } else {
        off = pos - SHM_HEADER_BYTES;
        pos += wrote;
      }
      files.set(f, off);
    }
    if (off < 0) {
      const d = fileDirect.get(f)!;
      vals[vp] = d[0];
      vals[vp + 1] = d[1];
    } else {
      vals[vp] = off >>> 0;
      vals[vp + 1] = SHM_TAG_ATOM_HI | Math.floor(off / TWO_32);
    }
    vp += 2;
  }
  root[0] = vals[0];
  root[1] = vals[1];
  return pos;
}

/**
 * The cell entry for `c` at `at`, from the head and tail values at vals[vp..vp+4); leaves the
 * cell's own value at vals[vp..vp+2). Returns the position after the entry.
 */
function putCell(w: ByteWindows | undefined, at: number, c: Cell, marks: ShmMarks, vals: Uint32Array, vp: number): number {
  const end = at + SHM_CELL_ENTRY_BYTES;
  if (w !== undefined) {
    if (end > w.total) throw tooSmall(w.total, end);
    if (at < w.base || end > w.end) w.seek(at);
    if (end <= w.end) {
      const dv = w.view;
      const l = at - w.base;
      dv.setUint32(l, 0, true);
      dv.setUint32(l + 4, 0, true);
      dv.setUint32(l + 8, c.mug, true);
      dv.setUint32(l + 12, 0, true);
      dv.setUint32(l + 16, vals[vp], true);
      dv.setUint32(l + 20, vals[vp + 1], true);
      dv.setUint32(l + 24, vals[vp + 2], true);
      dv.setUint32(l + 28, vals[vp + 3], true);
    } else {
      // The entry crosses a window border (each u64 field still lies in one window).
      w.setU32(at, 0);
      w.setU32(at + 4, 0);
      w.setU32(at + 8, c.mug);
      w.setU32(at + 12, 0);
      w.setU32(at + 16, vals[vp]);
      w.setU32(at + 20, vals[vp + 1]);
      w.setU32(at + 24, vals[vp + 2]);
      w.setU32(at + 28, vals[vp + 3]);
    }
  }
  const off = at - SHM_HEADER_BYTES;
  marks.mark(c, shmMarkOf(off));
  vals[vp] = off >>> 0;
  vals[vp + 1] = SHM_TAG_CELL_HI | Math.floor(off / TWO_32);
  return end;
}

/** The atom entry for canonical `bytes` (more than 62 bits) at `at`; returns its end. */
function putAtom(w: ByteWindows | undefined, at: number, bytes: Uint8Array, mug: number): number {
  const end = at + shmAtomEntryBytes(at, bytes.length);
  if (w === undefined) return end;
  if (end > w.total) throw tooSmall(w.total, end);
  const gap = shmWordsGap(at, bytes.length);
  const words = at + SHM_ATOM_ENTRY_HEADER_BYTES + gap;
  putAtomHeader(w, at, (end - words) / 8, mug, gap);
  w.copyIn(words, bytes);
  // A reused target holds old bytes: the last word's padding must be zero.
  w.fillZero(words + bytes.length, end - words - bytes.length);
  return end;
}

function putAtomHeader(w: ByteWindows, at: number, wordCount: number, mug: number, gap: number): void {
  w.setU32(at, wordCount >>> 0);
  w.setU32(at + 4, Math.floor(wordCount / TWO_32));
  w.setU32(at + 8, mug);
  w.setU32(at + 12, gap);
  if (gap > 0) w.fillZero(at + SHM_ATOM_ENTRY_HEADER_BYTES, gap);
}

/** The blob-reference entry for `ref` at `at`; returns its end. */
function putRef(w: ByteWindows | undefined, at: number, ref: ShmRef): number {
  const end = at + SHM_REF_ENTRY_BYTES;
  if (w === undefined) return end;
  if (end > w.total) throw tooSmall(w.total, end);
  if (ref.name.length !== SHM_REF_NAME_BYTES) throw new RangeError(`A blob reference's name is ${SHM_REF_NAME_BYTES} bytes; got ${ref.name.length}`);
  w.setU32(at, ref.byteLength >>> 0);
  w.setU32(at + 4, Math.floor(ref.byteLength / TWO_32));
  w.setU32(at + 8, ref.mug);
  w.setU32(at + 12, SHM_REF_MARK);
  w.setU32(at + 16, ref.bitLength >>> 0);
  w.setU32(at + 20, Math.floor(ref.bitLength / TWO_32));
  w.copyIn(at + 24, ref.name);
  return end;
}

/**
 * Bytes of a file read per call into the target: small enough that a commit's progress moves
 * (each read is reported to `onFileBytes`), large enough that the call overhead is nothing.
 */
const SHM_FILE_READ_BYTES = 64 * 1024 * 1024;

/**
 * Reads a FileAtom's file straight into the target after its entry header at `at`, then drops
 * its trailing zero bytes. Returns the entry's length, or 0 when the atom fits a direct value
 * (left in scratch as [lo, hi]) and no entry was written. Without a target, the entry's length
 * at the file's stat length.
 */
function putFileAtom(w: ByteWindows | undefined, at: number, f: FileAtom, scratch: Uint32Array, onFileBytes: ((bytes: number) => void) | undefined): number {
  const max = f.byteLengthMax;
  scratch[0] = 0;
  scratch[1] = 0;
  if (max === 0) return 0;
  const bound = shmAtomEntryBytes(at, max);
  if (w === undefined) return bound;
  if (at + bound > w.total) throw tooSmall(w.total, at + bound);
  // Read where the words go if the length holds; trailing zeros may move them (below).
  const gapMax = shmWordsGap(at, max);
  const words = at + SHM_ATOM_ENTRY_HEADER_BYTES + gapMax;
  const fd = f.open();
  try {
    for (let done = 0, n = 0; done < max; done += n) {
      n = w.run(words + done, Math.min(max - done, SHM_FILE_READ_BYTES));
      const l = words + done - w.base;
      f.readInto(fd, done, w.bytes.subarray(l, l + n));
      onFileBytes?.(n);
    }
    // A file rewritten in place at the same size still moves its mtime.
    f.checkUnchanged(fd);
  } finally {
    closeSync(fd);
  }

  // The exact length: scan back from the end for the last nonzero byte (usually the last one).
  let len = max;
  while (len > 0) {
    const last = words + len - 1;
    w.seek(last);
    const b = w.bytes;
    const stop = Math.max(words, w.base) - w.base;
    let l = last - w.base;
    while (l >= stop && b[l] === 0) l--;
    if (l >= stop) {
      len = w.base + l + 1 - words;
      break;
    }
    len = w.base + stop - words;
  }

  if (len < 8 || (len === 8 && w.byte(words + 7) < 0x40)) {
    for (let i = Math.min(len, 4) - 1; i >= 0; i--) scratch[0] = scratch[0] * 256 + w.byte(words + i);
    for (let i = len - 1; i >= 4; i--) scratch[1] = scratch[1] * 256 + w.byte(words + i);
    return 0;
  }
  const gap = shmWordsGap(at, len);
  if (gap !== gapMax) {
    // Trailing zeros took it below the alignment threshold (under 1 MiB): move it down.
    const bytes = new Uint8Array(len);
    w.copyOut(words, bytes);
    w.copyIn(at + SHM_ATOM_ENTRY_HEADER_BYTES + gap, bytes);
  }
  const start = at + SHM_ATOM_ENTRY_HEADER_BYTES + gap;
  const wordCount = Math.ceil(len / 8);
  w.fillZero(start + len, wordCount * 8 - len);
  putAtomHeader(w, at, wordCount, f.mug, gap);
  return SHM_ATOM_ENTRY_HEADER_BYTES + gap + wordCount * 8;
}

/** The direct value of at most 8 little-endian bytes, as [lo, hi] at vals[vp]. */
function directFromBytes(b: Uint8Array, vals: Uint32Array, vp: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = Math.min(b.length, 4) - 1; i >= 0; i--) lo = lo * 256 + b[i];
  for (let i = b.length - 1; i >= 4; i--) hi = hi * 256 + b[i];
  vals[vp] = lo;
  vals[vp + 1] = hi;
}

function grow32(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

function grow8(a: Uint8Array): Uint8Array {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}

export function tooSmall(capacity: number, needed: number): RangeError {
  return new RangeError(`The target holds ${capacity} bytes; the noun needs at least ${needed}. Size it with shmSize`);
}
