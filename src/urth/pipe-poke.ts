/**
 * How a poke goes through the pipe: jammed whole, or jammed in chunks straight into the pipe.
 *
 * A whole jam is one buffer and one write per MiB; below PIPE_STREAM_BYTES_MIN of raw size that
 * is cheapest. Above it the jam would be held in memory next to the noun (file-backed atoms read
 * in full), so it is streamed: its length is measured first (a newt header carries it), then the
 * jam replays the measurement's plan into the pipe chunk by chunk (docs/ipc.md).
 */
import type { FrameWriter } from "../ipc/frame-writer.ts";
import type { JamMeasure, Noun } from "../noun/index.ts";
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
  onProgress?.({ phase: "sent", path: "pipe" });
}
