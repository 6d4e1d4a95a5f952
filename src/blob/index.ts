/**
 * The blob store (docs/blob-store.md): large atoms stored once, on disk, named by the SHA-256 of
 * their bytes. Shared by urth and mars (mars alone names blobs; urth may stage them in `stg/`).
 *
 * - `blobPaths(pier)`, `BlobRef`, the file layout and `blobFileBytes(byteLength)` (layout.ts);
 * - `blobAtomBytesMin()`: the threshold ($PLEA_BLOB_BYTES_MIN, default 1 MiB);
 * - `BlobStore`: `put`, `putMany`, `install`, `stat`, `has`, `source`, `list`, `sweep`, `verify`;
 * - staging (urth): `finishStaged`, `stagedBlobPath`, `BlobChecksums` (staging.ts, checksums.ts);
 * - `BlobSource`: a blob as an `AtomBytesSource` (mapped and checked on demand);
 * - `verifyBlob(path)`: rehash and check one blob file;
 * - `readBlobPieces(path, name, byteLength)`: a blob's bytes in checked pieces, with plain reads;
 * - errors: plain `PleaError`s with a code from `BlobErrorCode`.
 */
export { BlobErrorCode } from "./errors.ts";
export {
  BLOB_ATOM_BYTES_MAX,
  BLOB_ATOM_BYTES_MIN_DEFAULT,
  BLOB_ATOM_BYTES_MIN_ENV,
  BLOB_DIGEST_BYTES,
  BLOB_FOOTER_BYTES,
  BLOB_FORMAT_VERSION,
  BLOB_PIECE_BYTES,
  bitLengthOf,
  blobAtomBytesMin,
  blobDigestOf,
  blobFileBytes,
  blobNameOf,
  blobPaths,
  blobPieceCount,
  isBlobName,
} from "./layout.ts";
export type { BlobFooter, BlobPaths, BlobRef } from "./layout.ts";
export { BlobStore } from "./blob-store.ts";
export { finishStaged, removeQuietly, STAGED_SUFFIX, stagedBlobPath } from "./staging.ts";
export type { StagedSums } from "./staging.ts";
export { BlobChecksums, crc32 } from "./checksums.ts";
export { blobWriteError, makeStoreDirs } from "./durable.ts";
export type { BlobPutItem, BlobPutResult } from "./blob-store.ts";
export { BlobSource, mapBlob } from "./blob-source.ts";
export { verifyBlob } from "./verify.ts";
export { readBlobPieces } from "./blob-pieces.ts";
export type { BlobCheck } from "./verify.ts";
