/**
 * A pipe that can no longer carry frames: the peer closed it or died (EPIPE), reading failed,
 * our side closed it, or an earlier send broke the stream mid-frame. Every write and flush
 * promise of a FrameWriter is caught and turned into this error, because one unhandled EPIPE
 * rejection exits a Bun process (docs/platform.md).
 */
import { PleaError } from "../error.ts";

export const PipeClosedCode = {
  /** A write or flush failed: the reading end is gone (EPIPE, the child died). */
  peerClosed: "pipe_peer_closed",
  /** Reading the pipe failed (the stream errored rather than ending). */
  readFailed: "pipe_read_failed",
  /** `close()` was called on this side before the send. */
  closed: "pipe_closed",
  /** An earlier send stopped inside a frame, so no further frame can be delimited. */
  broken: "pipe_broken",
} as const;

export type PipeClosedCode = (typeof PipeClosedCode)[keyof typeof PipeClosedCode];

export class PipeClosed extends PleaError {
  declare readonly code: PipeClosedCode;
  constructor(code: PipeClosedCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
