/**
 * The shape of bench/reads.ts's results (bench/results/reads.json), and the pure rules that turn
 * its raw records into figures: which requests count as in flight, how fast readers are paced,
 * and in which order rounds with and without readers run.
 */
import type { CommitPath } from "./commit-run.ts";
import { type LatencySummary, latencySummary } from "./latency.ts";
import type { MachineInfo } from "./machine.ts";
import { summarize, type Summary } from "./stats.ts";
import type { TargetResult } from "./targets.ts";

/** The requests a reader sends on the control socket (docs/urth.md, "A second shell"). */
export const READ_OPS = ["status", "ls", "cat"] as const;
export type ReadOp = (typeof READ_OPS)[number];

/** One request, timed from just before the connection is opened to the last byte of its answer. */
export interface RequestRecord {
  op: ReadOp;
  /** When it was issued, in ms relative to the round's change (negative: before it, idle). */
  at: number;
  /** Its latency; absent if it failed. */
  ms?: number;
  error?: string;
}

/** The commit in flight, as the benchmark saw it: from the change to the acknowledgement. */
export interface CommitWindow {
  /** When the change was made (ms, the round's clock: 0). */
  changeAt: number;
  /** When `run`'s line for the commit was read. */
  ackAt: number;
}

/** A request issued while the commit was in flight: at or after the change, before the acknowledgement. */
export function issuedInFlight(at: number, window: CommitWindow): boolean {
  return at >= window.changeAt && at < window.ackAt;
}

/**
 * How often a reader sends each request: `wanted` of each into one commit of `expectedMs`, but
 * never more often than every `minMs` (the readers would measure their own queue, not urth's).
 */
export function opIntervalMs(expectedMs: number, wanted: number, minMs: number): number {
  if (!(wanted >= 1)) throw new RangeError(`wanted is at least 1; got ${wanted}`);
  return Math.max(minMs, expectedMs / wanted);
}

/**
 * Whether each of `pairs` pairs of rounds has readers: one round without and one with, the order
 * alternating from pair to pair so that drift in the machine's state favours neither.
 */
export function pairedRounds(pairs: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < pairs; i++) out.push(...(i % 2 === 0 ? [false, true] : [true, false]));
  return out;
}

/** One round: a fresh pier held by `urth run`, one change committed, with or without readers. */
export interface RoundResult {
  index: number;
  readers: boolean;
  /** A round added after the pairs only to reach the wanted number of requests in flight. */
  extra: boolean;
  /** urth's own figure for the commit (`run`'s line: scan to durable acknowledgement). */
  commitMs?: number;
  /** From the change to the acknowledgement, as the benchmark saw it. */
  windowMs?: number;
  eve?: number;
  /** The path `run`'s line names (plea, pipe; a staged file goes by the pipe as a reference). */
  path?: string;
  idle: RequestRecord[];
  /** Requests issued after the change (in flight or not: `issuedInFlight`). */
  during: RequestRecord[];
  /** Wall time of the `urth status` process (spawn to exit) on the idle pier, and started just after the change. */
  statusProcessIdleMs?: number;
  statusProcessDuringMs?: number;
  /** Whether the acknowledgement came after the process was started (it started in flight). */
  statusProcessStartedInFlight?: boolean;
  error?: string;
}

export interface OpSummary {
  op: ReadOp;
  idle?: LatencySummary;
  /** Requests issued in flight. */
  inFlight?: LatencySummary;
  /** Requests issued after the change that failed (and so have no latency). */
  failures: number;
}

export interface ReadsCaseResult {
  id: string;
  label: string;
  kind: "big" | "many";
  path: CommitPath;
  payloadBytes: number;
  files: number;
  /** The warm-up commit's window, from which readers are paced. */
  expectedMs?: number;
  /** Each kind of request's median time on the idle holder, one at a time (warm-up round). */
  serviceMs?: Partial<Record<ReadOp, number>>;
  opIntervalMs?: number;
  rounds: RoundResult[];
  ops: OpSummary[];
  /** urth's commit figure over the paired rounds, without and with readers. */
  commitWithout?: Summary;
  commitWith?: Summary;
  statusProcessIdle?: Summary;
  statusProcessDuring?: Summary;
  error?: string;
}

/** Latency summaries per request over the rounds that had readers. */
export function summarizeOps(rounds: readonly RoundResult[]): OpSummary[] {
  return READ_OPS.map((op) => {
    const idle: number[] = [];
    const during: number[] = [];
    let failures = 0;
    for (const r of rounds) {
      if (!r.readers || r.error !== undefined || r.windowMs === undefined) continue;
      const window = { changeAt: 0, ackAt: r.windowMs };
      for (const q of r.idle) if (q.op === op && q.ms !== undefined) idle.push(q.ms);
      for (const q of r.during) {
        if (q.op !== op || !issuedInFlight(q.at, window)) continue;
        if (q.ms === undefined) failures++;
        else during.push(q.ms);
      }
    }
    return { op, idle: latencySummary(idle), inFlight: latencySummary(during), failures };
  });
}

/** urth's commit figure over the paired rounds that finished, with and without readers. */
export function summarizeCommits(rounds: readonly RoundResult[]): { without?: Summary; with?: Summary } {
  const of = (readers: boolean) => summarize(rounds.filter((r) => !r.extra && r.readers === readers && r.error === undefined && r.commitMs !== undefined).map((r) => r.commitMs!));
  return { without: of(false), with: of(true) };
}

/** Target 2: `cat` of a committed file through the socket while another commit is in flight. */
export interface CatRun {
  /** `cat` of the file holding the bytes, to /dev/null, on the idle pier (process wall). */
  referenceMs: number;
  /**
   * `cat FILE | cat > /dev/null`: the same bytes through a pipe to a second process, as the socket
   * `cat` moves them to its client. GNU cat to /dev/null itself may copy in the kernel
   * (copy_file_range) without reading the bytes into any process.
   */
  referencePipeMs?: number;
  /** The same file through the socket on the idle pier (the client discarding). */
  socketIdleMs: number;
  /** Through the socket, started just after the change. */
  socketDuringMs: number;
  /** Whether the acknowledgement came after the socket `cat` ended (all of it in flight). */
  endedInFlight: boolean;
  commitMs?: number;
  windowMs?: number;
}

export interface CatBigResult {
  fileBytes: number;
  path: CommitPath;
  /** What the reference `cat` read: the blob in `.urb/bob/`, or the source file when no blob was found. */
  reference: "blob" | "source";
  runs: CatRun[];
  failures: string[];
}

/** bench/results/reads.json. */
export interface ReadsBenchResults {
  date: string;
  finished: string;
  command: string;
  options: Record<string, unknown>;
  machine: MachineInfo & { loadAtEnd: number[] };
  notes: string[];
  cases: ReadsCaseResult[];
  catBig?: CatBigResult;
  targets: TargetResult[];
}
