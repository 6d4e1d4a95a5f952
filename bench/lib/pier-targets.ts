/**
 * Issue 13's targets, judged from bench/pier.ts's results: the candidate urth's figures against
 * their limits, each beside the baseline urth's figure from the same run (or, without one, the
 * figure issue 13's table gives for main, where it measured the same thing). Memory uses the
 * worst run (a peak must hold every time); times use medians.
 */
import { formatBytes, formatMs, formatRatio, GIB, KIB, MIB } from "./format.ts";
import { READ_COMMANDS, type IdleResult, type PierTarget, type PierVerdict, type ReadCommand, type RecommitKind, type UrthResults } from "./pier-results.ts";

/** A read-only command on a big idle pier: at most this times the same command on the small pier. */
export const IDLE_VS_SMALL_MAX = 1.5;
/** mars's peak Pss_Anon during a read-only command on a big idle pier: under this. */
export const MARS_ANON_PEAK_MAX_BYTES = 96 * MIB;
/** A byte-identical re-commit adds at most this to `.urb`... */
export const RECOMMIT_GROWTH_MAX_BYTES = MIB;
/** ...and takes at most this times the first commit's scan-to-durable time. */
export const RECOMMIT_VS_FIRST_MAX = 0.5;
/** A snapshot: at most this plus SNAPSHOT_FILE_BYTES per committed file. */
export const SNAPSHOT_BASE_BYTES_MAX = MIB;
export const SNAPSHOT_FILE_BYTES = KIB;

/**
 * What issue 13's table measured on main with two 1 GiB files committed: the fallback baseline
 * when no baseline urth ran, used only where a figure measures the same thing (files of 1 GiB,
 * two of them).
 */
export const ISSUE_MAIN_TWO_GIB = {
  status: { wallMs: 5000, pssAnonPeak: 2076 * MIB },
  cat: { wallMs: 6600, pssAnonPeak: 2076 * MIB },
  copy: { wallMs: 15_500, growthBytes: GIB },
} as const;

const RECOMMIT_WORDS: Record<RecommitKind, string> = {
  touch: "re-commit after touch",
  copy: "re-commit after a copy moved over it",
};

function idle(run: UrthResults | undefined, pier: string): IdleResult | undefined {
  return pier.startsWith("many-") ? run?.many : run?.idle.find((p) => p.pier === pier);
}

function commandOf(p: IdleResult | undefined, command: ReadCommand) {
  return p?.commands.find((c) => c.command === command);
}

function wallOf(p: IdleResult | undefined, command: ReadCommand): number | undefined {
  return commandOf(p, command)?.wall?.median;
}

/** The peak, or undefined when no run of the command read mars even once. */
function anonOf(p: IdleResult | undefined, command: ReadCommand): number | undefined {
  const c = commandOf(p, command);
  return c === undefined || c.pollsMin === 0 || c.wallMs.length === 0 ? undefined : c.pssAnonPeak;
}

/** Adds the baseline's figure and the ratio to it, when there is one. */
function withBaseline(t: PierTarget, baseline: number | undefined, source: PierTarget["baselineSource"]): PierTarget {
  if (baseline === undefined) return t;
  const out: PierTarget = { ...t, baseline, baselineSource: source };
  if (t.figure !== undefined && baseline > 0) out.ratioToBaseline = t.figure / baseline;
  return out;
}

/** The baseline figure: the baseline urth's, else issue 13's where it applies, else none. */
function pick(sameRun: number | undefined, haveBaselineRun: boolean, issue: number | undefined): [number | undefined, PierTarget["baselineSource"]] {
  if (haveBaselineRun) return [sameRun, sameRun === undefined ? undefined : "same run"];
  return [issue, issue === undefined ? undefined : "issue 13's table"];
}

/**
 * Why a figure is missing: a pier or a run that failed misses its target; a figure that was never
 * taken (mars exited before its first poll) is not measured.
 */
