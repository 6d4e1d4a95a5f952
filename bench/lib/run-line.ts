/**
 * `urth run`'s one line per commit on stdout (docs/urth.md, "Output"), read back by a benchmark:
 *
 *   event 4: 2 added, 1 changed, 0 deleted, 2.00 GiB via plea in 3.21 s
 *   nothing to commit
 *
 * The time is urth's own figure, from the scan to the durable acknowledgement (formatMs in
 * src/urth/format.ts: whole milliseconds under a second, hundredths of a second above).
 */

export type RunLine = { kind: "commit"; eve: number; added: number; changed: number; deleted: number; path: string; ms: number } | { kind: "nothing" };

const COMMIT_LINE = /^event (\d+): (\d+) added, (\d+) changed, (\d+) deleted, .+ via (\w+) in (\d+(?:\.\d+)?) (ms|s)$/;

/** The commit a line of `urth run`'s stdout reports, or undefined for any other line. */
export function parseRunLine(line: string): RunLine | undefined {
  const text = line.trim();
  if (text === "nothing to commit") return { kind: "nothing" };
  const m = COMMIT_LINE.exec(text);
  if (!m) return undefined;
  const value = Number(m[6]);
  return {
    kind: "commit",
    eve: Number(m[1]),
    added: Number(m[2]),
    changed: Number(m[3]),
    deleted: Number(m[4]),
    path: m[5],
    ms: m[7] === "s" ? value * 1000 : value,
  };
}
