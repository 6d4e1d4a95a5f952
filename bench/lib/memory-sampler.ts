/**
 * Samples the memory of urth and its mars child while a commit runs, from /proc, and keeps the
 * peaks issue 8 asks for:
 *
 * - each process's own peak Pss (/proc/PID/smaps_rollup; Pss splits a page shared by the two
 *   processes between them, so a shared segment counts once in a sum) and its VmHWM (the
 *   kernel's exact RSS high-water mark, which no sampling gap can miss, but which counts a shared
 *   page in both processes);
 * - the combined peak, the larger of two figures over time:
 *   (a) urth Pss + mars Pss + the plea-* objects of the run's namespaces mapped by neither;
 *   (b) urth (Pss_Anon + Pss_File) + mars (Pss_Anon + Pss_File) + the machine's Shmem
 *       (/proc/meminfo) above its level before the run, which also sees segment pages nobody
 *       maps any more. On a shared machine (b) also sees other processes' shared memory: it can
 *       only overstate.
 *
 * Two clocks. smaps_rollup walks every page table entry: about 28 ms per GiB touched here under
 * load, so a pipe commit of 2 GiB (several GiB touched in mars) cannot be read every 50 ms. It is
 * read by a worker thread (rollup-worker.ts) as often as a 25% CPU budget allows. Every 40 ms the
 * sampler's own thread reads what is O(1) to read: /proc/PID/status, /proc/PID/maps, /proc/meminfo
 * and the shm directory. Figure (b) is taken at every fast sample with RssAnon (status) in place
 * of Pss_Anon (urth and mars are exec'd, never forked from each other: they share no anonymous
 * page, so the two are equal; the worker reads RssAnon just before and after each rollup, and
 * the report gives how far Pss_Anon ever fell outside that bracket) and Pss_File from the latest
 * rollup (file mappings barely change during a commit). Figure (a) and the per-process Pss peaks
 * are taken at each rollup, and (b) once more with the rollup's own Pss_Anon.
 *
 * The sampler times itself: the cost of a fast sample, the largest gap between two, and the
 * worker's share of a core are in the report.
 *
 * Mars starts after urth and is found by its parent pid: this kernel has no
 * /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN is off), so /proc/*\/stat is scanned.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { RollupReading, RollupRequest } from "./rollup-worker.ts";

/** The figures of one process's smaps_rollup, in bytes. */
export interface ProcMemory {
  rss: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
}

/**
 * Parses /proc/PID/smaps_rollup. Returns undefined when it has no Pss line: a zombie (or a
 * kernel thread) has an empty rollup. Fields absent on older kernels (Pss_Anon, Pss_File,
 * Pss_Shmem: Linux 5.7+) read as 0.
 */
export function parseSmapsRollup(text: string): ProcMemory | undefined {
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const pss = kb("Pss");
  if (pss === undefined) return undefined;
  return { rss: kb("Rss") ?? 0, pss, pssAnon: kb("Pss_Anon") ?? 0, pssFile: kb("Pss_File") ?? 0, pssShmem: kb("Pss_Shmem") ?? 0 };
}

/** A `Name:  123 kB` field of /proc/meminfo or /proc/PID/status, in bytes; undefined if absent. */
export function parseKbField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * The names (without directory, e.g. `plea-ab12cd34-77-123-0`) of the plea-* objects under
 * `shmDir` that a /proc/PID/maps text maps. An unlinked object shows with ` (deleted)` after its
 * path; it still counts as mapped.
 */
export function parseShmMappings(mapsText: string, shmDir = "/dev/shm"): Set<string> {
  const names = new Set<string>();
  const prefix = `${shmDir.replace(/\/+$/, "")}/plea-`;
  for (const line of mapsText.split("\n")) {
    const at = line.indexOf(prefix);
    if (at < 0) continue;
    // Fields: address perms offset dev inode, then the path after spaces.
    const path = line.slice(at).replace(/ \(deleted\)$/, "");
    names.add(path.slice(prefix.length - "plea-".length));
  }
  return names;
}

/**
 * The two combined figures of one sample (see the file comment): (a) the processes' Pss plus
 * plea-* objects mapped by none of them; (b) their private Pss plus the machine's Shmem growth.
 */
