/** Bits the commands share. */
import type { SegmentInfo } from "../../ffi/index.ts";
import { PleaError } from "../../error.ts";
import { UrthErrorCode } from "../errors.ts";
import { formatBytes } from "../format.ts";

/** Lines reporting segments an earlier urth or mars left behind and the sweep removed. */
export function sweptLines(swept: readonly SegmentInfo[]): string[] {
  return swept.map((s) => `removed orphaned segment ${s.name} (${formatBytes(s.bytes)}, its creator pid ${s.pid} ${s.creator === "pid-reused" ? "was reused" : "is gone"})`);
}

/**
 * The error `stdoutWriter` throws when the reader of our stdout went away (`urth cat BIG | head`): the
 * command stops, lets go of the pier (its mars exits, its segments are removed) and exits 0.
 */
export function outputClosed(): PleaError {
  return new PleaError(UrthErrorCode.output.closed, "The reader of standard output went away");
}

/**
 * Writes to stdout, resolving once written. FileSink reports EPIPE either by throwing or through
 * the promise `write`/`flush` return, so both are awaited inside the catch; either becomes
 * `output_closed`.
 */
export function stdoutWriter(): (chunk: Uint8Array | string) => Promise<void> {
  const out = Bun.stdout.writer();
  return async (chunk) => {
    try {
      await out.write(chunk);
      await out.flush();
    } catch (e) {
      if (isEpipe(e)) throw outputClosed();
      throw e;
    }
  };
}

export function isEpipe(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === "EPIPE";
}
