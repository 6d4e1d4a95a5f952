/** The benchmark's tables (markdown), target lines and chart, from its results. */
import { readFileSync } from "node:fs";
import { renderChart, type Panel, type Series } from "./chart-svg.ts";
import { SAMPLER_NICE } from "./commit-run.ts";
import { formatBytes, formatMs, formatRatio, formatTickMs, gbPerS } from "./format.ts";
import type { BaselineResult, BenchResults, CaseResult, GitBaselineResult, SamplerSummary } from "./results.ts";
import { formatSummary, ratio, summarize, type Summary } from "./stats.ts";
import { markdownTable } from "./table.ts";
import { evaluateTargets, type TargetResult } from "./targets.ts";

const PHASE_ORDER = ["scanMs", "buildMs", "stageCopyMs", "stageHashWaitMs", "stageSyncMs", "fillMs", "sendMs", "transferMs", "decodeMs", "deliveryMs", "applyMs", "persistMs"];

const med = (s: Summary | undefined) => s?.median;
const ms = (s: Summary | undefined) => formatSummary(s, formatMs);
const bytes = (s: Summary | undefined) => formatSummary(s, formatBytes);
const median = (s: Summary | undefined, f: (v: number) => string) => (s === undefined ? "-" : f(s.median));
const r = (v: number | undefined) => (v === undefined ? "-" : formatRatio(v));

function withRate(s: Summary | undefined, size: number): string {
  return s === undefined ? "-" : `${formatMs(s.median)} (${gbPerS(size, s.median).toFixed(2)} GB/s)`;
}

/** One row per case and path: times and peaks. */
export function commitsTable(cases: readonly CaseResult[]): string {
  const rows = cases.map((c) => {
    const s = c.summary;
    const peak = s.combinedPeak;
    return [
      c.label,
      c.path,
      c.runs.length === 0 ? "failed" : `${ms(s.commitMs)}${c.failures.length ? ` (+${c.failures.length} failed)` : ""}`,
      ms(s.deliveryMs),
      median(s.persistMs, formatMs),
      median(s.wallMs, formatMs),
      median(s.urthPssPeak, formatBytes),
      median(s.marsPssPeak, formatBytes),
      bytes(peak),
      `${median(s.combinedAPeak, formatBytes)} / ${median(s.combinedBPeak, formatBytes)}`,
      peak === undefined ? "-" : formatRatio(peak.median / c.payloadBytes),
    ];
  });
  return markdownTable(
    ["input", "path", "commit: scan to durable", "delivery", "persist", "process wall", "urth peak Pss", "mars peak Pss", "combined peak", "(a) / (b)", "peak / payload"],
    rows,
  );
}

/** Per size: plea against pipe, and plea against the physical baselines. */
export function ratiosTable(cases: readonly CaseResult[], baselines: readonly BaselineResult[]): string {
  const sizes = [...new Set(cases.filter((c) => c.kind !== "many").map((c) => c.payloadBytes))];
  const rows = sizes.map((size) => {
    const plea = cases.find((c) => c.kind !== "many" && c.payloadBytes === size && c.path === "plea");
    const pipe = cases.find((c) => c.kind !== "many" && c.payloadBytes === size && c.path === "pipe");
    const b = baselines.find((x) => x.size === size);
    return [
      plea?.label ?? pipe?.label ?? formatBytes(size),
      r(ratio(med(plea?.summary.commitMs), med(pipe?.summary.commitMs))),
      r(ratio(med(plea?.summary.deliveryMs), med(pipe?.summary.deliveryMs))),
      r(ratio(med(plea?.summary.combinedPeak), med(pipe?.summary.combinedPeak))),
      r(ratio(med(plea?.summary.deliveryMs), med(b?.memcpyMs))),
      r(ratio(med(plea?.summary.deliveryMs), med(b?.freshTotalMs))),
      r(ratio(med(pipe?.summary.deliveryMs), med(b?.freshTotalMs))),
      r(ratio(med(plea?.summary.persistMs), med(b?.ddMs))),
      r(ratio(med(pipe?.summary.persistMs), med(b?.ddMs))),
    ];
  });
  return markdownTable(
    ["size", "plea / pipe time", "plea / pipe delivery", "plea / pipe peak", "plea delivery / memcpy", "plea delivery / fresh segment", "pipe delivery / fresh segment", "plea persist / dd", "pipe persist / dd"],
    rows,
  );
}

