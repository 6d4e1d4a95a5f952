/**
 * mars's anonymous memory while one short urth command runs (`status`, `ls`, `cat` on an idle
 * pier: urth starts a mars of its own, peeks, and stops it): the peak Pss_Anon of
 * /proc/PID/smaps_rollup, polled every MARS_POLL_MS.
 *
 * Pss_Anon counts the heap and every other private anonymous page, and not the page cache of a
 * mapped file: a blob store whose files mars maps (MAP_PRIVATE, read-only use) costs nothing here
 * until something writes to a mapped page. RssAnon (/proc/PID/status, O(1) to read) is kept
 * beside it as a cross-check: urth and mars are exec'd, never forked from each other, so they
 * share no anonymous page and the two should agree.
 *
 * mars is found as urth's child: /proc/PID/task/TID/children where the kernel has it
 * (CONFIG_PROC_CHILDREN), else by a scan of /proc/*\/stat for urth's pid as parent (the kernel
 * this was written on has no children file). The scan runs only until mars is found.
 *
 * The sampler runs on the benchmark's main thread, which otherwise only waits for urth: a rollup
 * walks mars's page tables, under a millisecond for a small mars, about 28 ms per GiB touched for
 * one that holds a large state (bench/lib/rollup-worker.ts). Polls keep within MARS_POLL_DUTY_MAX
 * of a core, so those of a large mars are further apart; the report gives the largest gap. A
 * large heap is built over seconds (replay) and held until exit, so wide gaps still see its peak.
 */
import { readdirSync, readFileSync } from "node:fs";
import { parseKbField, parseSmapsRollup, parseStat } from "./memory-sampler.ts";

/** Target period between two polls of mars. */
export const MARS_POLL_MS = 10;
/**
 * Polls may take at most this share of one core: a rollup of a mars holding GiB takes hundreds of
 * milliseconds, and on a 2-core machine back-to-back reads would slow the very mars they measure.
 */
export const MARS_POLL_DUTY_MAX = 0.25;

export interface MarsMemory {
  /** mars's pid, or undefined if urth exited before one was seen. */
  marsPid: number | undefined;
  /** Peak Pss_Anon over the polls, in bytes (0 when no poll read mars). */
  pssAnonPeak: number;
  /** Peak RssAnon over the polls, in bytes (the cross-check). */
  rssAnonPeak: number;
  /** mars's VmHWM at the last poll that read it: its whole RSS high-water mark, file pages included. */
  hwm: number;
  /** Polls that read mars's rollup. */
  polls: number;
  /** Largest gap between the starts of two consecutive polls of mars. */
  gapMaxMs: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined; // gone between two reads
  }
}

/** The pids in the text of one /proc/PID/task/TID/children file ("123 456 "). */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

let childrenFileExists: boolean | undefined;

/** The children of `pid`: from the task children files if the kernel has them, else by a /proc scan. */
export function childrenOf(pid: number): number[] {
  if (childrenFileExists !== false) {
    let tasks: string[] | undefined;
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return []; // the process is gone
    }
    const found: number[] = [];
    let any = false;
    for (const tid of tasks) {
      const text = readText(`/proc/${pid}/task/${tid}/children`);
      if (text === undefined) continue;
      any = true;
      found.push(...parseChildren(text));
    }
    if (any) {
      childrenFileExists = true;
      return found;
    }
    // No task had the file: either the kernel lacks it, or every task exited meanwhile.
    if (childrenFileExists === undefined) childrenFileExists = readText(`/proc/self/task/${process.pid}/children`) !== undefined;
    if (childrenFileExists) return found;
  }
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const text = readText(`/proc/${entry}/stat`);
    const stat = text === undefined ? undefined : parseStat(text);
    if (stat?.ppid === pid) found.push(stat.pid);
  }
  return found;
}

/**
 * mars among `urthPid`'s children: the one whose command line names mars (`bun .../mars/main.ts
 * --pier ...`). Another child (none today) is never taken for mars.
 */
function findMars(urthPid: number): number | undefined {
  return childrenOf(urthPid).find((pid) => (readText(`/proc/${pid}/cmdline`) ?? "").includes("mars"));
}

/** Polls urth's mars from `start(urthPid)` until `stop()`. */
export class MarsMemorySampler {
  #urthPid = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #report: MarsMemory = { marsPid: undefined, pssAnonPeak: 0, rssAnonPeak: 0, hwm: 0, polls: 0, gapMaxMs: 0 };
  #lastPollAt: number | undefined;
  /** Called once when mars is found (so a cleanup can kill it if urth dies). */
  readonly #onMars: (pid: number) => void;

  constructor(onMars: (pid: number) => void = () => {}) {
    this.#onMars = onMars;
  }

  start(urthPid: number): void {
    this.#urthPid = urthPid;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<MarsMemory> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    return { ...this.#report };
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const start = performance.now();
      this.#pollOnce(start);
      const cost = performance.now() - start;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(MARS_POLL_MS - cost, (cost * (1 - MARS_POLL_DUTY_MAX)) / MARS_POLL_DUTY_MAX));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #pollOnce(at: number): void {
    const r = this.#report;
    if (r.marsPid === undefined) {
      r.marsPid = findMars(this.#urthPid);
      if (r.marsPid === undefined) return;
      this.#onMars(r.marsPid);
    }
    const pid = r.marsPid;
    // RssAnon just before the rollup: a cheap read that brackets nothing exactly, but should agree.
    const status = readText(`/proc/${pid}/status`);
    const rollup = readText(`/proc/${pid}/smaps_rollup`);
    const memory = rollup === undefined ? undefined : parseSmapsRollup(rollup);
    if (status === undefined || memory === undefined) return; // not exec'd yet, exited, or a zombie
    r.pssAnonPeak = Math.max(r.pssAnonPeak, memory.pssAnon);
    r.rssAnonPeak = Math.max(r.rssAnonPeak, parseKbField(status, "RssAnon") ?? 0);
    r.hwm = Math.max(r.hwm, parseKbField(status, "VmHWM") ?? 0);
    r.polls++;
    if (this.#lastPollAt !== undefined) r.gapMaxMs = Math.max(r.gapMaxMs, at - this.#lastPollAt);
    this.#lastPollAt = at;
  }
}
