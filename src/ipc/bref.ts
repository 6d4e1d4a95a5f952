/**
 * The reference table of `[%plea %bref refs jam]`, Plea's extension task that carries a poke whose
 * large atoms are already in the pier's blob store (docs/ipc.md, "Plea extension: blob
 * references"). `jam` is the jam-with-refs of the vere `[%poke mil ovum]` task: each referenced
 * atom is written there as atom 0, and `refs` says, for each such place, which blob holds it:
 *
 *     refs = (list [bit-offset=@ud name=@ byte-length=@ud])
 *
 * `name` is the blob's 32-byte sha-256 as an atom: digest byte i is the atom's byte i (little-
 * endian), so the atom may be shorter than 32 bytes when the digest ends in zero bytes. In the
 * parsed form a name is the digest's 64 lowercase hex digits, as the store names its files.
 *
 * These are readers for bytes from urth: every wrong shape or out-of-range field is a protocol
 * error naming the field, and a hostile table costs at most BREF_REFS_MAX entries of work.
 */
import { PleaError } from "../error.ts";
import { BLOB_DIGEST_BYTES, blobDigestOf, blobNameOf } from "../blob/layout.ts";
import { ATOM_BYTES_MAX, atomFromBytes, BigAtom, isCell, list, toBytes, tuple, type Noun } from "../noun/index.ts";
import { IpcErrorCode } from "./errors.ts";
import { readAtom, readCell, readNumber } from "./shape.ts";

/**
 * Most references one `%bref` carries. A reference names one blob of at least
 * BREF_ATOM_BYTES_MIN bytes (in practice at least the store's threshold, 1 MiB), so 2^20 of them
 * is a commit of a TiB of stored files; the bound keeps a hostile list from making mars stat
 * blobs without end.
 */
export const BREF_REFS_MAX = 2 ** 20;

/**
 * Smallest atom a reference may stand for: 7 bytes. An atom of 6 bytes or less is a direct atom
 * (a JS number, docs/nouns.md), which never lives in a blob; the 7-byte ones up to 2^53-1 are
 * too, which the blob's footer (its bit length) settles in mars.
 */
export const BREF_ATOM_BYTES_MIN = 7;

/** Largest atom a reference may stand for: the largest atom (4 GiB). */
export const BREF_ATOM_BYTES_MAX = ATOM_BYTES_MAX;

/** One entry of the table: the atom written as atom 0 at `bitOffset` of the jam is blob `name` of `byteLength` bytes. */
export interface BrefRef {
  readonly bitOffset: number;
  /** 64 lowercase hex digits: the sha-256 of the atom's bytes. */
  readonly name: string;
  readonly byteLength: number;
}

/** The atom that carries blob name `name` (64 hex digits) in a message. */
export function blobNameToAtom(name: string): number | BigAtom {
  return atomFromBytes(blobDigestOf(name));
}

/** The blob name (64 hex digits) an atom from a message carries; a protocol error if it is longer than a digest. */
export function readBlobName(n: Noun, where: string): string {
  const a = readAtom(n, where);
  if (typeof a !== "number" && a.byteLength > BLOB_DIGEST_BYTES) {
    throw new PleaError(IpcErrorCode.protocol.outOfRange, `${where}: an atom of ${a.byteLength} bytes is longer than a ${BLOB_DIGEST_BYTES}-byte blob name`);
  }
  const digest = new Uint8Array(BLOB_DIGEST_BYTES);
  digest.set(toBytes(a));
  return blobNameOf(digest);
}

/** The `refs` list of a `%bref`, in the order given (urth gives them in ascending bit offset). */
export function brefRefsToNoun(refs: readonly BrefRef[]): Noun {
  return list(refs.map((r) => tuple(r.bitOffset, blobNameToAtom(r.name), r.byteLength)));
}

/**
 * Reads the `refs` list of a `%bref` whose jam is `jamBits` bits long (met 0 of the jam atom).
 * Checks: at most BREF_REFS_MAX entries (counted before anything else is read); each entry is
 * `[bit-offset name byte-length]`; bit offsets strictly ascending, each leaving room in the jam
 * for the 2 bits of atom 0 it replaces; names at most 32 bytes; byte lengths from
 * BREF_ATOM_BYTES_MIN to BREF_ATOM_BYTES_MAX. Whether each offset really holds atom 0 is cue's
 * check (a damaged jam), and whether each blob exists is mars's.
 */
export function readBrefRefs(n: Noun, jamBits: number, where: string): BrefRef[] {
  const refs: BrefRef[] = [];
  let cur = n;
  let last = -1;
  while (isCell(cur)) {
    const i = refs.length;
    if (i === BREF_REFS_MAX) {
      throw new PleaError(IpcErrorCode.protocol.outOfRange, `${where}: more than ${BREF_REFS_MAX} references`);
    }
    const at = `${where} ${i}`;
    const a = readCell(cur.head, at);
    const b = readCell(a.tail, at);
    const bitOffset = readNumber(a.head, Number.MAX_SAFE_INTEGER, `${at}, bit offset`);
    if (bitOffset <= last) {
      throw new PleaError(IpcErrorCode.protocol.outOfRange, `${at}, bit offset: ${bitOffset} does not follow ${last} (offsets ascend)`);
    }
    if (bitOffset + 2 > jamBits) {
      throw new PleaError(IpcErrorCode.protocol.outOfRange, `${at}, bit offset: ${bitOffset} is past the jam's ${jamBits} bits`);
    }
    const name = readBlobName(b.head, `${at}, name`);
    const byteLength = readNumber(b.tail, BREF_ATOM_BYTES_MAX, `${at}, byte length`);
    if (byteLength < BREF_ATOM_BYTES_MIN) {
      throw new PleaError(IpcErrorCode.protocol.outOfRange, `${at}, byte length: ${byteLength} is below ${BREF_ATOM_BYTES_MIN} (a smaller atom is never a blob)`);
    }
    refs.push({ bitOffset, name, byteLength });
    last = bitOffset;
    cur = cur.tail;
  }
  if (cur !== 0) {
    throw new PleaError(IpcErrorCode.protocol.badShape, `${where} (after ${refs.length} items): expected a list ending in ~, got ${isCell(cur) ? "a cell" : "an atom"}`);
  }
  return refs;
}

