/** bench/pier.ts's tables (markdown), from its results. */
import { readFileSync } from "node:fs";
import { formatBytes, formatMs, formatRatio } from "./format.ts";
import type { PierBenchResults, PierTarget, UrthResults } from "./pier-results.ts";
import { formatSummary } from "./stats.ts";
import { markdownTable } from "./table.ts";

const dash = "-";

function value(unit: PierTarget["unit"], v: number | undefined): string {
  if (v === undefined) return dash;
  return unit === "ms" ? formatMs(v) : formatBytes(v);
}

/** `bench@90178f9` or the entry point's path. */
export function urthName(run: UrthResults): string {
  return `${run.role}${run.revision ? ` (${run.revision})` : ""}`;
}

export function targetsTable(targets: readonly PierTarget[], baselineName: string): string {
  const rows = targets.map((t) => [
    t.target,
    t.verdict,
    value(t.unit, t.figure),
    value(t.unit, t.limit),
    t.detail || dash,
    t.baseline === undefined ? dash : `${value(t.unit, t.baseline)}${t.baselineSource === "issue 13's table" ? " (issue 13's table)" : ""}`,
    t.ratioToBaseline === undefined ? dash : formatRatio(t.ratioToBaseline),
  ]);
  return markdownTable(["target", "verdict", "figure", "limit", "against", baselineName, "figure / baseline"], rows, ["left", "left"]);
}

export function idleTable(runs: readonly UrthResults[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    for (const p of [...run.idle, ...(run.many ? [run.many] : [])]) {
      const what = [urthName(run), p.label, p.files === undefined ? dash : p.files.toLocaleString("en"), p.committedBytes === undefined ? dash : formatBytes(p.committedBytes), p.urbBytes === undefined ? dash : formatBytes(p.urbBytes)];
      if (p.error !== undefined && p.commands.length === 0) rows.push([...what, "all", `failed: ${p.error.split("\n")[0]}`, dash, dash, dash]);
      for (const c of p.commands) {
        rows.push([
          ...what,
          [c.command, ...c.args].join(" "),
          `${formatSummary(c.wall, formatMs)}${c.failures.length ? ` (+${c.failures.length} failed)` : ""}`,
          c.pollsMin === 0 ? dash : formatBytes(c.pssAnonPeak),
          c.pollsMin === 0 ? dash : `${formatBytes(c.rssAnonPeak)} / ${formatBytes(c.hwm)}`,
          `${c.pollsMin} / ${formatMs(c.pollGapMaxMs)}`,
        ]);
      }
      if (p.verify !== undefined) {
        rows.push([...what, "verify", `${formatMs(p.verify.wallMs)}${p.verify.code === 0 ? "" : ` (status ${p.verify.code})`}`, formatBytes(p.verify.pssAnonPeak), dash, dash]);
      }
    }
  }
  return markdownTable(["urth", "pier", "files", "committed", ".urb", "command", "wall: median (min-max)", "mars peak Pss_Anon", "mars peak RssAnon / VmHWM", "polls (fewest) / max gap"], rows, ["left", "left", "right", "right", "right", "left"]);
}

export function commitsTable(runs: readonly UrthResults[]): string {
  const rows = runs.flatMap((run) =>
    run.commits.map((c) => [urthName(run), c.pier, c.what, c.json.path, formatBytes(c.json.bytes), formatMs(c.json.ms), formatMs(c.wallMs), formatBytes(c.marsPssAnonPeak)]),
  );
  return markdownTable(["urth", "pier", "commit of", "path", "bytes", "scan to durable", "wall", "mars peak Pss_Anon"], rows, ["left", "left", "left", "left"]);
}

/** Every phase urth reported for a commit, `scanMs 0.5 ms, ...`. */
function phases(p: Record<string, number> | undefined): string {
  if (p === undefined) return dash;
  return Object.entries(p).map(([k, v]) => `${k.replace(/Ms$/, "")} ${formatMs(v)}`).join(", ") || dash;
}

export function recommitsTable(runs: readonly UrthResults[]): string {
  const rows = runs.flatMap((run) =>
    run.recommits.map((r) => [
      urthName(run),
      `${r.kind} ${r.file}`,
      r.error !== undefined ? `failed: ${r.error.split("\n")[0]}` : r.json === undefined ? dash : `${r.json.path}, ${formatBytes(r.json.bytes)}`,
      r.json === undefined ? dash : formatMs(r.json.ms),
      r.firstMs === undefined ? dash : formatMs(r.firstMs),
      r.wallMs === undefined ? dash : formatMs(r.wallMs),
      r.firstWallMs === undefined ? dash : formatMs(r.firstWallMs),
      r.growthBytes === undefined ? dash : formatBytes(r.growthBytes),
      phases(r.json?.phases),
    ]),
  );
  return markdownTable(["urth", "re-commit", "sent", "scan to durable", "first commit", "wall", "first wall", ".urb growth", "phases"], rows, ["left", "left", "left"]);
}

export function snapshotTable(runs: readonly UrthResults[]): string {
  const rows = runs
    .filter((run) => run.snapshot !== undefined)
    .map((run) => {
      const s = run.snapshot!;
      return [
        urthName(run),
        String(s.bigFiles),
        s.files === undefined ? dash : s.files.toLocaleString("en"),
        s.name ?? (s.error ? `none: ${s.error.split("\n")[0]}` : dash),
        s.bytes === undefined ? dash : formatBytes(s.bytes),
        s.via === undefined ? dash : s.via === "save" ? `%sync %save (${s.saveWallMs === undefined ? "?" : formatMs(s.saveWallMs)})` : "mars's exit",
      ];
    });
  return markdownTable(["urth", "big files", "files", "snapshot", "size", "written at"], rows, ["left", "right", "right", "left"]);
}

export function renderPierMarkdown(results: PierBenchResults): string {
  const baseline = results.runs.find((r) => r.role === "baseline");
  const out = [
    `# urth on idle piers, re-commits and snapshots (issue 13), ${results.date}`,
    "",
    `\`${results.command}\``,
    "",
    `Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${formatBytes(results.machine.memTotalBytes)}, Linux ${results.machine.kernel}, Bun ${results.machine.bun}.`,
    `urth: ${results.runs.map((r) => `${urthName(r)} = ${r.urthMain}`).join("; ")}.`,
    "",
    "## Targets",
    "",
    targetsTable(results.targets, baseline ? urthName(baseline) : "baseline"),
    "",
    "## Idle piers: read-only commands",
    "",
    idleTable(results.runs),
    "",
    "## Commits that built the piers",
    "",
    commitsTable(results.runs),
  ];
  if (results.runs.some((r) => r.recommits.length > 0)) out.push("", "## Byte-identical re-commits", "", recommitsTable(results.runs));
  if (results.runs.some((r) => r.snapshot !== undefined)) out.push("", "## Snapshot", "", snapshotTable(results.runs));
  const errors = results.runs.flatMap((r) => r.errors.map((e) => `${urthName(r)}: ${e}`));
  if (errors.length) out.push("", "## Errors", "", ...errors.map((e) => `- ${e.split("\n").join("\n  ")}`));
  if (results.notes.length) out.push("", "## Notes", "", ...results.notes.map((n) => `- ${n}`));
  return `${out.join("\n")}\n`;
}

export function loadPierResults(file: string): PierBenchResults {
  return JSON.parse(readFileSync(file, "utf8")) as PierBenchResults;
}