export function combinedFigures(procs: readonly ProcMemory[], unmappedShmBytes: number, shmemDeltaBytes: number): { a: number; b: number } {
  let pss = 0;
  let priv = 0;
  for (const m of procs) {
    pss += m.pss;
    priv += m.pssAnon + m.pssFile;
  }
  return { a: pss + unmappedShmBytes, b: priv + Math.max(0, shmemDeltaBytes) };
}

/** The pid, parent pid and state of a /proc/PID/stat text (the command may hold spaces and ')'). */
export function parseStat(text: string): { pid: number; ppid: number; state: string } | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const fields = text.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid)) return undefined;
  return { pid, ppid, state: fields[0] };
}

/** All descendants of `root` in a pid -> ppid table, nearest first. */
export function descendantsOf(root: number, parents: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined; // the process exited between two reads
  }
}

/** pid -> ppid of every process, from /proc/*\/stat. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const text = readText(`/proc/${entry}/stat`);
    const stat = text && parseStat(text);
    if (stat) table.set(stat.pid, stat.ppid);
  }
  return table;
}

/** The machine's Shmem from /proc/meminfo, in bytes. */
export function machineShmemBytes(): number {
  return parseKbField(readFileSync("/proc/meminfo", "latin1"), "Shmem") ?? 0;
}

export interface SamplerOptions {
  /** Only plea-* objects of these namespaces count as "mapped by neither" (other piers are not ours). */
  namespaces: readonly string[];
  shmDir?: string;
  /** Target period between fast samples (default SAMPLE_PERIOD_MS). */
  periodMs?: number;
  /** Keep the time series (for the JSON); default false. */
  keepTimeline?: boolean;
  /** Called once for each descendant of urth seen (so that a cleanup can kill mars too). */
  onDescendant?: (pid: number) => void;
}

/**
 * Target period of the fast samples: 40 ms, so that timer jitter on a busy machine still keeps
 * the gaps under the 50 ms issue 8 asks for.
 */
export const SAMPLE_PERIOD_MS = 40;

/** Once mars is found, the process table is scanned again every this many samples. */
const PROCESS_RESCAN_SAMPLES = 10;

/** What the fast samples read of a process: O(1) counters, in bytes. */
export interface ProcStatus {
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  hwm: number;
}

/** Parses the counters the fast samples use from /proc/PID/status; undefined for a zombie. */
export function parseStatus(text: string): ProcStatus | undefined {
  const rssAnon = parseKbField(text, "RssAnon");
  if (rssAnon === undefined) return undefined;
  return {
    rssAnon,
    rssFile: parseKbField(text, "RssFile") ?? 0,
    rssShmem: parseKbField(text, "RssShmem") ?? 0,
    hwm: parseKbField(text, "VmHWM") ?? 0,
  };
}

export interface TimelinePoint {
  /** Milliseconds since the sampler started. */
  t: number;
  /** Figure (b) at a fast sample, or figure (a) with each process's Pss at a rollup. */
  b?: number;
  a?: number;
  urthPss?: number;
  marsPss?: number;
}

export interface CombinedAt {
  /** Milliseconds since the sampler started. */
  t: number;
  bytes: number;
  figure: "a" | "b";
  unmappedShmBytes: number;
  shmemDeltaBytes: number;
}

export interface MemoryReport {
  /** Fast samples (status, maps, meminfo, shm directory). */
  samples: number;
  /** Largest gap between the starts of two consecutive fast samples. */
  gapMaxMs: number;
  gapMedianMs: number;
  gapP95Ms: number;
  /** What one fast sample cost the benchmark's thread, mean and max. */
  sampleCostMeanMs: number;
  sampleCostMaxMs: number;
  /** Time spent in fast samples over the sampled span: the share of one core they took. */
  samplerShare: number;
  /** smaps_rollup readings by the worker thread (each reads every watched process). */
  rollups: number;
  rollupCostMeanMs: number;
  rollupCostMaxMs: number;
  /** The worker's reading time over the sampled span. */
  rollupShare: number;
  /**
   * How far Pss_Anon fell outside the RssAnon read just before and just after it, at most (0 when
   * always inside): the error of using RssAnon for Pss_Anon in figure (b).
   */
  anonOutsideBracketMaxBytes: number;
  marsPid: number | undefined;
  /** Descendants of urth other than mars seen (normally none); they are added to the sums. */
  otherPids: number[];
  urthPssPeak: number;
  marsPssPeak: number;
  /** Private parts (Pss_Anon + Pss_File) at their peaks, from rollups. */
  urthPrivatePeak: number;
  marsPrivatePeak: number;
  /** RssAnon peaks from the fast samples. */
  urthAnonPeak: number;
  marsAnonPeak: number;
  urthHwm: number;
  marsHwm: number;
  combinedAPeak: number;
  combinedBPeak: number;
  combinedPeak: number;
  combinedPeakFigure: "a" | "b";
  combinedAt: CombinedAt | undefined;
  shmemBeforeBytes: number;
  /** The machine's Shmem after the run minus before: segment pages left behind (or other processes' noise). */
  shmemResidueBytes: number;
  timeline?: TimelinePoint[];
}

