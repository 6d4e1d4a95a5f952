/**
 * How a poke goes through the pipe: jammed whole, or jammed in chunks straight into the pipe; a
 * poke whose large atoms are blobs of the pier's store goes as a `%bref` (docs/ipc.md, "Plea
 * extension: blob references").
 *
 * A whole jam is one buffer and one write per MiB; below PIPE_STREAM_BYTES_MIN of raw size that
 * is cheapest. Above it the jam would be held in memory next to the noun (file-backed atoms read
 * in full), so it is streamed: its length is measured first (a newt header carries it), then the
 * jam replays the measurement's plan into the pipe chunk by chunk (docs/ipc.md).
 */
import type { FrameWriter } from "../ipc/frame-writer.ts";
import { taskToNoun } from "../ipc/task.ts";
import { atomFromBytes, jam, type JamMeasure, type JamRef, type Noun } from "../noun/index.ts";
import type { BlobRef } from "../blob/index.ts";
import type { BlobRefOf } from "./blob-refs.ts";
import type { PokeProgress } from "./writ-queue.ts";

/** Tasks whose raw size is at least this are jammed in chunks into the pipe rather than whole. */
export const PIPE_STREAM_BYTES_MIN = 16 * 1024 * 1024;

/**
 * Sends `task` (raw size `size`, from its routing) through the pipe. `jam` is its jam's length
 * and plan when already measured (a plea refused by mars), so it is not measured again.
 * Rejects like `FrameWriter.send`/`sendStream`.
 */
export async function sendPokeByPipe(
  writer: FrameWriter,
  task: Noun,
  size: number,
  jam: JamMeasure | undefined,
  onProgress?: (p: PokeProgress) => void,
): Promise<void> {
  onProgress?.({ phase: "sending", path: "pipe" });
  if (size >= PIPE_STREAM_BYTES_MIN) {
    await writer.sendStream(task, jam, (done, bytes) => onProgress?.({ phase: "sending", path: "pipe", bytes, done }));
  } else {
    await writer.send(task);
  }
  // What went through the pipe: the jam's length when measured, else about the raw size.
  onProgress?.({ phase: "sent", path: "pipe", bytes: jam?.bytes ?? size });
}

/** A poke's `%bref`: the task noun to send, the length of the jam-with-refs inside it, and its references. */
export interface BrefPoke {
  readonly noun: Noun;
  readonly jamBytes: number;
  readonly refs: number;
}

/**
 * `[%plea %bref refs jam]` for the `[%poke mil ovum]` task `task`, whose atoms `refOf` names are
 * blobs: the jam-with-refs of the task (each such atom written as atom 0 and never read), wrapped
 * with its table of references. The jam is built whole: without the blobs' bytes it is as large as
 * the rest of the event, which the routing sent to the pipe because it is below the plea threshold.
 */
export function brefPoke(task: Noun, refOf: BlobRefOf): BrefPoke {
  const table: JamRef<BlobRef>[] = [];
  const bytes = jam(task, { refOf, table });
  const refs = table.map((r) => ({ bitOffset: r.bitOffset, name: r.ref.name, byteLength: r.ref.byteLength }));
  return { noun: taskToNoun({ type: "bref", refs, jam: atomFromBytes(bytes) }), jamBytes: bytes.length, refs: refs.length };
}
