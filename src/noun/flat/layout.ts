/**
 * The flat noun format: constants and value encoding (docs/shm-format.md). It works on any
 * buffer; the plea protocol puts it in a shared-memory segment, hence the `SHM_` names.
 *
 * A buffer is a 32-byte header followed by a data section of 8-byte-aligned entries written in
 * post-order (children before parents), each unique atom or cell once:
 *
 *   header   0  4  magic "PLEA"            4  2  format version (1)    6  2  header bytes (32)
 *            8  4  flags (0)              12  4  reserved (0)
 *           16  8  root value             24  8  data bytes (length of the data section)
 *   atom     [len_w u64 > 0][mug u32][gap u32][gap zero bytes][len_w little-endian u64 words]
 *   cell     [0 u64][mug u32][pad u32][head value u64][tail value u64]
 *   blob ref [byteLength u64 > 0][mug u32][1 u32][bitLength u64][32-byte name]  (version 2)
 *
 * A blob reference stands for a large atom whose bytes are a blob of the pier's store (named by
 * the sha-256 of its bytes); its third field is 1, which no atom entry's gap can be (a gap is a
 * multiple of 8), so the layout pass tells the kinds apart without the values.
 *
 * The gap is 0 except for atoms of SHM_ALIGNED_ATOM_BYTES_MIN bytes or more, whose words start on a
 * page boundary of the buffer (see there).
 *
 * A value is a u64 whose top two bits are a tag: 00 direct atom (the low 62 bits), 10 atom
 * entry, 11 cell entry, 01 blob-reference entry (the low 62 bits a byte offset into the data
 * section; 01 is invalid for a reader given no way to resolve references). All
 * numbers are little-endian. JS numbers hold 53 bits, so every u64 is handled as two u32 halves.
 */
import { ATOM_BYTES_MAX } from "../atom.ts";

/** "PLEA" in ASCII, read as a little-endian u32: a buffer that is not ours fails at byte 0. */
export const SHM_MAGIC = 0x41454c50;
/** Bumped on any layout change: a peer of another version fails clearly instead of misreading. */
export const SHM_FORMAT_VERSION = 2;
/** Preamble and header together; the data section starts here (8-byte aligned). */
export const SHM_HEADER_BYTES = 32;

/** Byte positions of the header fields. */
export const SHM_MAGIC_AT = 0;
export const SHM_VERSION_AT = 4;
export const SHM_HEADER_BYTES_AT = 6;
export const SHM_FLAGS_AT = 8;
export const SHM_RESERVED_AT = 12;
export const SHM_ROOT_AT = 16;
export const SHM_DATA_BYTES_AT = 24;

/** A cell entry: zero word, mug and pad, head value, tail value. */
export const SHM_CELL_ENTRY_BYTES = 32;
/** An atom entry's fixed part (word count, mug, gap) before its gap and words. */
export const SHM_ATOM_ENTRY_HEADER_BYTES = 16;
/** An atom holds at most ATOM_BYTES_MAX bytes, so its entry at most this many words. */
export const SHM_ATOM_WORDS_MAX = ATOM_BYTES_MAX / 8;
/** A blob-reference entry: byte length, mug, mark, bit length, name. */
export const SHM_REF_ENTRY_BYTES = 56;
/** The third field of a blob-reference entry (an atom entry's gap there is a multiple of 8). */
export const SHM_REF_MARK = 1;
/** Bytes of a blob's name (sha-256). */
export const SHM_REF_NAME_BYTES = 32;

/** A blob reference as the flat format holds it. */
export interface ShmRef {
  /** sha-256 of the atom's bytes (32 bytes). */
  readonly name: Uint8Array;
  readonly byteLength: number;
  readonly bitLength: number;
  /** The atom's mug: 31 bits, nonzero. */
  readonly mug: number;
}

/** Mugs are 31 bits and never 0 (vere retrieve.c); 0 in the mug field means "not computed". */
export const SHM_MUG_MAX = 0x7fffffff;

/** Value tags: the top two bits of a value's high u32 (`hi >>> 30`). */
export const SHM_TAG_DIRECT = 0;
/** Version 1's invalid tag; version 2's blob-reference entry (invalid without `resolveRef`). */
export const SHM_TAG_INVALID = 1;
export const SHM_TAG_REF = 1;
export const SHM_TAG_REF_HI = 0x40000000;
export const SHM_TAG_ATOM = 2;
export const SHM_TAG_CELL = 3;
/** The tag bits as they sit in the high u32. */
export const SHM_TAG_ATOM_HI = 0x80000000;
export const SHM_TAG_CELL_HI = 0xc0000000;
/** The high u32 of a direct value is below this (62 bits in all). */
export const SHM_DIRECT_HI_LIMIT = 0x40000000;
/** The high u32 of a value that fits a JS number (2^53 - 1) is below this. */
export const SHM_NUMBER_HI_LIMIT = 0x200000;

export const TWO_32 = 4294967296;

/** Large atoms' words start on a multiple of this many bytes from the buffer's start. */
export const SHM_ATOM_ALIGN_BYTES = 4096;
/**
 * Atoms of at least this many bytes are page-aligned (waste: under 0.4%). Why: a mapping and a
 * large heap array both start on a page, and copying 1 GiB between them took 86-95 ms at the
 * same page offset but 250-600 ms at offsets 8 to 128 apart (glibc memcpy, 4K aliasing; measured
 * here). The same holds for the copy a non-zero-copy read makes, and zero-copy views start on a
 * page, which a later madvise needs.
 */
export const SHM_ALIGNED_ATOM_BYTES_MIN = 2 ** 20;

/** The gap before the words of an atom of `byteLength` bytes whose entry starts at `entryAt`. */
export function shmWordsGap(entryAt: number, byteLength: number): number {
  if (byteLength < SHM_ALIGNED_ATOM_BYTES_MIN) return 0;
  const rest = (entryAt + SHM_ATOM_ENTRY_HEADER_BYTES) % SHM_ATOM_ALIGN_BYTES;
  return rest === 0 ? 0 : SHM_ATOM_ALIGN_BYTES - rest;
}

/** Bytes an atom entry of `byteLength` bytes at `entryAt` takes (gap and whole words). */
export function shmAtomEntryBytes(entryAt: number, byteLength: number): number {
  return SHM_ATOM_ENTRY_HEADER_BYTES + shmWordsGap(entryAt, byteLength) + Math.ceil(byteLength / 8) * 8;
}

/**
 * True when little-endian `bytes` (no trailing zero) fit a direct value (below 2^62).
 * Such atoms are written as values, never as entries, so each value has one encoding.
 */
export function shmFitsDirect(bytes: Uint8Array): boolean {
  return bytes.length < 8 || (bytes.length === 8 && bytes[7] < 0x40);
}