export function baselinesTable(baselines: readonly BaselineResult[]): string {
  const rows = baselines.map((b) => [
    formatBytes(b.size),
    b.error ? `failed: ${b.error.split("\n")[0]}` : withRate(b.memcpyMs, b.size),
    withRate(b.freshTotalMs, b.size),
    b.freshCreateMs && b.freshWriteMs ? `${formatMs(b.freshCreateMs.median)} + ${formatMs(b.freshWriteMs.median)}` : "-",
    withRate(b.fileToSegmentMs, b.size),
    withRate(b.ddMs, b.size),
  ]);
  return markdownTable(["size", "memcpy", "bare write into a fresh segment", "(create + write)", "file read into a fresh segment", "dd conv=fdatasync"], rows);
}

/** Median of every phase urth reported, per case. */
export function phasesTable(cases: readonly CaseResult[]): string {
  const names = [...new Set(cases.flatMap((c) => Object.keys(c.summary.phases)))].sort((a, b) => {
    const [i, j] = [PHASE_ORDER.indexOf(a), PHASE_ORDER.indexOf(b)];
    return (i < 0 ? 99 : i) - (j < 0 ? 99 : j) || a.localeCompare(b);
  });
  const rows = cases.map((c) => [c.label, c.path, ...names.map((n) => (c.summary.phases[n] ? formatMs(c.summary.phases[n].median) : "-"))]);
  return markdownTable(["input", "path", ...names.map((n) => n.replace(/Ms$/, ""))], rows);
}

export function targetLines(targets: readonly TargetResult[]): string {
  return targets.map((t) => `- **${t.verdict}**: ${t.target} (${t.detail})`).join("\n");
}

const COLORS = { stage: "#17becf", plea: "#1f77b4", pipe: "#d62728", fresh: "#2ca02c", dd: "#7f7f7f", memcpy: "#9467bd", payload: "#555555", big: "#ff7f0e" };

function points(cases: readonly CaseResult[], pick: (c: CaseResult) => Summary | undefined) {
  return cases
    .map((c) => ({ c, s: pick(c) }))
    .filter((x) => x.s !== undefined)
    .map(({ c, s }) => ({ x: c.payloadBytes, y: s!.median, yMin: s!.min, yMax: s!.max }));
}

/** Time and combined peak against payload size, every path, log-log; baselines dashed. */
export function chartSvg(cases: readonly CaseResult[], baselines: readonly BaselineResult[], subtitle: string): string {
  const single = (path: string) => cases.filter((c) => c.kind === "single" && c.path === path);
  const big = cases.filter((c) => c.kind === "big");
  const base = (pick: (b: BaselineResult) => Summary | undefined) =>
    baselines.filter((b) => pick(b) !== undefined).map((b) => ({ x: b.size, y: pick(b)!.median }));
  const timeSeries: Series[] = [
    { label: "stage (the default): commit, scan to durable", color: COLORS.stage, points: points(single("stage"), (c) => c.summary.commitMs) },
    { label: "plea: commit, scan to durable", color: COLORS.plea, points: points(single("plea"), (c) => c.summary.commitMs) },
    { label: "pipe: commit, scan to durable", color: COLORS.pipe, points: points(single("pipe"), (c) => c.summary.commitMs) },
    { label: "plea: delivery (mars holds the event)", color: COLORS.plea, dotted: true, points: points(single("plea"), (c) => c.summary.deliveryMs) },
    { label: "pipe: delivery", color: COLORS.pipe, dotted: true, points: points(single("pipe"), (c) => c.summary.deliveryMs) },
    { label: "bare write into a fresh segment", color: COLORS.fresh, dashed: true, points: base((b) => b.freshTotalMs) },
    { label: "dd conv=fdatasync", color: COLORS.dd, dashed: true, points: base((b) => b.ddMs) },
  ];
  const sizes = [...new Set(cases.filter((c) => c.kind !== "many").map((c) => c.payloadBytes))].sort((a, b) => a - b);
  const peakSeries: Series[] = [
    { label: "stage: combined peak", color: COLORS.stage, points: points(single("stage"), (c) => c.summary.combinedPeak) },
    { label: "plea: combined peak", color: COLORS.plea, points: points(single("plea"), (c) => c.summary.combinedPeak) },
    { label: "pipe: combined peak", color: COLORS.pipe, points: points(single("pipe"), (c) => c.summary.combinedPeak) },
    { label: "1x payload", color: COLORS.payload, dashed: true, points: sizes.map((s) => ({ x: s, y: s })) },
    { label: "1.25x payload (plea target)", color: COLORS.plea, dashed: true, points: sizes.map((s) => ({ x: s, y: 1.25 * s })) },
    { label: "4x payload (pipe target)", color: COLORS.pipe, dashed: true, points: sizes.map((s) => ({ x: s, y: 4 * s })) },
  ];
  if (big.length > 0) {
    timeSeries.push({ label: "plea: two files in one commit (--big)", color: COLORS.big, points: points(big, (c) => c.summary.commitMs) });
    peakSeries.push({ label: "plea: two files in one commit (--big)", color: COLORS.big, points: points(big, (c) => c.summary.combinedPeak) });
  }
  const panels: Panel[] = [
    { title: "Time", xLabel: "payload (one file)", yLabel: "milliseconds", series: timeSeries, xBase: 2, yBase: 10, formatX: formatBytes, formatY: formatTickMs },
    { title: "Combined peak memory (urth + mars)", xLabel: "payload (one file)", yLabel: "bytes", series: peakSeries, xBase: 2, yBase: 2, formatX: formatBytes, formatY: formatBytes },
  ];
  return renderChart("urth commit: staged (the default), plea and pipe", subtitle, panels);
}

