/** How urth prints sizes, durations and commit summaries for people. */
import type { CommitSummary } from "./commit.ts";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** One line per commit: `event 4: 2 added, 1 changed, 0 deleted, 2.00 GiB via plea in 3.21 s`. */
export function commitLine(s: CommitSummary): string {
  if (s.eve === undefined) return "nothing to commit";
  return `event ${s.eve}: ${s.added} added, ${s.changed} changed, ${s.deleted} deleted, ${formatBytes(s.bytes)} via ${s.path} in ${formatMs(s.ms)}`;
}

/** Lines reporting what the scan skipped, as vere skips them. */
export function skippedLines(s: CommitSummary): string[] {
  return s.skipped.map((k) => `skipped ${k.rel} (${k.reason})`);
}
