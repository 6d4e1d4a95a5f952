/**
 * `LogError`: the event log, a blob file or a snapshot on disk is missing, damaged or
 * inconsistent, or a write to it failed.
 *
 * Every message names the pier file and the event number and says what the operator can do.
 * Corruption is never repaired silently: mars refuses to start and says which event is bad
 * (docs/event-log.md, "Start-up recovery").
 */
import { PleaError, type CodeOf } from "../../error.ts";

export const LogErrorCode = {
  /** The log's META says a format this build cannot read (or none at all). */
  format: "log_format",
  /** EVENTS keys are not 1..N without gaps, or a key is not 8 bytes. */
  gap: "log_gap",
  /** An EVENTS record's checksum or framing is wrong. */
  record: "log_record",
  /** A record names a blob file that is missing. */
  blobMissing: "log_blob_missing",
  /** A blob file's length differs from its record's. */
  blobLength: "log_blob_length",
  /** A blob file's checksum differs from its record's, or its bytes do not cue. */
  blobChecksum: "log_blob_checksum",
  /** A stored mug differs from the mug of the state recomputed by replay (vere's %awry). */
  mug: "log_mug",
  /** Writing, syncing or committing failed; the log refuses further appends. */
  write: "log_write",
  /** The caller broke the append protocol (wrong event number, after close). */
  usage: "log_usage",
  /** A snapshot could not be written. */
  snapshot: "log_snapshot",
  /** LMDB's data file is damaged where LMDB cannot tell (its meta pages, its length). */
  damaged: "log_damaged",
  /** The log is missing or empty on a pier that has had events (blobs, snapshots, mount cache). */
  missing: "log_missing",
  /** The log holds fewer events than the head marker says were durable, or other ones. */
  rollback: "log_rollback",
  /** Another process (another mars) holds the log's writer lock. */
  locked: "log_locked",
  /** The events a start needs were removed by `chop` and no snapshot after them is usable. */
  chopped: "log_chopped",
} as const;

export type LogErrorCodeValue = CodeOf<typeof LogErrorCode>;

/** Kept as a class for `eve`: callers (and mars's exit status) also catch the whole log by it. */
export class LogError extends PleaError<LogErrorCodeValue> {
  /** The event the error is about, when there is one. */
  readonly eve: number | undefined;

  constructor(code: LogErrorCodeValue, message: string, options?: { eve?: number; cause?: unknown }) {
    super(code, message, options);
    this.eve = options?.eve;
  }
}