function absent(p: IdleResult | undefined, command: ReadCommand): { verdict: PierVerdict; detail: string } {
  if (p === undefined) return { verdict: "not measured", detail: "pier not measured" };
  if (p.error !== undefined) return { verdict: "missed", detail: `pier failed: ${p.error.split("\n")[0]}` };
  const c = commandOf(p, command);
  if (c?.failures.length) return { verdict: "missed", detail: `${c.failures.length} run(s) failed: ${c.failures[0].split("\n")[0]}` };
  return { verdict: "not measured", detail: "no figure taken" };
}

export function evaluatePierTargets(candidate: UrthResults, baseline: UrthResults | undefined, fileBytes: number): PierTarget[] {
  const out: PierTarget[] = [];
  const haveBaseline = baseline !== undefined;
  const small = idle(candidate, "small");
  const issueApplies = (bigFiles: number) => fileBytes === GIB && bigFiles === 2;

  for (const p of candidate.idle.filter((x) => x.bigFiles > 0)) {
    const b = idle(baseline, p.pier);
    for (const command of READ_COMMANDS) {
      const issue = issueApplies(p.bigFiles) && command !== "ls" ? ISSUE_MAIN_TWO_GIB[command] : undefined;
      {
        const figure = wallOf(p, command);
        const reference = wallOf(small, command);
        const target = `${p.label}: \`urth ${command}\` wall <= ${IDLE_VS_SMALL_MAX}x the small pier's`;
        let t: PierTarget;
        if (figure === undefined) t = { id: `${p.pier}-${command}-wall`, target, unit: "ms", ...absent(p, command) };
        else if (reference === undefined) t = { id: `${p.pier}-${command}-wall`, target, verdict: "not measured", unit: "ms", figure, detail: `no small-pier figure (${absent(small, command).detail})` };
        else {
          const limit = IDLE_VS_SMALL_MAX * reference;
          t = { id: `${p.pier}-${command}-wall`, target, verdict: figure <= limit ? "met" : "missed", unit: "ms", figure, limit, detail: `${formatRatio(figure / reference)} small (${formatMs(reference)})` };
        }
        out.push(withBaseline(t, ...pick(wallOf(b, command), haveBaseline, issue?.wallMs)));
      }
      {
        const figure = anonOf(p, command);
        const target = `${p.label}: mars's peak Pss_Anon during \`urth ${command}\` < ${formatBytes(MARS_ANON_PEAK_MAX_BYTES)}`;
        const t: PierTarget =
          figure === undefined
            ? { id: `${p.pier}-${command}-anon`, target, unit: "bytes", ...absent(p, command) }
            : { id: `${p.pier}-${command}-anon`, target, verdict: figure < MARS_ANON_PEAK_MAX_BYTES ? "met" : "missed", unit: "bytes", figure, limit: MARS_ANON_PEAK_MAX_BYTES, detail: `small pier: ${anonOf(small, command) === undefined ? "-" : formatBytes(anonOf(small, command)!)}` };
        out.push(withBaseline(t, ...pick(anonOf(b, command), haveBaseline, issue?.pssAnonPeak)));
      }
    }
  }

  for (const r of candidate.recommits) {
    const b = baseline?.recommits.find((x) => x.kind === r.kind);
    const words = `${RECOMMIT_WORDS[r.kind]} of a ${formatBytes(r.fileBytes)} file (${r.pierBigFiles} committed)`;
    const issue = r.kind === "copy" && issueApplies(r.pierBigFiles) ? ISSUE_MAIN_TWO_GIB.copy : undefined;
    const failed = r.error === undefined ? "no figure" : `failed: ${r.error.split("\n")[0]}`;
    {
      const target = `${words}: .urb grows <= ${formatBytes(RECOMMIT_GROWTH_MAX_BYTES)}`;
      const figure = r.growthBytes;
      const t: PierTarget =
        figure === undefined
          ? { id: `recommit-${r.kind}-growth`, target, verdict: "missed", unit: "bytes", detail: failed }
          : { id: `recommit-${r.kind}-growth`, target, verdict: figure <= RECOMMIT_GROWTH_MAX_BYTES ? "met" : "missed", unit: "bytes", figure, limit: RECOMMIT_GROWTH_MAX_BYTES, detail: `${formatRatio(figure / r.fileBytes)} the file` };
      out.push(withBaseline(t, ...pick(b?.growthBytes, haveBaseline, issue?.growthBytes)));
    }
    {
      const target = `${words}: scan to durable <= ${RECOMMIT_VS_FIRST_MAX}x the first commit's`;
      const figure = r.json?.ms;
      let t: PierTarget;
      if (figure === undefined) t = { id: `recommit-${r.kind}-ms`, target, verdict: "missed", unit: "ms", detail: failed };
      else if (r.firstMs === undefined) t = { id: `recommit-${r.kind}-ms`, target, verdict: "not measured", unit: "ms", figure, detail: "the first commit's figure is missing" };
      else {
        const limit = RECOMMIT_VS_FIRST_MAX * r.firstMs;
        t = { id: `recommit-${r.kind}-ms`, target, verdict: figure <= limit ? "met" : "missed", unit: "ms", figure, limit, detail: `${formatRatio(figure / r.firstMs)} the first (${formatMs(r.firstMs)})` };
      }
      out.push(withBaseline(t, ...pick(b?.json?.ms, haveBaseline, undefined)));
    }
    {
      const target = `${words}: wall, urth's and mars's start included`;
      const figure = r.wallMs;
      const t: PierTarget =
        figure === undefined
          ? { id: `recommit-${r.kind}-wall`, target, verdict: "missed", unit: "ms", detail: failed }
          : { id: `recommit-${r.kind}-wall`, target, verdict: "reported", unit: "ms", figure, detail: r.firstWallMs === undefined ? "" : `${formatRatio(figure / r.firstWallMs)} the first (${formatMs(r.firstWallMs)})` };
      out.push(withBaseline(t, ...pick(b?.wallMs, haveBaseline, issue?.wallMs)));
    }
  }

  {
    const s = candidate.snapshot;
    const b = baseline?.snapshot;
    if (s !== undefined) {
      const target = `snapshot at ${s.bigFiles} x ${formatBytes(fileBytes)} committed <= ${formatBytes(SNAPSHOT_BASE_BYTES_MAX)} + ${formatBytes(SNAPSHOT_FILE_BYTES)} per file`;
      let t: PierTarget;
      if (s.bytes === undefined || s.files === undefined) t = { id: "snapshot", target, verdict: "missed", unit: "bytes", detail: s.error ?? "no snapshot" };
      else {
        const limit = SNAPSHOT_BASE_BYTES_MAX + SNAPSHOT_FILE_BYTES * s.files;
        t = { id: "snapshot", target, verdict: s.bytes <= limit ? "met" : "missed", unit: "bytes", figure: s.bytes, limit, detail: `${s.files} files; written at ${s.via === "save" ? "%sync %save" : "mars's exit"}` };
      }
      out.push(withBaseline(t, ...pick(b?.bytes, haveBaseline, undefined)));
    }
  }

  {
    const m = candidate.many;
    const b = baseline?.many;
    if (m !== undefined) {
      const wall = wallOf(m, "status");
      const anon = anonOf(m, "status");
      const missing = absent(m, "status");
      out.push(withBaseline(
        wall === undefined
          ? { id: "many-status-wall", target: `${m.label}: idle \`urth status\` wall (no target)`, unit: "ms", ...missing }
          : { id: "many-status-wall", target: `${m.label}: idle \`urth status\` wall (no target)`, verdict: "reported", unit: "ms", figure: wall, detail: wallOf(small, "status") === undefined ? "" : `${formatRatio(wall / wallOf(small, "status")!)} small` },
        ...pick(wallOf(b, "status"), haveBaseline, undefined),
      ));
      out.push(withBaseline(
        anon === undefined
          ? { id: "many-status-anon", target: `${m.label}: mars's peak Pss_Anon after a restart, during \`urth status\` (no target)`, unit: "bytes", ...missing }
          : { id: "many-status-anon", target: `${m.label}: mars's peak Pss_Anon after a restart, during \`urth status\` (no target)`, verdict: "reported", unit: "bytes", figure: anon, detail: "" },
        ...pick(anonOf(b, "status"), haveBaseline, undefined),
      ));
    }
  }
  return out;
}
