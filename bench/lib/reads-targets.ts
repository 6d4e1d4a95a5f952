/**
 * Issue 16's targets for reads beside a commit, judged from bench/reads.ts's results. Latencies
 * are nearest-rank percentiles of the requests issued in flight (reads-results.ts); the commit's
 * slow-down compares medians of interleaved rounds with and without readers.
 */
import { formatBytes, formatMs, formatRatio, gbPerS } from "./format.ts";
import { summarize } from "./stats.ts";
import type { CatBigResult, ReadsCaseResult } from "./reads-results.ts";
import type { TargetResult } from "./targets.ts";

/** A read in flight: p50 at most this... */
export const READ_P50_MS_MAX = 2;
/** ...p99 at most this... */
export const READ_P99_MS_MAX = 20;
/** ...and each at most this times the same figure on the idle holder. */
export const READ_VS_IDLE_MAX = 2;
/** Requests of each kind wanted in flight per case. */
export const READS_IN_FLIGHT_WANTED = 200;
/** `cat` of a large file during a commit: at least this times `cat` of the file holding its bytes. */
export const CAT_VS_REFERENCE_MIN = 0.7;
/** Readers may slow the commit by at most this (median with readers / median without, minus 1). */
export const COMMIT_SLOWDOWN_MAX = 0.15;
/** Interleaved rounds of each kind the slow-down is judged on, at least. */
export const COMMIT_ROUNDS_MIN = 5;

export function evaluateReadsTargets(cases: readonly ReadsCaseResult[], catBig: CatBigResult | undefined): TargetResult[] {
  const out: TargetResult[] = [];
  for (const c of cases) {
    for (const o of c.ops) {
      const target = `${c.label}, ${c.path}: \`${o.op}\` in flight p50 <= ${READ_P50_MS_MAX} ms, p99 <= ${READ_P99_MS_MAX} ms, each <= ${READ_VS_IDLE_MAX}x idle`;
      const d = o.inFlight;
      const i = o.idle;
      if (d === undefined || i === undefined) {
        out.push({ target, verdict: c.error ? "missed" : "not measured", detail: c.error ?? (d === undefined ? "no request landed in flight" : "no idle request") });
        continue;
      }
      const ok = d.p50 <= READ_P50_MS_MAX && d.p99 <= READ_P99_MS_MAX && d.p50 <= READ_VS_IDLE_MAX * i.p50 && d.p99 <= READ_VS_IDLE_MAX * i.p99;
      const few = d.n < READS_IN_FLIGHT_WANTED ? `; only ${d.n} of the ${READS_IN_FLIGHT_WANTED} wanted landed in flight` : "";
      const failed = o.failures > 0 ? `; ${o.failures} failed` : "";
      out.push({
        target,
        verdict: ok && o.failures === 0 ? "met" : "missed",
        detail: `p50 ${formatMs(d.p50)} (idle ${formatMs(i.p50)}, ${formatRatio(d.p50 / i.p50)}), p99 ${formatMs(d.p99)} (idle ${formatMs(i.p99)}, ${formatRatio(d.p99 / i.p99)}); ${d.n} in flight${few}${failed}`,
      });
    }
    {
      const target = `${c.label}, ${c.path}: readers slow the commit by <= ${Math.round(COMMIT_SLOWDOWN_MAX * 100)}% (median of >= ${COMMIT_ROUNDS_MIN} interleaved rounds each)`;
      const w = c.commitWith;
      const wo = c.commitWithout;
      if (w === undefined || wo === undefined) out.push({ target, verdict: c.error ? "missed" : "not measured", detail: c.error ?? "no round finished with and without readers" });
      else {
        const r = w.median / wo.median;
        const few = Math.min(w.n, wo.n) < COMMIT_ROUNDS_MIN ? `; only ${Math.min(w.n, wo.n)} rounds (--runs)` : "";
        out.push({
          target,
          verdict: r <= 1 + COMMIT_SLOWDOWN_MAX && few === "" ? "met" : r <= 1 + COMMIT_SLOWDOWN_MAX ? "not measured" : "missed",
          detail: `with ${formatMs(w.median)} (${formatMs(w.min)}-${formatMs(w.max)}), without ${formatMs(wo.median)} (${formatMs(wo.min)}-${formatMs(wo.max)}) = ${formatRatio(r)}${few}`,
        });
      }
    }
  }
  if (catBig !== undefined) {
    const label = formatBytes(catBig.fileBytes);
    const target = `\`cat\` of a ${label} file through the socket during a ${label} commit (${catBig.path}): >= ${CAT_VS_REFERENCE_MIN}x \`cat\` of its ${catBig.reference === "blob" ? "blob file" : "source file"}`;
    const during = summarize(catBig.runs.map((r) => r.socketDuringMs));
    const ref = summarize(catBig.runs.map((r) => r.referenceMs));
    if (during === undefined || ref === undefined) out.push({ target, verdict: catBig.failures.length ? "missed" : "not measured", detail: catBig.failures[0] ?? "no run finished" });
    else {
      const a = gbPerS(catBig.fileBytes, during.median);
      const b = gbPerS(catBig.fileBytes, ref.median);
      const pipe = catBig.runs.every((r) => r.referencePipeMs !== undefined) ? summarize(catBig.runs.map((r) => r.referencePipeMs!)) : undefined;
      const c = pipe === undefined ? undefined : gbPerS(catBig.fileBytes, pipe.median);
      const beside = c === undefined ? "" : `; against \`cat | cat\` ${c.toFixed(2)} GB/s = ${formatRatio(a / c)}`;
      out.push({ target, verdict: a >= CAT_VS_REFERENCE_MIN * b ? "met" : "missed", detail: `${a.toFixed(2)} GB/s against ${b.toFixed(2)} GB/s = ${formatRatio(a / b)}${beside} (medians of ${during.n})` });
    }
  }
  return out;
}
