/**
 * A worker thread that reads /proc/PID/smaps_rollup of the processes it is told to watch, over
 * and over, within a CPU budget, and posts what it read.
 *
 * Why a thread of its own: smaps_rollup walks every page table entry of the process. Measured
 * here under load, it takes about 28 ms per GiB touched (1 GiB: 29 ms; a pipe commit of 2 GiB has
 * several GiB touched in mars), so on the sampler's thread it would stretch the 40 ms period to
 * hundreds of milliseconds. The sampler reads the O(1) counters of /proc/PID/status on time and
 * takes Pss from here whenever a fresh reading arrives.
 */
import { readFileSync } from "node:fs";
import { parseKbField, parseSmapsRollup, type ProcMemory } from "./memory-sampler.ts";

declare const self: Worker;

/** Rollup reads may take at most this share of one core: the rest of the time the thread sleeps. */
export const ROLLUP_DUTY_MAX = 0.25;
/** Never read more often than this (small processes are cheap to read). */
export const ROLLUP_PERIOD_MIN_MS = 40;

/** Watch these pids, tagging readings with `run` (an empty list pauses the thread). */
export type RollupRequest = { type: "watch"; run: number; pids: number[] };

export interface RollupReading {
  type: "rollup";
  run: number;
  /** performance.timeOrigin + performance.now() when the reads started (comparable across threads). */
  at: number;
  costMs: number;
  /** Processes read; a process that has exited (or is a zombie) is absent. */
  readings: { pid: number; memory: ProcMemory; rssAnonBracket: [number, number] | undefined }[];
}

let run = 0;
let pids: number[] = [];
let wake: (() => void) | undefined;

self.onmessage = (event: MessageEvent<RollupRequest>) => {
  run = event.data.run;
  pids = event.data.pids;
  wake?.();
};

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

function rssAnonOf(pid: number): number | undefined {
  const status = read(`/proc/${pid}/status`);
  return status === undefined ? undefined : parseKbField(status, "RssAnon");
}

async function sleep(ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

// Runs until the sampler's thread terminates the worker (closeRollupWorker).
for (;;) {
  if (pids.length === 0) {
    await sleep(1000);
    continue;
  }
  const at = performance.timeOrigin + performance.now();
  const start = performance.now();
  const forRun = run;
  const readings: RollupReading["readings"] = [];
  for (const pid of pids) {
    // RssAnon just before and just after: the sampler uses it in place of Pss_Anon, and Pss_Anon
    // should lie between the two (memory moves during a read that takes tens of milliseconds).
    const before = rssAnonOf(pid);
    const text = read(`/proc/${pid}/smaps_rollup`);
    const memory = text === undefined ? undefined : parseSmapsRollup(text);
    if (memory === undefined) continue;
    const after = rssAnonOf(pid);
    const bracket = before === undefined || after === undefined ? undefined : ([Math.min(before, after), Math.max(before, after)] as [number, number]);
    readings.push({ pid, memory, rssAnonBracket: bracket });
  }
  const costMs = performance.now() - start;
  const message: RollupReading = { type: "rollup", run: forRun, at, costMs, readings };
  postMessage(message);
  await sleep(Math.max(ROLLUP_PERIOD_MIN_MS - costMs, (costMs * (1 - ROLLUP_DUTY_MAX)) / ROLLUP_DUTY_MAX));
}
