/**
 * Writing a large file in chunks so that it is durable at the end and never whole in memory:
 * the blob of a large event and a snapshot are both written this way.
 *
 * Chunks (from `jamToSink`, which reuses its buffer once `write` resolves) are added to a running
 * CRC-32 and copied into a STREAMED_FILE_WRITE_BYTES staging buffer. A full stage is written by
 * the runtime's I/O threads while the caller goes on producing the next one into a second
 * buffer: at most one write is in flight, so jam's CPU work overlaps the disk's instead of adding
 * to it, and memory stays at two stages. Each completed write is paced towards the disk:
 * writeback starts every WRITEBACK_STEP_BYTES and everything older than WRITEBACK_DIRTY_BYTES_MAX
 * is waited for and dropped from the page cache (fadvise.ts says why). `finish` fsyncs the file;
 * the caller renames it into place and fsyncs the directory (`renameDurably`), which is what makes
 * the name durable.
 *
 * The checksum is CRC-32 (IEEE) through `Bun.hash.crc32`, chained chunk by chunk: measured here at
 * 11 GB/s against 1.6 GB/s for SHA-256 and 0.6 GB/s for BLAKE2b-256, with the disk at about
 * 0.3 GB/s, so it costs a few percent of the write. It guards against torn and damaged files,
 * not against an adversary, which the pier's file permissions are for.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { PIER_FILE_MODE } from "../../pier/private-mode.ts";
import { LogError, LogErrorCode } from "./log-error.ts";
import { startWriteback, writebackAndDrop } from "./fadvise.ts";
import { fsyncDirectoryOr, writeAllAsync } from "../../blob/durable.ts";

/**
 * Jam chunk handed to a file per write (blobs, snapshots): 256 KiB. Small enough that a small
 * event's jam buffer is cheap to allocate; the staging buffer below makes the disk writes large.
 */
export const LOG_JAM_CHUNK_BYTES = 256 * 1024;

/** One disk write: 4 MiB. Two such buffers per file being written. */
export const STREAMED_FILE_WRITE_BYTES = 4 * 1024 * 1024;

/** Start writeback each time this many bytes were written since the last start: 8 MiB. */
export const WRITEBACK_STEP_BYTES = 8 * 1024 * 1024;

/**
 * Pages written more than this many bytes ago are waited for and dropped from the cache: 32 MiB.
 * Bounds the dirty set of a multi-GiB write to about this much (docs/decisions.md: 64 MiB windows).
 */
export const WRITEBACK_DIRTY_BYTES_MAX = 32 * 1024 * 1024;

