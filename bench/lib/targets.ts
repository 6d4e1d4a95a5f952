/**
 * Issue 8's and issue 15's targets, judged from one run's results. Memory targets use the worst run (a peak must
 * hold every time); time targets use medians.
 */
import type { CommitPath } from "./commit-run.ts";
import { formatBytes, formatMs, formatRatio, GIB } from "./format.ts";
import type { BaselineResult, CaseKind, CaseResult } from "./results.ts";

export type Verdict = "met" | "missed" | "not measured";

export interface TargetResult {
  target: string;
  verdict: Verdict;
  detail: string;
}

/** 2 GiB through plea: combined peak at most this times the payload. */
export const PLEA_PEAK_RATIO_MAX = 1.25;
/** Plea delivery at most this times a bare write into a fresh segment. */
export const PLEA_DELIVERY_VS_FRESH_MAX = 1.5;
/** At 1 GiB, pipe delivery at least this times plea delivery. */
export const PLEA_SPEEDUP_MIN = 2;
/** 2 GiB through the pipe: combined peak at most this times the payload. */
export const PIPE_PEAK_RATIO_MAX = 4;
/** A 1 or 2 GiB file, by the operator's default path: scan to durable at most this times `dd conv=fdatasync` (issue 15). */
export const STAGE_VS_DD_MAX = 1.2;
/** The many-files target is about this many files of 1 KiB in one commit. */
export const MANY_FILES_COUNT = 100_000;
/** 100,000 small files in one commit, scan to durable, at most this through plea (issue 15)... */
export const MANY_FILES_PLEA_MS_MAX = 2500;
/** ...and this through the pipe. */
export const MANY_FILES_PIPE_MS_MAX = 3000;

function find(cases: readonly CaseResult[], kind: CaseKind, path: CommitPath, size?: number): CaseResult | undefined {
  return cases.find((c) => c.kind === kind && c.path === path && (size === undefined || c.payloadBytes === size));
}

/** Why a case does not count as completed: "2 of 4 runs failed: <first line of the first error>". */
function failed(c: CaseResult | undefined): string | undefined {
  if (c === undefined) return undefined;
  if (c.error !== undefined) {
    const total = c.failures.length + c.runs.length;
    return `${c.failures.length} of ${total} runs failed: ${c.error.split("\n")[0]}`;
  }
  return c.runs.length === 0 ? "no run finished" : undefined;
}

