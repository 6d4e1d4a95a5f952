/**
 * The blob store's on-disk format, shared by urth (which reads and resolves references) and mars
 * (which alone writes): where blobs live, how a blob is named, and the layout of a blob file
 * (docs/blob-store.md has the whole story).
 *
 *   <pier>/.urb/bob/<64 hex>     one blob: the SHA-256 of the atom's bytes names it
 *   <pier>/.urb/bob/stg/         staging: `<random>.tmp` files being written (emptied at start)
 *
 * A blob file is the atom's bytes [0, byteLength) (little-endian, last byte nonzero), then one
 * CRC-32 (u32 LE) per BLOB_PIECE_BYTES piece, then the BLOB_FOOTER_BYTES footer below. The file's
 * size is a pure function of byteLength (`blobFileBytes`), so "this blob exists with this length"
 * is one stat(2), and a truncated file is caught before it is mapped (touching a page past its
 * end would be SIGBUS).
 */
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { BlobErrorCode } from "./errors.ts";

/** `.urb/bob`, and its staging folder `stg`. */
export interface BlobPaths {
  readonly dir: string;
  readonly staging: string;
}

export function blobPaths(pier: string): BlobPaths {
  const dir = join(pier, ".urb", "bob");
  return { dir, staging: join(dir, "stg") };
}

/** What the log, a snapshot or the pipe holds instead of a large atom's bytes. */
export interface BlobRef {
  /** 64 lower-case hex digits: the SHA-256 of the atom's bytes. */
  readonly name: string;
  readonly byteLength: number;
  readonly bitLength: number;
  /** The atom's mug (31 bits, nonzero), kept so that nobody reads the bytes to compute it. */
  readonly mug: number;
}

/** Bytes of a blob's name as a digest: SHA-256. */
export const BLOB_DIGEST_BYTES = 32;

/**
 * Bytes per piece: 4 MiB. A reader checks each piece's CRC-32 before it hands out the bytes, so
 * a bit flip is found and located to within a piece; the table costs 4 bytes per 4 MiB (1 KiB per
 * GiB), small enough to read with the footer.
 */
export const BLOB_PIECE_BYTES = 4 * 1024 * 1024;

/**
 * Largest blob: 2^32 bytes (4 GiB), the most one mapped view may span in Bun (docs/platform.md):
 * a blob is handed out as one view.
 */
export const BLOB_ATOM_BYTES_MAX = 2 ** 32;

/** The footer's first 8 bytes: "PLEABLOB". */
export const BLOB_MAGIC = new TextEncoder().encode("PLEABLOB");

/** Version of the blob file format this build writes and reads. */
export const BLOB_FORMAT_VERSION = 1;

/**
 * The footer, at the end of the file (little-endian):
 *
 *   offset  bytes  field
 *        0      8  magic "PLEABLOB"
 *        8      4  format version (u32)
 *       12      4  piece bytes (u32)
 *       16      8  byteLength (u64)
 *       24      8  bitLength (u64)
 *       32      4  mug (u32)
 *       36     32  SHA-256 of the bytes (the blob's name)
 *       68      4  CRC-32 of (crc table ++ footer bytes [0, 68))
 */
export const BLOB_FOOTER_BYTES = 72;
const AT_VERSION = 8;
const AT_PIECE = 12;
const AT_BYTE_LENGTH = 16;
const AT_BIT_LENGTH = 24;
const AT_MUG = 32;
const AT_DIGEST = 36;
/** Where the footer's own checksum is: it covers the crc table and the footer before it. */
export const BLOB_FOOTER_CRC_OFFSET = 68;

/** Number of pieces (and of CRCs in the table) of a blob of `byteLength` bytes. */
export function blobPieceCount(byteLength: number): number {
  return Math.ceil(byteLength / BLOB_PIECE_BYTES);
}

/** Size of the file of a blob of `byteLength` bytes: bytes, crc table, footer. */
export function blobFileBytes(byteLength: number): number {
  return byteLength + 4 * blobPieceCount(byteLength) + BLOB_FOOTER_BYTES;
}

/**
 * Smallest atom stored as a blob by default: 1 MiB, the event log's inline limit
 * (LOG_INLINE_BYTES_MAX, docs/event-log.md): an atom that fits inline in a record costs less
 * there than a file, a directory entry and two fsyncs (docs/blob-store.md, "The threshold").
 */
export const BLOB_ATOM_BYTES_MIN_DEFAULT = 1024 * 1024;

/** Environment variable that sets the threshold (tests use small values). */
export const BLOB_ATOM_BYTES_MIN_ENV = "PLEA_BLOB_BYTES_MIN";

/**
 * Smallest atom stored as a blob: $PLEA_BLOB_BYTES_MIN if set (an integer from 1 to
 * BLOB_ATOM_BYTES_MAX), else BLOB_ATOM_BYTES_MIN_DEFAULT.
 */
export function blobAtomBytesMin(env: Record<string, string | undefined> = process.env): number {
  const text = env[BLOB_ATOM_BYTES_MIN_ENV];
  if (text === undefined || text === "") return BLOB_ATOM_BYTES_MIN_DEFAULT;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > BLOB_ATOM_BYTES_MAX) {
    throw new PleaError(
      BlobErrorCode.usage,
      `${BLOB_ATOM_BYTES_MIN_ENV}="${text}" is invalid: set it to a byte count from 1 to ${BLOB_ATOM_BYTES_MAX}, or unset it for the default ${BLOB_ATOM_BYTES_MIN_DEFAULT}`,
    );
  }
  return n;
}

