/**
 * urth's side of the plea protocol (docs/plea.md, "urth's side"): which path an event takes, and
 * what urth does with mars's reply to `%plea`. The writ FIFO and the pipes live in
 * src/urth/mars-process.ts, which calls these at the matching moments.
 *
 *   asking --[%plea nam len]--> filling --writeShm ok--> poke (send %done)
 *          |                            --fill fails--> rejected (send %drop)
 *          --[%plea %fail goof]--> poke through the pipe, if the task fits a newt frame
 *                                  rejected (PleaRefused), if it does not
 *
 * urth only maps a segment mars made, fills it and unmaps it before `%done`: it never creates,
 * truncates or unlinks one.
 */
import { PleaError } from "../error.ts";
import { isValidSegmentName, openSegment } from "../ffi/index.ts";
import { NEWT_BODY_BYTES_MAX } from "../ipc/newt.ts";
import { shmSize, writeShm, type Noun } from "../noun/index.ts";

/** Events whose raw size reaches this go through shared memory (the seed's threshold). */
export const PLEA_THRESHOLD_BYTES_DEFAULT = 256 * 1024 * 1024;

export const PleaErrorCode = {
  refused: "plea_refused",
  badReply: "plea_bad_reply",
} as const;

/** mars could not make a segment and the event is too large for the pipe. */
export class PleaRefused extends PleaError {}

/** The path an event takes, and its raw size (`shmSize`: an upper bound with file-backed atoms). */
export type Route = { path: "pipe" | "plea"; size: number };

/**
 * The path for a task noun: plea when its raw size (an upper bound with file-backed atoms) is at
 * least `thresholdBytes`. The size pass reads no file.
 */
export function routeTask(task: Noun, thresholdBytes: number): Route {
  const size = shmSize(task);
  return { path: size >= thresholdBytes ? "plea" : "pipe", size };
}

/**
 * Checks mars's `[%plea nam len]` against what was asked: a `plea-` name (urth opens nothing
 * else) and at least the capacity asked for. Throws `PleaError` (plea_bad_reply).
 */
export function checkGrant(name: string, length: number, asked: number): void {
  if (!isValidSegmentName(name)) {
    throw new PleaError(PleaErrorCode.badReply, `mars named the segment "${name}", which is not a plea- segment name; refusing to open it.`);
  }
  if (length < asked) {
    throw new PleaError(PleaErrorCode.badReply, `mars granted a segment of ${length} bytes for an event of up to ${asked} bytes.`);
  }
}

/**
 * Writes the task into the segment mars named (file-backed atoms are read straight into it) and
 * unmaps it, whatever happens. Returns the bytes written.
 */
export function fillSegment(name: string, length: number, task: Noun, options: { dir?: string; onProgress?: (bytes: number) => void } = {}): number {
  const segment = openSegment(name, { mode: "write", length, dir: options.dir });
  try {
    return writeShm(task, segment, { onProgress: options.onProgress });
  } finally {
    segment.close();
  }
}

/**
 * After `[%plea %fail goof]`: whether the task may still go through the pipe. A newt frame holds
 * at most 2^32-1 bytes of jam; the raw size bounds the jam's size from above only loosely, so the
 * caller measures the jam when this is not decisive.
 */
export function refusal(reason: string, jamBytes: number): PleaRefused | undefined {
  if (jamBytes <= NEWT_BODY_BYTES_MAX) return undefined;
  return new PleaRefused(
    PleaErrorCode.refused,
    `mars could not make a shared-memory segment (${reason}) and the event's jam is ${jamBytes} bytes, more than a newt frame carries (${NEWT_BODY_BYTES_MAX}). Free space in /dev/shm (or raise its size) and commit again.`,
  );
}
