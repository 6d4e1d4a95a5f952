/**
 * The check of LMDB's data file before it is mapped (src/view/lmdb-meta.ts, shared with the read
 * view's reader), with the log's own error: `log_damaged`, and what the operator can do.
 */
import { checkLmdbMeta as checkShared, readLmdbHead as readShared, type LmdbHead } from "../../view/lmdb-meta.ts";
import { LogError, LogErrorCode } from "./log-error.ts";

export { LMDB_DATA_VERSION, LMDB_MAGIC, LMDB_MAP_BYTES_MAX, LMDB_META_READ_BYTES, LMDB_PAGE_BYTES_MAX, LMDB_PAGE_BYTES_MIN } from "../../view/lmdb-meta.ts";
export type { LmdbHead } from "../../view/lmdb-meta.ts";

/** The log's error for a damaged data file. */
export function logDamaged(file: string, finding: string, cause?: unknown): LogError {
  return new LogError(
    LogErrorCode.damaged,
    `The event log's data file "${file}" is damaged: ${finding}. LMDB keeps no checksums, so mars will not open it (it could lose the last events without a word, or crash); restore the pier from a backup`,
    { cause },
  );
}

/** Reads and checks data.mdb's meta pages; LogError (`log_damaged`) naming what is wrong. */
export function readLmdbHead(file: string): LmdbHead {
  return readShared(file, logDamaged);
}

/** Checks both meta pages' first bytes (no I/O); LogError (`log_damaged`) otherwise. */
export function checkLmdbMeta(page0: Uint8Array, page1: Uint8Array, fileBytes: number, file: string): LmdbHead {
  return checkShared(page0, page1, fileBytes, file, logDamaged);
}