const BLOB_NAME = /^[0-9a-f]{64}$/;

/** Whether `name` is a blob's name: 64 lower-case hex digits. */
export function isBlobName(name: string): boolean {
  return BLOB_NAME.test(name);
}

/** The name of the blob whose bytes have this SHA-256. */
export function blobNameOf(digest: Uint8Array): string {
  if (digest.length !== BLOB_DIGEST_BYTES) throw new RangeError(`A blob digest is ${BLOB_DIGEST_BYTES} bytes, not ${digest.length}`);
  return Buffer.from(digest.buffer, digest.byteOffset, digest.length).toString("hex");
}

/** The 32-byte digest a blob's name spells. */
export function blobDigestOf(name: string): Uint8Array {
  if (!isBlobName(name)) {
    throw new PleaError(BlobErrorCode.usage, `"${name}" is not a blob name: a blob is named by 64 lower-case hex digits`);
  }
  return new Uint8Array(Buffer.from(name, "hex"));
}

/** The bit length (met 0) of canonical little-endian bytes whose last byte is nonzero. */
export function bitLengthOf(bytes: Uint8Array): number {
  const last = bytes[bytes.length - 1] as number;
  return (bytes.length - 1) * 8 + (32 - Math.clz32(last));
}

/** What a blob's footer says. */
export interface BlobFooter {
  readonly version: number;
  readonly pieceBytes: number;
  readonly byteLength: number;
  readonly bitLength: number;
  readonly mug: number;
  readonly digest: Uint8Array;
  /** The stored CRC-32 of (crc table ++ footer bytes [0, BLOB_FOOTER_CRC_OFFSET)). */
  readonly crc: number;
}

/** Encodes a footer; its checksum is filled in from `tableCrc` (the running CRC of the table). */
export function encodeBlobFooter(ref: BlobRef, digest: Uint8Array, tableCrc: number): Uint8Array {
  const out = new Uint8Array(BLOB_FOOTER_BYTES);
  const view = new DataView(out.buffer);
  out.set(BLOB_MAGIC, 0);
  view.setUint32(AT_VERSION, BLOB_FORMAT_VERSION, true);
  view.setUint32(AT_PIECE, BLOB_PIECE_BYTES, true);
  view.setBigUint64(AT_BYTE_LENGTH, BigInt(ref.byteLength), true);
  view.setBigUint64(AT_BIT_LENGTH, BigInt(ref.bitLength), true);
  view.setUint32(AT_MUG, ref.mug, true);
  out.set(digest, AT_DIGEST);
  view.setUint32(BLOB_FOOTER_CRC_OFFSET, Bun.hash.crc32(out.subarray(0, BLOB_FOOTER_CRC_OFFSET), tableCrc) >>> 0, true);
  return out;
}

/**
 * Decodes a footer, or says what is wrong with it (a string for the caller's message). Checks
 * the magic, version, piece size, and that the lengths and mug are in range and agree with each
 * other; the checksum is the caller's (it needs the crc table).
 */
export function decodeBlobFooter(footer: Uint8Array): BlobFooter | string {
  if (footer.length !== BLOB_FOOTER_BYTES) return `its footer is ${footer.length} bytes, not ${BLOB_FOOTER_BYTES}`;
  for (let i = 0; i < BLOB_MAGIC.length; i++) if (footer[i] !== BLOB_MAGIC[i]) return "its footer does not start with PLEABLOB";
  const view = new DataView(footer.buffer, footer.byteOffset, footer.length);
  const version = view.getUint32(AT_VERSION, true);
  if (version !== BLOB_FORMAT_VERSION) return `its format version is ${version}; this build reads version ${BLOB_FORMAT_VERSION}`;
  const pieceBytes = view.getUint32(AT_PIECE, true);
  if (pieceBytes !== BLOB_PIECE_BYTES) return `its piece size is ${pieceBytes}, not ${BLOB_PIECE_BYTES}`;
  const byteLength = Number(view.getBigUint64(AT_BYTE_LENGTH, true));
  if (byteLength < 1 || byteLength > BLOB_ATOM_BYTES_MAX) return `its byte length ${byteLength} is out of range`;
  const bitLength = Number(view.getBigUint64(AT_BIT_LENGTH, true));
  if (bitLength <= (byteLength - 1) * 8 || bitLength > byteLength * 8) return `its bit length ${bitLength} does not fit its byte length ${byteLength}`;
  const mug = view.getUint32(AT_MUG, true);
  if (mug === 0 || mug >= 2 ** 31) return `its mug ${mug} is not a 31-bit nonzero mug`;
  const digest = footer.slice(AT_DIGEST, AT_DIGEST + BLOB_DIGEST_BYTES);
  const crc = view.getUint32(BLOB_FOOTER_CRC_OFFSET, true);
  return { version, pieceBytes, byteLength, bitLength, mug, digest, crc };
}

/** The footer checksum a file with this crc table and footer must carry. */
export function blobFooterCrc(table: Uint8Array, footer: Uint8Array): number {
  return Bun.hash.crc32(footer.subarray(0, BLOB_FOOTER_CRC_OFFSET), Bun.hash.crc32(table) >>> 0) >>> 0;
}