/** CRC-32 of `bytes`, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return Bun.hash.crc32(bytes, crc) >>> 0;
}

export class StreamedFile {
  readonly path: string;
  /** Bytes given to `write`. */
  length = 0;
  /** CRC-32 of the bytes given to `write`. */
  crc = 0;
  private fd: number;
  private readonly what: string;
  private stage: Uint8Array;
  private staged = 0;
  private spare: Uint8Array | undefined;
  /** File offset of the next stage. */
  private position: number;
  /** File offset up to which writes have completed. */
  private written: number;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private startedTo: number;
  private droppedTo: number;
  private pacing = true;

  /**
   * Creates (or truncates) `path` for writing; `what` names it in errors ("the blob of event 7").
   * Stream bytes start at `offset` (a header reserved before them is written by `finish`).
   */
  constructor(path: string, what: string, offset = 0) {
    this.path = path;
    this.what = what;
    try {
      this.fd = openSync(path, "w", PIER_FILE_MODE);
    } catch (cause) {
      throw writeError(`Cannot create ${what} at "${path}"`, cause);
    }
    this.stage = new Uint8Array(STREAMED_FILE_WRITE_BYTES);
    this.position = offset;
    this.written = offset;
    this.startedTo = offset;
    this.droppedTo = offset;
  }

  /** Takes the next bytes; the caller may reuse `chunk` once the promise resolves. */
  async write(chunk: Uint8Array): Promise<void> {
    this.crc = crc32(chunk, this.crc);
    this.length += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(this.stage.length - this.staged, chunk.length - at);
      this.stage.set(chunk.subarray(at, at + n), this.staged);
      this.staged += n;
      at += n;
      if (this.staged === this.stage.length) await this.flushStage();
    }
  }

  /**
   * Writes what is staged, waits for every write, writes `header` at offset 0 if given (outside
   * the checksum), fsyncs and closes. The name is durable only once its directory is fsynced too.
   */
  async finish(header?: Uint8Array): Promise<void> {
    try {
      if (this.staged > 0) await this.flushStage();
      await this.settle();
      if (header !== undefined) this.writeAllSync(header, 0);
      fsyncSync(this.fd);
    } catch (cause) {
      await this.abort();
      throw writeError(`Cannot write ${this.what} at "${this.path}"`, cause);
    }
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Waits for the write in flight, closes and removes the file (after a failure); never throws. */
  async abort(): Promise<void> {
    // Never close the descriptor under a write in flight: its number could be reused meanwhile.
    await this.inFlight;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // Already failing; the original error is what the caller reports.
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.path);
    } catch {
      // Start-up removes whatever is left (an orphan).
    }
  }

  /** Hands the full stage to the I/O threads once the previous write is done; swaps buffers. */
  private async flushStage(): Promise<void> {
    await this.settle();
    const bytes = this.stage.subarray(0, this.staged);
    const position = this.position;
    this.position += this.staged;
    const free = this.spare ?? new Uint8Array(STREAMED_FILE_WRITE_BYTES);
    this.spare = this.stage;
    this.stage = free;
    this.staged = 0;
    // Failures are kept and rethrown by `settle`: a rejected promise nobody awaits would end the process.
    this.inFlight = writeAllAsync(this.fd, bytes, position).then(
      () => {
        this.written = position + bytes.length;
        this.pace();
      },
      (e: unknown) => {
        this.failure = e;
      },
    );
  }

  /** Waits for the write in flight; throws its failure. */
  private async settle(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
    if (this.failure !== undefined) {
      const cause = this.failure;
      throw writeError(`Cannot write ${this.what} at "${this.path}" (at byte ${this.written})`, cause);
    }
  }

  /**
   * Starts writeback of what was written since the last call and drops what is older than the
   * window. Both calls are advice: if the filesystem refuses them, pacing stops for this file and
   * the final fsync (which reports any real I/O error) does all the work.
   */
  private pace(): void {
    if (!this.pacing || this.written - this.startedTo < WRITEBACK_STEP_BYTES) return;
    try {
      startWriteback(this.fd, this.startedTo, this.written - this.startedTo, this.what);
      this.startedTo = this.written;
      if (this.startedTo - this.droppedTo > WRITEBACK_DIRTY_BYTES_MAX) {
        // Keep the newest step in flight; wait for and drop what is older.
        const upto = this.startedTo - WRITEBACK_STEP_BYTES;
        writebackAndDrop(this.fd, this.droppedTo, upto - this.droppedTo, this.what);
        this.droppedTo = upto;
      }
    } catch {
      this.pacing = false;
    }
  }

  private writeAllSync(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
  }
}

/** fsyncs a directory, so that names created or renamed in it survive a crash (a `log_write` error otherwise). */
export function fsyncDirectory(dir: string): void {
  fsyncDirectoryOr(dir, writeError);
}

/** Renames `from` to `to` and fsyncs `dir`, the directory holding both. */
export function renameDurably(from: string, to: string, dir: string): void {
  try {
    renameSync(from, to);
  } catch (cause) {
    throw writeError(`Cannot rename "${from}" to "${to}"`, cause);
  }
  fsyncDirectory(dir);
}

function writeError(subject: string, cause: unknown): LogError {
  if (cause instanceof LogError) return cause;
  const code = (cause as { code?: string } | null)?.code;
  const hint =
    code === "ENOSPC"
      ? "The disk under the pier is full: free space, then start again"
      : code === "EACCES" || code === "EPERM"
        ? "Check the pier's permissions: mars must own it"
        : "Check `dmesg` and the disk under the pier, then start again";
  return new LogError(LogErrorCode.write, `${subject}: ${(cause as Error)?.message ?? String(cause)}. ${hint}`, { cause });
}
