/**
 * The ref table of a record (version 2) and of a snapshot (version 2): the blobs a jam with refs
 * names (docs/event-log.md, "Ref tables"; docs/nouns.md, "Jam with refs").
 *
 * One entry is 64 bytes, integers little-endian:
 *
 *   0   u64  bit offset of the placeholder in the jam
 *   8   u64  the atom's byte length
 *   16  u64  the atom's bit length
 *   24  u32  the atom's mug
 *   28  u32  zero
 *   32  32   the blob's name: sha-256 of the atom's bytes
 *
 * Entries are in strictly ascending order of offset (the order jam writes them). The count that
 * precedes the entries is checked against the bytes that hold them before anything is read.
 */
import { ATOM_BYTES_MAX } from "../../noun/atom.ts";

/** Bytes of one ref-table entry. */
export const REF_ENTRY_BYTES = 64;
/** Bytes of a blob's name (sha-256). */
export const REF_NAME_BYTES = 32;

/** One blob a jam with refs names: where its placeholder is, and the blob (src/blob's BlobRef). */
export interface RecordRef {
  /** Bit offset of the atom-0 placeholder in the jam. */
  readonly bitOffset: number;
  /** The blob's name: 64 lowercase hex digits of the sha-256 of the atom's bytes. */
  readonly name: string;
  readonly byteLength: number;
  readonly bitLength: number;
  /** The atom's mug (31 bits, nonzero). */
  readonly mug: number;
}

const TWO_32 = 4294967296;
const MUG_MAX = 0x7fffffff;
const NAME_PATTERN = /^[0-9a-f]{64}$/;

/** Writes `ref` as the 64-byte entry at `at` of `view`. Throws RangeError for a malformed ref. */
export function writeRefEntry(view: DataView, at: number, ref: RecordRef): void {
  const problem = refProblem(ref);
  if (problem !== undefined) throw new RangeError(`A ref-table entry cannot be written: ${problem}`);
  setU64(view, at, ref.bitOffset);
  setU64(view, at + 8, ref.byteLength);
  setU64(view, at + 16, ref.bitLength);
  view.setUint32(at + 24, ref.mug, true);
  view.setUint32(at + 28, 0, true);
  for (let i = 0; i < REF_NAME_BYTES; i++) view.setUint8(at + 32 + i, parseInt(ref.name.slice(2 * i, 2 * i + 2), 16));
}

/** Writes `refs` as consecutive entries from `at`, checking they ascend by offset. */
export function writeRefEntries(view: DataView, at: number, refs: readonly RecordRef[]): void {
  for (let i = 0; i < refs.length; i++) {
    if (i > 0 && refs[i].bitOffset <= refs[i - 1].bitOffset) {
      throw new RangeError(`Ref-table entries must ascend by bit offset; entry ${i} is at ${refs[i].bitOffset} after ${refs[i - 1].bitOffset}`);
    }
    writeRefEntry(view, at + i * REF_ENTRY_BYTES, refs[i]);
  }
}

/**
 * Reads `count` entries from `at` of `view` (the caller has checked they lie within it). Returns
 * the refs, or what is wrong with the first bad entry, for the caller's damage message.
 * `jamBits` bounds every offset (a placeholder lies inside the jam).
 */
export function readRefEntries(view: DataView, at: number, count: number, jamBits: number): RecordRef[] | string {
  const refs: RecordRef[] = [];
  for (let i = 0; i < count; i++) {
    const e = at + i * REF_ENTRY_BYTES;
    const bitOffset = getU64(view, e);
    const byteLength = getU64(view, e + 8);
    const bitLength = getU64(view, e + 16);
    const mug = view.getUint32(e + 24, true);
    if (view.getUint32(e + 28, true) !== 0) return `ref ${i} has a nonzero pad`;
    let name = "";
    for (let j = 0; j < REF_NAME_BYTES; j++) name += view.getUint8(e + 32 + j).toString(16).padStart(2, "0");
    const ref: RecordRef = { bitOffset, name, byteLength, bitLength, mug };
    const problem = refProblem(ref);
    if (problem !== undefined) return `ref ${i}: ${problem}`;
    if (bitOffset + 2 > jamBits) return `ref ${i} is at bit ${bitOffset}, past the jam's ${jamBits} bits`;
    if (i > 0 && bitOffset <= refs[i - 1].bitOffset) return `ref ${i} is at bit ${bitOffset}, not after ref ${i - 1} at ${refs[i - 1].bitOffset}`;
    refs.push(ref);
  }
  return refs;
}

/** What is wrong with a ref's fields, or undefined. */
function refProblem(r: RecordRef): string | undefined {
  if (!Number.isSafeInteger(r.bitOffset) || r.bitOffset < 0) return `bit offset ${r.bitOffset} is not a safe natural number`;
  if (!Number.isSafeInteger(r.byteLength) || r.byteLength < 1 || r.byteLength > ATOM_BYTES_MAX) return `byte length ${r.byteLength} is not in 1..${ATOM_BYTES_MAX}`;
  if (!Number.isSafeInteger(r.bitLength) || r.bitLength <= (r.byteLength - 1) * 8 || r.bitLength > r.byteLength * 8) {
    return `bit length ${r.bitLength} does not fit byte length ${r.byteLength}`;
  }
  if (!Number.isInteger(r.mug) || r.mug < 1 || r.mug > MUG_MAX) return `mug ${r.mug} is not a nonzero 31-bit number`;
  if (typeof r.name !== "string" || !NAME_PATTERN.test(r.name)) return `name ${String(r.name).slice(0, 70)} is not 64 lowercase hex digits`;
  return undefined;
}

function setU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n % TWO_32, true);
  view.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

/** A u64 as a number; above 2^53 it is not exact, which the range checks then refuse. */
function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
}
