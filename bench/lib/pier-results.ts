/** The shape of bench/pier.ts's results (bench/results/pier.json). */
import type { CommitJson } from "./commit-run.ts";
import type { MachineInfo } from "./machine.ts";
import type { Summary } from "./stats.ts";

/** The read-only commands timed on an idle pier. */
export const READ_COMMANDS = ["status", "ls", "cat"] as const;
export type ReadCommand = (typeof READ_COMMANDS)[number];

/** What one read-only command did over its runs on one idle pier. */
export interface IdleCommandResult {
  command: ReadCommand;
  /** The command line's arguments after the command (the folder, the file). */
  args: string[];
  /** Wall time of each run, spawn to exit. */
  wallMs: number[];
  wall?: Summary;
  /** Peak Pss_Anon of mars over all runs (a peak must hold every time). */
  pssAnonPeak: number;
  /** The same for RssAnon (cross-check) and VmHWM (RSS with file pages). */
  rssAnonPeak: number;
  hwm: number;
  /** Polls of mars's rollup, fewest over the runs, and the largest gap between two. */
  pollsMin: number;
  pollGapMaxMs: number;
  /** Runs that failed (status, stderr's last lines). */
  failures: string[];
}

/** One idle pier: what it holds and what the read-only commands took on it. */
export interface IdleResult {
  /** `small`, `big-2`, `big-8`, `many-100000`. */
  pier: string;
  label: string;
  /** Big files committed (0 for small and many). */
  bigFiles: number;
  /** From `urth status --json`: files, bytes and event number committed. */
  files?: number;
  committedBytes?: number;
  eve?: number;
  /** du -sb of <pier>/.urb. */
  urbBytes?: number;
  commands: IdleCommandResult[];
  /** `urth verify`, timed once, when this urth has it. */
  verify?: { wallMs: number; code: number; pssAnonPeak: number; stderrTail?: string };
  error?: string;
}

/** One `urth commit --json` that built a pier. */
export interface CommitRecord {
  pier: string;
  /** What the commit added: `small files`, `big/part0.bin`, `1,000 files of 1 KiB`. */
  what: string;
  json: CommitJson;
  wallMs: number;
  marsPssAnonPeak: number;
}

export type RecommitKind = "touch" | "copy";

/** A byte-identical re-commit of one big file. */
export interface RecommitResult {
  kind: RecommitKind;
  /** The mount-relative file. */
  file: string;
  fileBytes: number;
  /** Committed files and bytes on the pier when it ran. */
  pierBigFiles: number;
  /** The first commit of the same file: urth's scan-to-durable figure and wall time. */
  firstMs?: number;
  firstWallMs?: number;
  json?: CommitJson;
  wallMs?: number;
  /** du -sb of .urb before and after, and the difference. */
  urbBeforeBytes?: number;
  urbAfterBytes?: number;
  growthBytes?: number;
  error?: string;
}

export interface SnapshotResult {
  /** Big files committed when it was taken. */
  bigFiles: number;
  /** Committed files (status), for the 1 KiB-per-file allowance. */
  files?: number;
  /** The newest `.urb/chk/snapshot-<eve>.plea`, its event and size. */
  name?: string;
  eve?: number;
  bytes?: number;
  /** How it came to be: mars's exit policy (after an idle status), or `%sync %save` (bench/lib/pier-save.ts). */
  via?: "exit" | "save";
  saveWallMs?: number;
  error?: string;
}

/** Everything measured with one urth. */
export interface UrthResults {
  role: "candidate" | "baseline";
  urthMain: string;
  /** `git describe`-like revision of the checkout, when it is a git worktree. */
  revision?: string;
  verifyAvailable: boolean;
  commits: CommitRecord[];
  idle: IdleResult[];
  recommits: RecommitResult[];
  snapshot?: SnapshotResult;
  many?: IdleResult;
  errors: string[];
}

export type PierVerdict = "met" | "missed" | "not measured" | "reported";

/** One line of the target table. */
export interface PierTarget {
  id: string;
  /** What is measured and, if there is one, its target. */
  target: string;
  verdict: PierVerdict;
  unit: "ms" | "bytes";
  figure?: number;
  /** The limit the figure is held to (absolute: a ratio target is turned into its limit). */
  limit?: number;
  /** How the figure compares to what the target compares it with ("1.05x small"). */
  detail: string;
  /** The same figure with the baseline urth (or from issue 13's table), and figure / baseline. */
  baseline?: number;
  baselineSource?: "same run" | "issue 13's table";
  ratioToBaseline?: number;
}

export interface PierBenchResults {
  date: string;
  finished: string;
  command: string;
  options: Record<string, unknown>;
  machine: MachineInfo & { loadAtEnd: number[] };
  notes: string[];
  /** The candidate first, then the baseline when one ran. */
  runs: UrthResults[];
  targets: PierTarget[];
}
