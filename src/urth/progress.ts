/**
 * Progress of a large commit on stderr: a bar (cli-progress) on a terminal, plain lines
 * otherwise, nothing for commits below PROGRESS_BYTES_MIN. The phases are the plea's or the
 * pipe's (asking mars for a segment, filling it / sending the frame) and then waiting for mars
 * to make the event durable.
 */
import { Presets, SingleBar } from "cli-progress";
import type { CommitOptions } from "./commit.ts";
import { formatBytes } from "./format.ts";

/** Commits carrying fewer bytes than this show no progress: 64 MiB. */
export const PROGRESS_BYTES_MIN = 64 * 1024 * 1024;

export type Progress = NonNullable<CommitOptions["onProgress"]>;

export function commitProgress(stream: NodeJS.WriteStream = process.stderr): { onProgress: Progress; done: () => void } {
  let bar: SingleBar | undefined;
  let shown = false;
  let last: string | undefined;
  const onProgress: Progress = (p) => {
    if (p.plan.bytes < PROGRESS_BYTES_MIN) return;
    const total = p.plan.bytes;
    const what = p.phase === "asking" ? "asking mars for a segment" : p.phase === "filling" ? "filling the segment" : p.phase === "sending" ? "sending through the pipe" : "waiting until durable";
    if (!stream.isTTY) {
      // Plain lines: one per phase, not one per chunk.
      if (p.phase !== last) stream.write(`commit: ${formatBytes(total)} via ${p.path}: ${what}\n`);
      last = p.phase;
      return;
    }
    if (!bar) {
      bar = new SingleBar({ stream, format: "{bar} {percentage}% | {done}/{size} | {what}", hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
      bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total), what });
      shown = true;
    }
    const value = p.phase === "sent" ? total : Math.min(total, p.done ?? 0);
    bar.update(value, { done: formatBytes(value), what });
    // The plea fill runs synchronously (no timer can fire): draw now, at most every 64 MiB read.
    // The pipe send is asynchronous, so cli-progress's own throttled redraw is enough.
    if (p.phase !== "sending") bar.render();
  };
  return {
    onProgress,
    done: () => {
      if (shown) bar?.stop();
    },
  };
}