// ---- the rollup worker, one for the whole benchmark ----------------------------------------

let worker: Worker | undefined;
let runSerial = 0;

function rollupWorker(): Worker {
  if (worker === undefined) {
    worker = new Worker(new URL("./rollup-worker.ts", import.meta.url).href);
    worker.unref();
  }
  return worker;
}

/** Stops the worker thread that reads smaps_rollup (at the end of a benchmark). */
export function closeRollupWorker(): void {
  worker?.terminate();
  worker = undefined;
}

/** Samples one commit's processes until `stop()`. Construct it before spawning urth, start it right after. */
export class MemorySampler {
  readonly #options: Required<SamplerOptions>;
  readonly #shmemBefore: number;
  readonly #run = ++runSerial;
  #rootPid = 0;
  #t0 = 0;
  #epoch0 = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #onMessage: ((event: MessageEvent<RollupReading>) => void) | undefined;
  #marsPid: number | undefined;
  #others = new Set<number>();
  #seen = new Set<number>();
  #descendants: number[] = [];
  #watched = "";
  #sampleIndex = 0;
  #starts: number[] = [];
  #costs: number[] = [];
  #rollupCosts: number[] = [];
  #anonOutsideMax = 0;
  #latestPssFile = new Map<number, number>();
  #latestUnmapped = 0;
  #latestShmemDelta = 0;
  #timeline: TimelinePoint[] = [];
  #peak = { urthPss: 0, marsPss: 0, urthPrivate: 0, marsPrivate: 0, urthAnon: 0, marsAnon: 0, urthHwm: 0, marsHwm: 0, a: 0, b: 0 };
  #combinedAt: CombinedAt | undefined;

  /** Reads the machine's Shmem now: construct the sampler before spawning urth. */
  constructor(options: SamplerOptions) {
    this.#options = { shmDir: "/dev/shm", periodMs: SAMPLE_PERIOD_MS, keepTimeline: false, onDescendant: () => {}, ...options };
    this.#shmemBefore = machineShmemBytes();
    rollupWorker(); // started now, so that it is ready when urth is
  }