/** The sampler's cost and timeliness over every measured run. */
export function samplerSummary(cases: readonly CaseResult[]): SamplerSummary {
  const runs = cases.flatMap((c) => c.runs);
  return {
    samples: runs.reduce((s, r) => s + r.memory.samples, 0),
    sampleCostMeanMs: summarize(runs.map((r) => r.memory.sampleCostMeanMs)),
    sampleCostMaxMs: Math.max(0, ...runs.map((r) => r.memory.sampleCostMaxMs)),
    gapMaxMs: Math.max(0, ...runs.map((r) => r.memory.gapMaxMs)),
    gapP95Ms: summarize(runs.map((r) => r.memory.gapP95Ms)),
    samplerShare: summarize(runs.map((r) => r.memory.samplerShare)),
    rollups: runs.reduce((s, r) => s + r.memory.rollups, 0),
    rollupCostMaxMs: Math.max(0, ...runs.map((r) => r.memory.rollupCostMaxMs)),
    rollupShare: summarize(runs.map((r) => r.memory.rollupShare)),
    anonOutsideBracketMaxBytes: runs.some((r) => r.memory.anonOutsideBracketMaxBytes !== undefined)
      ? Math.max(0, ...runs.map((r) => r.memory.anonOutsideBracketMaxBytes ?? 0))
      : undefined,
    niceApplied: runs.length > 0 && runs.every((r) => r.samplerNiceApplied),
  };
}

export function samplerLine(s: SamplerSummary): string {
  const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
  return (
    `Sampler: ${s.samples} fast samples (status, maps, meminfo) at ${s.sampleCostMeanMs?.median.toFixed(2) ?? "-"} ms each ` +
    `(median of run means; max ${s.sampleCostMaxMs.toFixed(1)} ms), ${pct(s.samplerShare?.median)} of a core; ` +
    `gaps between samples: 95th percentile ${s.gapP95Ms?.median.toFixed(0) ?? "-"} ms (median of runs), largest ${s.gapMaxMs.toFixed(0)} ms. ` +
    `${s.rollups} smaps_rollup readings in a worker thread (slowest ${s.rollupCostMaxMs.toFixed(0)} ms, ${pct(s.rollupShare?.median)} of a core)` +
    (s.anonOutsideBracketMaxBytes === undefined ? "" : `; Pss_Anon fell outside the RssAnon read around it by at most ${formatBytes(s.anonOutsideBracketMaxBytes)}`) +
    `${s.niceApplied ? `; the sampling thread ran at nice ${SAMPLER_NICE}` : ""}.`
  );
}

