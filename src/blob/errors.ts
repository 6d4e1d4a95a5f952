/**
 * The blob store's error codes (docs/blob-store.md). Every message names the blob's path and says
 * what the operator can do. A blob is never repaired silently: damaged bytes are a typed error,
 * never wrong bytes.
 */
import type { CodeOf } from "../error.ts";

export const BlobErrorCode = {
  /** The blob a reference names is not in the store. */
  missing: "blob_missing",
  /** The blob's file is shorter or longer than its byte length requires (truncated, or not a blob). */
  size: "blob_size",
  /** Damaged bytes: caught together by a reader that only needs to know the blob cannot be used. */
  damaged: {
    /** The footer's magic, version, piece size, lengths or checksum are wrong. */
    footer: "blob_footer",
    /** A piece's CRC-32 differs from the crc table: a bit flip of the same length. */
    piece: "blob_piece",
    /** The bytes' SHA-256 is not the blob's name (found by `verify`, which rehashes). */
    hash: "blob_hash",
  },
  /** Creating, writing, syncing or installing a blob failed (a full disk, permissions). */
  write: "blob_write",
  /** Reading a blob's file failed (other than it being missing). */
  read: "blob_read",
  /** An argument Plea's own code passed is out of range (an empty atom, a setting). */
  usage: "blob_usage",
} as const;

export type BlobErrorCode = CodeOf<typeof BlobErrorCode>;