  /** Starts sampling urth (the process the benchmark spawned) and its descendants. */
  start(rootPid: number): void {
    this.#rootPid = rootPid;
    this.#t0 = performance.now();
    this.#epoch0 = performance.timeOrigin + this.#t0;
    this.#running = true;
    this.#onMessage = (event) => this.#onRollup(event.data);
    rollupWorker().addEventListener("message", this.#onMessage);
    this.#watch([rootPid]);
    this.#loop = this.#runLoop();
  }

  /** Stops after the sample in progress and reports. Call once urth has exited. */
  async stop(): Promise<MemoryReport> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    rollupWorker().postMessage({ type: "watch", run: 0, pids: [] } satisfies RollupRequest);
    if (this.#onMessage) rollupWorker().removeEventListener("message", this.#onMessage);
    return this.#report();
  }

  #watch(pids: number[]): void {
    const key = pids.join(",");
    if (key === this.#watched) return;
    this.#watched = key;
    rollupWorker().postMessage({ type: "watch", run: this.#run, pids } satisfies RollupRequest);
  }

  async #runLoop(): Promise<void> {
    while (this.#running) {
      const start = performance.now();
      this.#sampleOnce();
      const cost = performance.now() - start;
      this.#starts.push(start);
      this.#costs.push(cost);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, this.#options.periodMs - cost));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One fast sample: status and maps of every process, the machine's Shmem, the shm directory. */
  #sampleOnce(): void {
    const root = this.#rootPid;
    // Scanning /proc costs about 1 ms: once mars is known, rescan only now and then.
    if (this.#marsPid === undefined || this.#sampleIndex % PROCESS_RESCAN_SAMPLES === 0) {
      this.#descendants = descendantsOf(root, processTable());
      this.#noteDescendants();
    }
    this.#sampleIndex++;
    const pids = [root, ...this.#descendants];
    this.#watch(pids);

    // Only our namespaces' objects matter; with none in the directory (the pipe path, or plea
    // before mars creates its segment) the maps need not be read at all.
    const segments = this.#ourSegments();
    const mapped = new Set<string>();
    let anonAndFile = 0;
    let alive = 0;
    // Until the worker has read a process once, its Pss_File is unknown; RssFile would count the
    // Bun binary, which every bun process on the machine shares, in full. Such a sample does not
    // feed figure (b): a process's first tens of milliseconds are never its peak.
    let complete = true;
    for (const pid of pids) {
      const text = readText(`/proc/${pid}/status`);
      const status = text === undefined ? undefined : parseStatus(text);
      if (status === undefined) continue; // not started, exited, or a zombie
      alive++;
      if (segments.length > 0) {
        for (const name of parseShmMappings(readText(`/proc/${pid}/maps`) ?? "", this.#options.shmDir)) mapped.add(name);
      }
      const pssFile = this.#latestPssFile.get(pid);
      if (pssFile === undefined) complete = false;
      anonAndFile += status.rssAnon + (pssFile ?? 0);
      const peak = this.#peak;
      if (pid === root) {
        peak.urthAnon = Math.max(peak.urthAnon, status.rssAnon);
        peak.urthHwm = Math.max(peak.urthHwm, status.hwm);
      } else if (pid === this.#marsPid) {
        peak.marsAnon = Math.max(peak.marsAnon, status.rssAnon);
        peak.marsHwm = Math.max(peak.marsHwm, status.hwm);
      }
    }
    if (alive === 0) return;
    const unmapped = this.#unmappedShmBytes(segments, mapped);
    const shmemDelta = Math.max(0, machineShmemBytes() - this.#shmemBefore);
    this.#latestUnmapped = unmapped;
    this.#latestShmemDelta = shmemDelta;
    if (!complete) return;
    const b = anonAndFile + shmemDelta;
    const t = performance.now() - this.#t0;
    this.#peak.b = Math.max(this.#peak.b, b);
    this.#notePeak(t, b, "b");
    if (this.#options.keepTimeline) this.#timeline.push({ t: Math.round(t), b });
  }

  #noteDescendants(): void {
    const descendants = this.#descendants;
    if (this.#marsPid === undefined || !descendants.includes(this.#marsPid)) {
      // mars is urth's child running src/mars/main.ts; fall back to the first child.
      const mars = descendants.find((pid) => (readText(`/proc/${pid}/cmdline`) ?? "").includes("mars")) ?? descendants[0];
      if (mars !== undefined) this.#marsPid = mars;
    }
    for (const pid of descendants) {
      if (this.#seen.has(pid)) continue;
      this.#seen.add(pid);
      this.#options.onDescendant(pid);
    }
    for (const pid of descendants) if (pid !== this.#marsPid) this.#others.add(pid);
    this.#others.delete(this.#marsPid ?? -1);
  }

  #onRollup(reading: RollupReading): void {
    if (reading.run !== this.#run || reading.readings.length === 0) return;
    this.#rollupCosts.push(reading.costMs);
    const t = reading.at - this.#epoch0;
    const memories: ProcMemory[] = [];
    const peak = this.#peak;
    let urthPss: number | undefined;
    let marsPss: number | undefined;
    for (const { pid, memory, rssAnonBracket } of reading.readings) {
      memories.push(memory);
      this.#latestPssFile.set(pid, memory.pssFile);
      if (rssAnonBracket !== undefined) {
        const [low, high] = rssAnonBracket;
        this.#anonOutsideMax = Math.max(this.#anonOutsideMax, low - memory.pssAnon, memory.pssAnon - high);
      }
      if (pid === this.#rootPid) {
        urthPss = memory.pss;
        peak.urthPss = Math.max(peak.urthPss, memory.pss);
        peak.urthPrivate = Math.max(peak.urthPrivate, memory.pssAnon + memory.pssFile);
      } else if (pid === this.#marsPid) {
        marsPss = memory.pss;
        peak.marsPss = Math.max(peak.marsPss, memory.pss);
        peak.marsPrivate = Math.max(peak.marsPrivate, memory.pssAnon + memory.pssFile);
      }
    }
    const { a, b } = combinedFigures(memories, this.#latestUnmapped, this.#latestShmemDelta);
    peak.a = Math.max(peak.a, a);
    peak.b = Math.max(peak.b, b);
    this.#notePeak(t, a, "a");
    this.#notePeak(t, b, "b");
    if (this.#options.keepTimeline) this.#timeline.push({ t: Math.round(t), a, urthPss, marsPss });
  }

  #notePeak(t: number, bytes: number, figure: "a" | "b"): void {
    if (this.#combinedAt !== undefined && bytes <= this.#combinedAt.bytes) return;
    this.#combinedAt = { t: Math.round(t), bytes, figure, unmappedShmBytes: this.#latestUnmapped, shmemDeltaBytes: this.#latestShmemDelta };
  }

  /** The names of the plea-* objects of the run's namespaces now in the shm directory. */
  #ourSegments(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.#options.shmDir);
    } catch {
      return [];
    }
    return entries.filter((entry) => this.#options.namespaces.some((ns) => entry.startsWith(`plea-${ns}-`)));
  }

  /** Allocated bytes of the objects in `segments` that no process maps. */
  #unmappedShmBytes(segments: readonly string[], mapped: ReadonlySet<string>): number {
    let bytes = 0;
    for (const entry of segments) {
      if (mapped.has(entry)) continue;
      try {
        // Allocated blocks, not the length: a segment is fallocated, and a sparse one costs less.
        bytes += statSync(`${this.#options.shmDir}/${entry}`).blocks * 512;
      } catch {
        // removed between readdir and stat
      }
    }
    return bytes;
  }

  #report(): MemoryReport {
    const gaps = this.#starts.slice(1).map((s, i) => s - this.#starts[i]).sort((x, y) => x - y);
    const span = this.#starts.length > 0 ? this.#starts[this.#starts.length - 1] - this.#starts[0] + this.#costs[this.#costs.length - 1] : 0;
    const total = (xs: number[]) => xs.reduce((s, c) => s + c, 0);
    const mean = (xs: number[]) => (xs.length ? total(xs) / xs.length : 0);
    const p = this.#peak;
    this.#timeline.sort((x, y) => x.t - y.t);
    return {
      samples: this.#starts.length,
      gapMaxMs: gaps.length ? gaps[gaps.length - 1] : 0,
      gapMedianMs: gaps.length ? gaps[gaps.length >> 1] : 0,
      gapP95Ms: gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.95))] : 0,
      sampleCostMeanMs: mean(this.#costs),
      sampleCostMaxMs: this.#costs.length ? Math.max(...this.#costs) : 0,
      samplerShare: span > 0 ? total(this.#costs) / span : 0,
      rollups: this.#rollupCosts.length,
      rollupCostMeanMs: mean(this.#rollupCosts),
      rollupCostMaxMs: this.#rollupCosts.length ? Math.max(...this.#rollupCosts) : 0,
      rollupShare: span > 0 ? total(this.#rollupCosts) / span : 0,
      anonOutsideBracketMaxBytes: this.#anonOutsideMax,
      marsPid: this.#marsPid,
      otherPids: [...this.#others],
      urthPssPeak: p.urthPss,
      marsPssPeak: p.marsPss,
      urthPrivatePeak: p.urthPrivate,
      marsPrivatePeak: p.marsPrivate,
      urthAnonPeak: p.urthAnon,
      marsAnonPeak: p.marsAnon,
      urthHwm: p.urthHwm,
      marsHwm: p.marsHwm,
      combinedAPeak: p.a,
      combinedBPeak: p.b,
      combinedPeak: Math.max(p.a, p.b),
      combinedPeakFigure: p.a >= p.b ? "a" : "b",
      combinedAt: this.#combinedAt,
      shmemBeforeBytes: this.#shmemBefore,
      shmemResidueBytes: machineShmemBytes() - this.#shmemBefore,
      timeline: this.#options.keepTimeline ? this.#timeline : undefined,
    };
  }
}
