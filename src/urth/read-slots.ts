/**
 * The reading loop of small-reads.ts, shared by urth's thread and the worker
 * (small-reads-worker.ts), which imports only this: no FFI to load in the worker.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** What the worker is sent: the files it reads and where their slots are. */
export interface ReadJob {
  paths: string[];
  /** Slot offset and capacity of each path, in `buffer`. */
  offsets: Float64Array;
  capacities: Float64Array;
  buffer: SharedArrayBuffer;
}

/** What the worker answers: bytes read per file, -1 where `errors` has the message. */
export interface ReadAnswer {
  lengths: Float64Array;
  errors: Record<number, string>;
}

/**
 * Reads each path into its slot: open, read until the slot is full or the file ends, close.
 * Shared by both threads.
 */
export function readIntoSlots(job: ReadJob): ReadAnswer {
  const target = new Uint8Array(job.buffer);
  const lengths = new Float64Array(job.paths.length);
  const errors: Record<number, string> = {};
  for (let i = 0; i < job.paths.length; i++) {
    const at = job.offsets[i];
    const capacity = job.capacities[i];
    let fd: number | undefined;
    try {
      fd = openSync(job.paths[i], "r");
      // A short read of a regular file is its end: no second read to see 0 (one system call in
      // three per file).
      let done = 0;
      for (;;) {
        const want = capacity - done;
        const n = readSync(fd, target, at + done, want, null);
        done += n;
        if (n < want || done === capacity) break;
      }
      lengths[i] = done;
    } catch (e) {
      lengths[i] = -1;
      errors[i] = (e as Error).message;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return { lengths, errors };
}

