/** The shape of a benchmark's results (bench/results/commit.json) and their per-case summaries. */
import type { CommitJson, CommitPath } from "./commit-run.ts";
import type { MachineInfo } from "./machine.ts";
import type { TargetResult } from "./targets.ts";
import type { MemoryReport } from "./memory-sampler.ts";
import { summarize, type Summary } from "./stats.ts";

export type CaseKind = "single" | "many" | "big";

export interface RunRecord {
  json: CommitJson;
  wallMs: number;
  memory: MemoryReport;
  leftSegments: string[];
  samplerNiceApplied: boolean;
  /** Bytes of the input in the page cache just before the run (fincore), when measurable. */
  inputCachedBytes?: number;
}

export interface CaseSummary {
  /** urth's own figure: from the start of the commit (scan) to the durable acknowledgement. */
  commitMs?: Summary;
  wallMs?: Summary;
  deliveryMs?: Summary;
  persistMs?: Summary;
  /** Every phase urth reported, by its JSON name. */
  phases: Record<string, Summary>;
  combinedPeak?: Summary;
  combinedAPeak?: Summary;
  combinedBPeak?: Summary;
  urthPssPeak?: Summary;
  marsPssPeak?: Summary;
  urthHwm?: Summary;
  marsHwm?: Summary;
}

export interface CaseResult {
  id: string;
  kind: CaseKind;
  label: string;
  payloadBytes: number;
  files: number;
  path: CommitPath;
  /** The runs that finished; failed runs are not in it. */
  runs: RunRecord[];
  /** One line per failed run or warm-up, with urth's stderr: "run 3: `...` exited with status 4 ...". */
  failures: string[];
  /** The first failure's message, if any run failed. */
  error?: string;
  summary: CaseSummary;
}

export interface BaselineResult {
  size: number;
  memcpyMs?: Summary;
  freshCreateMs?: Summary;
  freshWriteMs?: Summary;
  /** The "bare write into a fresh segment": create + write. */
  freshTotalMs?: Summary;
  fileToSegmentMs?: Summary;
  ddMs?: Summary;
  error?: string;
}

export function summarizeRuns(runs: readonly RunRecord[]): CaseSummary {
  const of = (f: (r: RunRecord) => number | undefined) => summarize(runs.map(f).filter((v): v is number => v !== undefined));
  const phaseNames = new Set(runs.flatMap((r) => Object.keys(r.json.phases ?? {})));
  const phases: Record<string, Summary> = {};
  for (const name of phaseNames) {
    const s = of((r) => r.json.phases?.[name]);
    if (s) phases[name] = s;
  }
  return {
    commitMs: of((r) => r.json.ms),
    wallMs: of((r) => r.wallMs),
    deliveryMs: phases.deliveryMs,
    persistMs: phases.persistMs,
    phases,
    combinedPeak: of((r) => r.memory.combinedPeak),
    combinedAPeak: of((r) => r.memory.combinedAPeak),
    combinedBPeak: of((r) => r.memory.combinedBPeak),
    urthPssPeak: of((r) => r.memory.urthPssPeak),
    marsPssPeak: of((r) => r.memory.marsPssPeak),
    urthHwm: of((r) => r.memory.urthHwm || undefined),
    marsHwm: of((r) => r.memory.marsHwm || undefined),
  };
}

/** `git add -A` and `git commit` of the many-files tree (bench/lib/baselines.ts, `measureGit`). */
export interface GitBaselineResult {
  files: number;
  addMs?: Summary;
  commitMs?: Summary;
  error?: string;
}

/** What the sampler cost and how closely it followed, over every measured run. */
export interface SamplerSummary {
  samples: number;
  sampleCostMeanMs?: Summary;
  sampleCostMaxMs: number;
  gapMaxMs: number;
  gapP95Ms?: Summary;
  samplerShare?: Summary;
  rollups: number;
  rollupCostMaxMs: number;
  rollupShare?: Summary;
  /** Largest distance of Pss_Anon outside the RssAnon read just before and just after it (absent in older results). */
  anonOutsideBracketMaxBytes?: number;
  niceApplied: boolean;
}

/** bench/results/commit.json. */
export interface BenchResults {
  date: string;
  finished: string;
  command: string;
  options: { runs: number; warmup: number; [key: string]: unknown };
  machine: MachineInfo & { loadAtEnd: number[] };
  notes: string[];
  baselines: BaselineResult[];
  /** The many-files case's peer baseline (absent in older results, or with --no-baselines). */
  git?: GitBaselineResult;
  cases: CaseResult[];
  targets: TargetResult[];
  sampler: SamplerSummary;
}
