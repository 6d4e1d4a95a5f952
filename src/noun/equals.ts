/**
 * Structural equality of nouns (vere's `u3r_sing`), iterative on an explicit stack.
 *
 * Direct atoms compare as numbers and big atoms by bytes: the representation is canonical
 * (docs/nouns.md), so a number never equals a `BigAtom`. A `FileAtom` is the one exception, its
 * value may be of any size, so it is compared by length first, then by mug (computed once and
 * cached, which streams the file), and only then byte for byte.
 *
 * Cached hashes (`mug`, `jamHash`) that differ prove two cells unequal without descending.
 */
import { closeSync } from "node:fs";
import { BigAtom, type Atom } from "./atom.ts";
import { Cell } from "./cell.ts";
import { FileAtom } from "./file-atom.ts";
import { mug } from "./mug.ts";
import type { Noun } from "./noun.ts";

/** Bytes compared per read when a file-backed atom is compared byte for byte. */
const EQUALS_FILE_READ_BYTES = 1 << 20;
/** Largest byte length whose atom may be a direct (number) atom. */
const DIRECT_ATOM_BYTES_MAX = 7;

/** True when `a` and `b` are the same noun. */
export function equals(a: Noun, b: Noun): boolean {
  if (a === b) return true;
  if (!(a instanceof Cell) || !(b instanceof Cell)) {
    if (a instanceof Cell || b instanceof Cell) return false;
    return atomsEqual(a, b);
  }
  const stack: Noun[] = [a, b];
  while (stack.length > 0) {
    const y = stack.pop()!;
    const x = stack.pop()!;
    if (x === y) continue;
    if (x instanceof Cell) {
      if (!(y instanceof Cell)) return false;
      if (x.mug !== 0 && y.mug !== 0 && x.mug !== y.mug) return false;
      if (x.jamHash !== 0 && y.jamHash !== 0 && x.jamHash !== y.jamHash) return false;
      // Tails first onto the stack, so heads are compared first.
      stack.push(x.tail, y.tail, x.head, y.head);
    } else {
      if (y instanceof Cell) return false;
      if (typeof x === "number" && typeof y === "number") return false;
      if (!atomsEqual(x, y)) return false;
    }
  }
  return true;
}

/** Byte length of an atom's minimal little-endian form (0 for 0). */
export function atomByteLength(a: Atom): number {
  if (typeof a === "number") {
    let n = 0;
    for (let v = a; v > 0; v = Math.floor(v / 256)) n++;
    return n;
  }
  if (a instanceof BigAtom) return a.byteLength;
  return a.exactLength();
}

/** Equality of two atoms of any representation. */
export function atomsEqual(a: Atom, b: Atom): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return false;
  if (a instanceof BigAtom && b instanceof BigAtom) {
    if (a.byteLength !== b.byteLength) return false;
    if (a.mug !== 0 && b.mug !== 0 && a.mug !== b.mug) return false;
    // Two atoms from content-named sources compare by name: no blob is read.
    const sa = a.source;
    const sb = b.source;
    if (sa !== undefined && sb !== undefined) return sa.contentKey === sb.contentKey;
    return bytesEqual(a.bytes, b.bytes);
  }
  if (!(a instanceof FileAtom) && !(b instanceof FileAtom)) return false; // number vs BigAtom
  return fileAtomEquals(a, b);
}

function fileAtomEquals(a: Atom, b: Atom): boolean {
  if (a instanceof FileAtom && b instanceof FileAtom) {
    if (a.path === b.path && a.mtimeMs === b.mtimeMs && a.byteLengthMax === b.byteLengthMax) return true;
  }
  const length = atomByteLength(a);
  if (length !== atomByteLength(b)) return false;
  if (length <= DIRECT_ATOM_BYTES_MAX) {
    const x = a instanceof FileAtom ? a.materialize() : a;
    const y = b instanceof FileAtom ? b.materialize() : b;
    if (typeof x === "number" || typeof y === "number") return x === y;
    return bytesEqual(x.bytes, y.bytes);
  }
  if (mug(a) !== mug(b)) return false;
  return contentEqual(a as BigAtom | FileAtom, b as BigAtom | FileAtom, length);
}

/** Compares two big atoms of `length` bytes in EQUALS_FILE_READ_BYTES pieces. */
function contentEqual(a: BigAtom | FileAtom, b: BigAtom | FileAtom, length: number): boolean {
  const fdA = a instanceof FileAtom ? a.open() : -1;
  let fdB = -1;
  try {
    fdB = b instanceof FileAtom ? b.open() : -1;
    const bufA = new Uint8Array(Math.min(EQUALS_FILE_READ_BYTES, length));
    const bufB = new Uint8Array(bufA.length);
    for (let pos = 0; pos < length; pos += bufA.length) {
      const n = Math.min(bufA.length, length - pos);
      const x = a instanceof FileAtom ? (a.readInto(fdA, pos, bufA.subarray(0, n)), bufA.subarray(0, n)) : a.bytes.subarray(pos, pos + n);
      const y = b instanceof FileAtom ? (b.readInto(fdB, pos, bufB.subarray(0, n)), bufB.subarray(0, n)) : b.bytes.subarray(pos, pos + n);
      if (!bytesEqual(x, y)) return false;
    }
    return true;
  } finally {
    if (fdA >= 0) closeSync(fdA);
    if (fdB >= 0) closeSync(fdB);
  }
}

/** memcmp-speed equality of two byte arrays (Buffer views, no copy). */
export function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  return Buffer.from(x.buffer, x.byteOffset, x.length).equals(Buffer.from(y.buffer, y.byteOffset, y.length));
}