/** How the figures are defined: printed under every table. */
export const DEFINITIONS = [
  "commit = urth's own figure, from the start of the scan to the durable acknowledgement; delivery = from the start of the commit to mars holding the decoded event, before it persists anything; persist = mars making it durable; process wall = spawning urth to its exit (adds Bun's and mars's start-up and shutdown).",
  "Peaks: combined = the larger, over time, of (a) urth Pss + mars Pss (/proc/PID/smaps_rollup) + plea-* objects of the run mapped by neither, and (b) urth and mars Pss_Anon + Pss_File + the machine's Shmem (/proc/meminfo) above its level before the run. (b) is taken every 40 ms (RssAnon standing in for Pss_Anon, see the sampler line) and also sees other processes' shared memory: where (b) is well above (a), another process was growing /dev/shm. (a) and the per-process Pss peaks are taken whenever a worker thread has read smaps_rollup.",
  "Ratios and targets use medians for times and the worst run for memory peaks.",
];

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const targets = evaluateTargets(r.cases, r.baselines);
  return [
    `${subtitleOf(r)}.`,
    ``,
    commitsTable(r.cases),
    ``,
    `Ratios:`,
    ``,
    ratiosTable(r.cases, r.baselines),
    ``,
    ...(r.baselines.length ? [`Baselines, measured in the same run:`, ``, baselinesTable(r.baselines), ``] : []),
    `Phases (medians of urth's JSON):`,
    ``,
    phasesTable(r.cases),
    ``,
    ...(r.git ? [gitLine(r.git), ``] : []),
    `Targets:`,
    ``,
    targetLines(targets),
    ``,
    ...r.cases.flatMap((c) => c.failures.map((f) => `Failure, ${c.label} ${c.path}: ${failureHeadline(f)} (full text in commit.json).`)),
    ...(r.cases.some((c) => c.failures.length) ? [``] : []),
    samplerLine(r.sampler),
    ``,
    ...[...DEFINITIONS, ...r.notes].map((n) => `- ${n}`),
    ``,
    `Command: \`${r.command}\` (${r.date}); machine: ${m.cpu}, ${m.cores} cores, ${formatBytes(m.memTotalBytes)}, /dev/shm ${formatBytes(m.shmTotalBytes)}.`,
  ].join("\n");
}

/** The many-files case's peer: git's add and commit of the same tree, and what git does not do. */
export function gitLine(g: GitBaselineResult): string {
  const what = `Peer baseline, ${g.files.toLocaleString("en")} files of 1 KiB`;
  if (g.error !== undefined) return `${what}: git failed: ${g.error}.`;
  const total = g.addMs && g.commitMs ? ` = ${formatMs(g.addMs.median + g.commitMs.median)}` : "";
  return (
    `${what}: \`git add -A\` ${g.addMs ? formatMs(g.addMs.median) : "-"} + \`git commit\` ${g.commitMs ? formatMs(g.commitMs.median) : "-"}${total} ` +
    `(medians; git's defaults, which do not fsync loose objects: not durable as a commit's figure is).`
  );
}

/** A failure in one line: its first line, and the first line that names an error, if another. */
export function failureHeadline(failure: string): string {
  const lines = failure.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const first = lines[0] ?? "";
  const error = lines.slice(1).find((l) => /\b\w*(Error|error)\b/.test(l) && !l.startsWith("at "));
  return error === undefined ? first : `${first} ${error}`;
}

function subtitleOf(r: BenchResults): string {
  const m = r.machine;
  return `${m.cores} cores, ${formatBytes(m.memTotalBytes)}, Linux ${m.kernel}, Bun ${m.bun}; median of ${r.options.runs} runs (bars: min-max); ${r.date.slice(0, 10)}`;
}

export function renderSvg(r: BenchResults): string {
  return chartSvg(r.cases, r.baselines, subtitleOf(r));
}

/**
 * Reads a results file. Results written before failures were counted per run carry only
 * `error`; it becomes the one failure.
 */
export function loadResults(file: string): BenchResults {
  const r = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
  for (const c of r.cases) c.failures ??= c.error === undefined ? [] : [c.error];
  r.sampler = samplerSummary(r.cases);
  return r;
}
