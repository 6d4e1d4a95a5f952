/**
 * One `urth commit` as an operator runs it, watched: spawn urth on a prepared pier, sample the
 * memory of urth and mars until urth exits, and collect the one JSON line urth prints once the
 * event is durable.
 */
import { getPriority, setPriority } from "node:os";
import { legacySegmentNamespaces, segmentNamespace } from "../../src/pier/segment-namespace.ts";
import { type Cleanup, killIfOurs } from "./cleanup.ts";
import { MemorySampler, type MemoryReport } from "./memory-sampler.ts";

/**
 * How the file's bytes reach mars: `stage` is what an operator gets by default (urth copies a file
 * of 1 MiB or more into the blob store in the kernel and sends a reference; docs/blob-store.md,
 * "Staged by urth"); `plea` and `pipe` force the bytes through the segment or the pipe, staging
 * off, so that plea delivery is still measured against a bare write into a fresh segment.
 */
export type CommitPath = "pipe" | "plea" | "stage";

/**
 * The options that choose the path: a plea threshold of 0 sends every event through plea, 2^40
 * (1 TiB, above any payload here) through the pipe; a stage threshold of 2^40 stages nothing.
 * `stage` passes no option: the defaults.
 */
export const PATH_ARGS: Record<CommitPath, string[]> = {
  plea: ["--plea-threshold", "0", "--stage-threshold", String(2 ** 40)],
  pipe: ["--plea-threshold", String(2 ** 40), "--stage-threshold", String(2 ** 40)],
  stage: [],
};

/** A commit that has not finished after this long is killed and reported as failed. */
export const COMMIT_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * While it samples, the benchmark's main thread runs at this nice value when allowed: the sampler
 * needs little CPU (measured and reported) but must run on time while urth and mars keep both
 * cores busy, or its gaps exceed 50 ms. It is raised only after urth is spawned (children inherit
 * the nice value of the thread that forks them) and restored when urth exits, so urth, mars, the
 * baselines and dd all run at the normal priority.
 */
export const SAMPLER_NICE = -5;

/** Raises this thread's priority for sampling; returns a function that restores it (no-op if not allowed). */
function raisePriority(): { applied: boolean; restore: () => void } {
  let before: number;
  try {
    before = getPriority();
    setPriority(SAMPLER_NICE);
  } catch {
    return { applied: false, restore: () => {} };
  }
  return {
    applied: true,
    restore: () => {
      try {
        setPriority(before);
      } catch {
        // lowering priority is always allowed; nothing to do if the thread is gone
      }
    },
  };
}

/** What `urth commit --json` prints (issue 7); phases urth did not measure are absent. */
export interface CommitJson {
  eve: number;
  path: "pipe" | "plea" | "none";
  added: number;
  changed: number;
  deleted: number;
  bytes: number;
  ms: number;
  pids?: { urth?: number; mars?: number };
  /** The kind of segment the session's pleas asked for (urth since issue 14). */
  shmKind?: "named" | "memfd";
  phases?: Record<string, number>;
  /** Files urth staged into the blob store (issue 15); null when nothing changed. */
  staged?: { files: number; bytes: number; method: string } | null;
}

export interface CommitRun {
  json: CommitJson;
  /** From spawning urth to its exit: process start-up, mars start-up, the commit, shutdown. */
  wallMs: number;
  memory: MemoryReport;
  /** Whether the sampler ran at SAMPLER_NICE (else at the normal priority). */
  samplerNiceApplied: boolean;
  /** plea-* objects of this pier's namespace still in /dev/shm after urth exited (then removed). */
  leftSegments: string[];
}

export interface CommitRunOptions {
  urthMain: string;
  pier: string;
  path: CommitPath;
  cleanup: Cleanup;
  shmDir: string;
  keepTimeline?: boolean;
  /** `--shm-kind` for urth: auto (its probe decides), memfd or named. */
  shmKind?: "auto" | "named" | "memfd";
  /** The kind a plea run must have used (auto resolved); a run that used another fails. */
  expectShmKind?: "named" | "memfd";
}

/**
 * The namespaces urth's segments of `pier` may carry: the pier's own (made here if the pier is new,
 * so it is known before urth starts) and those older versions derived from its path (`--urth`
 * may name one).
 */
export function pierNamespaces(pier: string): string[] {
  return [segmentNamespace(pier), ...legacySegmentNamespaces(pier)];
}

/** The last line of `stdout` that parses as a JSON object, or undefined. */
export function lastJsonLine(stdout: string): CommitJson | undefined {
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]) as CommitJson;
    } catch {
      // not JSON after all; try the line before
    }
  }
  return undefined;
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export async function runCommit(options: CommitRunOptions): Promise<CommitRun> {
  const { cleanup, pier } = options;
  const namespaces = pierNamespaces(pier);
  for (const ns of namespaces) cleanup.addNamespace(ns);
  const sampler = new MemorySampler({
    namespaces,
    shmDir: options.shmDir,
    keepTimeline: options.keepTimeline,
    onDescendant: (pid) => cleanup.addPid(pid, pier),
  });
  const argv = [process.execPath, options.urthMain, "commit", "--pier", pier, ...PATH_ARGS[options.path], "--json"];
  if (options.shmKind !== undefined && options.shmKind !== "auto") argv.push("--shm-kind", options.shmKind);
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cleanup.addPid(proc.pid, pier);
  const priority = raisePriority();
  sampler.start(proc.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, COMMIT_TIMEOUT_MS);
  let stdout: string, stderr: string, code: number, wallMs: number, memory: MemoryReport;
  try {
    [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    wallMs = performance.now() - t0;
  } finally {
    clearTimeout(timer);
    memory = await sampler.stop();
    priority.restore();
  }
  cleanup.forgetPid(proc.pid);
  for (const pid of [memory.marsPid, ...memory.otherPids]) {
    if (pid === undefined) continue;
    // urth waits for mars; if urth died (or was killed), mars must not outlive the benchmark.
    killIfOurs(pid, pier);
    cleanup.forgetPid(pid);
  }
  const leftSegments = cleanup.removeSegments(namespaces);
  const command = argv.slice(1).join(" ");
  if (timedOut) throw new Error(`\`${command}\` did not finish within ${COMMIT_TIMEOUT_MS / 60000} minutes and was killed.\n${tail(stderr)}`);
  if (code !== 0) throw new Error(`\`${command}\` exited with status ${code}.\n${tail(stderr) || "(nothing on stderr)"}`);
  const json = lastJsonLine(stdout);
  if (json === undefined) throw new Error(`\`${command}\` printed no JSON line on stdout:\n${tail(stdout)}`);
  // A staged commit sends a reference: a few bytes, through the pipe.
  const took = json.staged !== undefined && json.staged !== null && json.staged.files > 0 ? "stage" : json.path;
  if (options.path !== "stage" && took !== options.path) {
    // A plea mars refused (a named segment that does not fit the directory) goes through the pipe.
    throw new Error(`\`${command}\` took the ${json.path} path, not ${options.path}: does urth honour --plea-threshold, or did mars refuse the segment?\n${tail(stderr)}`);
  }
  if (options.path === "plea" && options.expectShmKind !== undefined && json.shmKind !== options.expectShmKind) {
    throw new Error(`\`${command}\` asked for ${json.shmKind ?? "unknown"} segments, not ${options.expectShmKind}: does urth honour --shm-kind?`);
  }
  return { json, wallMs, memory, samplerNiceApplied: priority.applied, leftSegments };
}