export function evaluateTargets(cases: readonly CaseResult[], baselines: readonly BaselineResult[]): TargetResult[] {
  const out: TargetResult[] = [];
  const two = 2 * GIB;

  {
    const target = `2 GiB through plea: combined peak <= ${PLEA_PEAK_RATIO_MAX}x the payload`;
    const c = find(cases, "single", "plea", two);
    const peak = c?.summary.combinedPeak?.max;
    if (!c) out.push({ target, verdict: "not measured", detail: "2 GiB plea was not run (--sizes)" });
    else if (peak === undefined) out.push({ target, verdict: "missed", detail: failed(c) ?? "no peak measured" });
    else out.push({ target, verdict: peak <= PLEA_PEAK_RATIO_MAX * two ? "met" : "missed", detail: `worst run ${formatBytes(peak)} = ${formatRatio(peak / two)}` });
  }

  for (const c of cases.filter((x) => x.kind === "single" && x.path === "plea" && x.payloadBytes >= GIB)) {
    const target = `${c.label}: plea delivery <= ${PLEA_DELIVERY_VS_FRESH_MAX}x a bare write into a fresh segment`;
    const b = baselines.find((x) => x.size === c.payloadBytes)?.freshTotalMs?.median;
    const d = c.summary.deliveryMs?.median;
    if (d === undefined || b === undefined) {
      out.push({ target, verdict: failed(c) ? "missed" : "not measured", detail: failed(c) ?? (d === undefined ? "urth reported no deliveryMs" : "no fresh-segment baseline") });
    } else {
      out.push({ target, verdict: d <= PLEA_DELIVERY_VS_FRESH_MAX * b ? "met" : "missed", detail: `${formatMs(d)} against ${formatMs(b)} = ${formatRatio(d / b)}` });
    }
  }
  if (!cases.some((x) => x.kind === "single" && x.path === "plea" && x.payloadBytes >= GIB)) {
    out.push({ target: `plea delivery <= ${PLEA_DELIVERY_VS_FRESH_MAX}x a bare write into a fresh segment (sizes >= 1 GiB)`, verdict: "not measured", detail: "no plea size of 1 GiB or more was run" });
  }

  {
    const target = `1 GiB: plea delivery >= ${PLEA_SPEEDUP_MIN}x faster than pipe delivery`;
    const plea = find(cases, "single", "plea", GIB);
    const pipe = find(cases, "single", "pipe", GIB);
    const p = plea?.summary.deliveryMs?.median;
    const q = pipe?.summary.deliveryMs?.median;
    if (!plea || !pipe) out.push({ target, verdict: "not measured", detail: "1 GiB was not run on both paths" });
    else if (p === undefined || q === undefined) out.push({ target, verdict: "missed", detail: failed(plea) ?? failed(pipe) ?? "urth reported no deliveryMs" });
    else out.push({ target, verdict: q >= PLEA_SPEEDUP_MIN * p ? "met" : "missed", detail: `pipe ${formatMs(q)} / plea ${formatMs(p)} = ${formatRatio(q / p)}` });
  }

  {
    const target = `2 GiB through the pipe completes, combined peak <= ${PIPE_PEAK_RATIO_MAX}x the payload`;
    const c = find(cases, "single", "pipe", two);
    const peak = c?.summary.combinedPeak?.max;
    if (!c) out.push({ target, verdict: "not measured", detail: "2 GiB pipe was not run (--sizes, --paths)" });
    else if (failed(c) || peak === undefined) out.push({ target, verdict: "missed", detail: failed(c) ?? "no peak measured" });
    else out.push({ target, verdict: peak <= PIPE_PEAK_RATIO_MAX * two ? "met" : "missed", detail: `${c.runs.length} runs completed; worst peak ${formatBytes(peak)} = ${formatRatio(peak / two)}` });
  }

  {
    const target = `${MANY_FILES_COUNT.toLocaleString("en")} small files in one commit: plea <= ${MANY_FILES_PLEA_MS_MAX / 1000} s, pipe <= ${MANY_FILES_PIPE_MS_MAX / 1000} s`;
    const plea = find(cases, "many", "plea");
    const pipe = find(cases, "many", "pipe");
    const p = plea?.summary.commitMs?.median;
    const q = pipe?.summary.commitMs?.median;
    if (!plea || !pipe) out.push({ target, verdict: "not measured", detail: "the many-files case was not run on both paths" });
    else if (plea.files !== MANY_FILES_COUNT) out.push({ target, verdict: "not measured", detail: `the many-files case committed ${plea.files.toLocaleString("en")} files (--many-files)` });
    else if (p === undefined || q === undefined) out.push({ target, verdict: "missed", detail: failed(plea) ?? failed(pipe) ?? "no commit time" });
    else {
      const ok = p <= MANY_FILES_PLEA_MS_MAX && q <= MANY_FILES_PIPE_MS_MAX;
      out.push({ target, verdict: ok ? "met" : "missed", detail: `plea ${formatMs(p)}, pipe ${formatMs(q)}` });
    }
  }

  for (const size of [GIB, two]) {
    const label = formatBytes(size);
    const target = `${label} by the default path (staged): scan to durable <= ${STAGE_VS_DD_MAX}x \`dd conv=fdatasync\` of the same bytes`;
    const c = find(cases, "single", "stage", size);
    const t = c?.summary.commitMs?.median;
    const dd = baselines.find((x) => x.size === size)?.ddMs?.median;
    if (!c) out.push({ target, verdict: "not measured", detail: `${label} was not run on the stage path (--sizes, --paths)` });
    else if (t === undefined || dd === undefined) out.push({ target, verdict: failed(c) ? "missed" : "not measured", detail: failed(c) ?? (t === undefined ? "no commit time" : "no dd baseline (--no-baselines)") });
    else out.push({ target, verdict: t <= STAGE_VS_DD_MAX * dd ? "met" : "missed", detail: `${formatMs(t)} against ${formatMs(dd)} = ${formatRatio(t / dd)}` });
  }
  return out;
}
