/**
 * `urth commit` through the pipe against the plea protocol: time and peak memory from 1 MiB to
 * beyond 4 GiB (issue 8).
 *
 *   npx bun bench/commit.ts [--sizes 1m,16m,256m,1g,2g] [--paths pipe,plea] [--runs 3]
 *                           [--warmup 1] [--no-many] [--many-files 100000] [--big]
 *                           [--shm-kind auto|memfd|named] [--keep-cache] [--out bench/results]
 *                           [--urth src/urth/main.ts]
 *   npx bun bench/commit.ts --render bench/results/commit.json    (tables and chart again, no runs)
 *
 * Each run is what an operator does: a fresh pier in a temporary directory, the input hard-linked
 * into its mount (`<pier>/base/`) from a cache of random files generated once per size, and one
 * `urth commit --json` whose memory (urth and mars) is sampled from /proc until it exits
 * (bench/lib/memory-sampler.ts). The path is forced per run with `--plea-threshold`, the kind of
 * segment with `--shm-kind` (auto: urth's probe decides, as for an operator).
 * Baselines run in the same invocation, per size: memcpy, a bare write into a fresh segment of the
 * same kind, and `dd conv=fdatasync`; for the many-files case, `git add -A` and `git commit` of the
 * same tree (bench/lib/baselines.ts). PLEA_SHM_DIR points named segments
 * at another directory, such as a 64 MiB tmpfs for the container case.
 *
 * Prints markdown tables on stdout (progress on stderr) and writes bench/results/commit.json (raw
 * results, machine, date, command line) and bench/results/commit.svg. Temporary piers, cached
 * inputs (unless --keep-cache) and this run's plea-* segments are removed at the end, on error
 * and on Ctrl-C.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { namespaceForPier, processStartTime, shmDirectory } from "../src/ffi/index.ts";
import { parseShmKindChoice, ShmProbe, type ShmKindChoice } from "../src/urth/shm-kind.ts";
import { measureDd, measureGit, runMemoryBaselines } from "./lib/baselines.ts";
import { Cleanup } from "./lib/cleanup.ts";
import { type CommitJson, type CommitPath, runCommit } from "./lib/commit-run.ts";
import { formatBytes, GIB, KIB, parseSize, parseSizes } from "./lib/format.ts";
import { cachedBytes, defaultCacheDir, linkFile, linkTree, manyFilesTree, randomFile } from "./lib/inputs.ts";
import { currentLoad, machineInfo, room } from "./lib/machine.ts";
import { closeRollupWorker, type MemoryReport } from "./lib/memory-sampler.ts";
import { loadResults, renderMarkdown, renderSvg, samplerSummary } from "./lib/report.ts";
import { type BaselineResult, type BenchResults, type CaseKind, type CaseResult, type GitBaselineResult, type RunRecord, summarizeRuns } from "./lib/results.ts";
import { summarize } from "./lib/stats.ts";
import { evaluateTargets } from "./lib/targets.ts";

const SIZES_DEFAULT = "1m,16m,256m,1g,2g";
const PATHS_DEFAULT = "stage,plea,pipe";
const RUNS_DEFAULT = 3;
const WARMUP_DEFAULT = 1;
/** The many-files case: structure-heavy rather than byte-heavy. */
const MANY_FILES_DEFAULT = 100_000;
const MANY_FILE_BYTES = KIB;
/** `--big`: beyond one newt frame (a 32-bit length) and one atom (4 GiB): two files of 2.5 GiB. */
const BIG_FILE_BYTES = 2.5 * GIB;
const BIG_FILES = 2;
/**
 * Room `--big` needs beyond its payload: memory for the 1.25x target plus the baseline child's
 * buffers, and the disk for the cache plus mars's blob. Measured needs, rounded up.
 */
const BIG_MEMORY_FACTOR = 1.5;
const BIG_MARGIN_BYTES = 2 * GIB;

const USAGE = `usage: npx bun bench/commit.ts [options]

  --sizes LIST      payload sizes, one file each (default ${SIZES_DEFAULT}; k, m, g suffixes)
  --paths LIST      stage (the default path: large files staged into the blob store), plea,
                    pipe (the bytes forced through the segment or the pipe); default ${PATHS_DEFAULT}
  --runs N          measured runs per size and path, after the warm-up (default ${RUNS_DEFAULT})
  --warmup N        unmeasured runs first (default ${WARMUP_DEFAULT})
  --no-many         skip the many-files case (${MANY_FILES_DEFAULT.toLocaleString("en")} files of 1 KiB in one commit)
  --many-files N    how many files the many-files case commits (default ${MANY_FILES_DEFAULT})
  --big             add 5 GiB through plea in one commit (two files of 2.5 GiB), if memory allows
  --shm-kind KIND   the segments plea uses: auto (urth's probe decides; default), memfd or named;
                    the fresh-segment baseline uses the same kind. PLEA_SHM_DIR=DIR puts named
                    segments in DIR (a 64 MiB tmpfs there is Docker's default /dev/shm)
  --no-baselines    skip memcpy, fresh-segment and dd baselines
  --keep-cache      keep the generated inputs in ${defaultCacheDir()} for the next run
  --out DIR         where commit.json and commit.svg go (default bench/results)
  --urth FILE       urth's entry point (default src/urth/main.ts)
  --render FILE     print the tables and redraw the chart (into --out) from a results file; run nothing
  --help            this text`;

interface Options {
  render: string | undefined;
  sizes: number[];
  paths: CommitPath[];
  runs: number;
  warmup: number;
  many: boolean;
  manyFiles: number;
  big: boolean;
  baselines: boolean;
  keepCache: boolean;
  out: string;
  urth: string;
  shmKind: ShmKindChoice;
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function count(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) fail(`--${name} takes a whole number of at least ${min}; got "${text}".`);
  return Number(text);
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        sizes: { type: "string" },
        paths: { type: "string" },
        runs: { type: "string" },
        warmup: { type: "string" },
        "no-many": { type: "boolean" },
        "many-files": { type: "string" },
        big: { type: "boolean" },
        "no-baselines": { type: "boolean" },
        "keep-cache": { type: "boolean" },
        "shm-kind": { type: "string" },
        out: { type: "string" },
        urth: { type: "string" },
        render: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  let sizes: number[];
  try {
    sizes = parseSizes(v.sizes ?? SIZES_DEFAULT);
  } catch (e) {
    fail((e as Error).message);
  }
  const paths = (v.paths ?? PATHS_DEFAULT).split(",").map((p) => p.trim());
  for (const p of paths) if (p !== "pipe" && p !== "plea" && p !== "stage") fail(`--paths takes stage, plea and pipe; got "${p}".`);
  let shmKind: ShmKindChoice = "auto";
  try {
    if (v["shm-kind"] !== undefined) shmKind = parseShmKindChoice(v["shm-kind"], "--shm-kind");
  } catch (e) {
    fail(`${(e as Error).message}.`);
  }
  return {
    render: v.render === undefined ? undefined : resolve(v.render),
    sizes,
    paths: [...new Set(paths)] as CommitPath[],
    runs: count("runs", v.runs, RUNS_DEFAULT, 1),
    warmup: count("warmup", v.warmup, WARMUP_DEFAULT, 0),
    many: !v["no-many"],
    manyFiles: count("many-files", v["many-files"], MANY_FILES_DEFAULT, 1),
    big: v.big === true,
    baselines: !v["no-baselines"],
    keepCache: v["keep-cache"] === true,
    out: resolve(v.out ?? join(import.meta.dir, "results")),
    urth: resolve(v.urth ?? join(import.meta.dir, "..", "src", "urth", "main.ts")),
    shmKind,
  };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface CaseSpec {
  id: string;
  kind: CaseKind;
  label: string;
  payloadBytes: number;
  files: number;
  paths: CommitPath[];
  /** The file whose page-cache residency is recorded before each run. */
  probe?: string;
  /** Puts the input into a fresh mount. */
  fill(mount: string): void;
}

/** Keeps one run's time series (the last measured run of each case), drops the others'. */
function trimmed(memory: MemoryReport, keep: boolean): MemoryReport {
  return keep ? memory : { ...memory, timeline: undefined };
}

/**
 * The kind urth's plea runs will use: the forced one, or for auto what urth's own probe decides
 * (src/urth/shm-kind.ts) against a child that holds the probe's memfd as mars would.
 */
async function resolveShmKind(choice: ShmKindChoice): Promise<{ kind: "named" | "memfd"; reason: string }> {
  if (choice !== "auto") return { kind: choice, reason: "forced by --shm-kind" };
  const probe = ShmProbe.prepare();
  if (probe.fd === undefined) return probe.decide(0, undefined);
  const child = Bun.spawn(["cat"], { stdio: ["pipe", "ignore", "ignore", probe.fd] });
  try {
    const startTime = processStartTime(child.pid);
    return probe.decide(child.pid, typeof startTime === "number" ? startTime : undefined);
  } finally {
    probe.dispose();
    child.kill("SIGKILL");
    await child.exited;
  }
}

async function runCase(spec: CaseSpec, options: Options, cleanup: Cleanup, tmpRoot: string, shmDir: string, shmKind: "named" | "memfd"): Promise<CaseResult[]> {
  const results = new Map<CommitPath, CaseResult>();
  for (const path of spec.paths) {
    results.set(path, { id: spec.id, kind: spec.kind, label: spec.label, payloadBytes: spec.payloadBytes, files: spec.files, path, runs: [], failures: [], summary: { phases: {} } });
  }
  let serial = 0;
  /** Measured runs started per path, to name a failed one ("run 2"). */
  const attempts = new Map<CommitPath, number>();
  const once = async (path: CommitPath, measured: boolean, keepTimeline: boolean) => {
    const result = results.get(path)!;
    if (measured) attempts.set(path, (attempts.get(path) ?? 0) + 1);
    const pier = join(tmpRoot, `${spec.id}-${path}-${serial++}`);
    cleanup.addDir(pier);
    try {
      spec.fill(join(pier, "base"));
      const inputCachedBytes = spec.probe ? cachedBytes(spec.probe) : undefined;
      const run = await runCommit({ urthMain: options.urth, pier, path, cleanup, shmDir, keepTimeline, shmKind: options.shmKind, expectShmKind: shmKind });
      const m = run.memory;
      progress(
        `  ${spec.label} ${path}${measured ? "" : " (warm-up)"}: commit ${run.json.ms.toFixed(0)} ms, ` +
          `wall ${run.wallMs.toFixed(0)} ms, combined peak ${formatBytes(m.combinedPeak)} (${m.combinedPeakFigure}), ` +
          `${m.samples} samples (max gap ${m.gapMaxMs.toFixed(0)} ms), ${m.rollups} rollups` +
          (run.leftSegments.length ? `, LEFT ${run.leftSegments.length} segment(s) in ${shmDir}` : ""),
      );
      if (measured) {
        // urth lists skipped files in its JSON; keep their count, not a list that could be long.
        const { skipped, ...json } = run.json as CommitJson & { skipped?: unknown[] };
        const record: RunRecord = { json: { ...json, skipped: skipped?.length ?? 0 } as CommitJson, wallMs: run.wallMs, memory: trimmed(m, keepTimeline), leftSegments: run.leftSegments, samplerNiceApplied: run.samplerNiceApplied, inputCachedBytes };
        result.runs.push(record);
      }
    } catch (e) {
      // Keep going: how often a case fails is itself a result (a warm-up failure counts too).
      const message = (e as Error).message;
      result.failures.push(`${measured ? `run ${attempts.get(path)}` : "warm-up"}: ${message}`);
      result.error ??= message;
      progress(`  ${spec.label} ${path}${measured ? "" : " (warm-up)"}: FAILED: ${message}`);
    } finally {
      cleanup.removeDir(pier);
    }
  };
  for (let i = 0; i < options.warmup; i++) for (const path of spec.paths) await once(path, false, false);
  for (let i = 0; i < options.runs; i++) {
    // Alternate the order, so that drift in the machine's state does not favour one path.
    const order = i % 2 === 0 ? spec.paths : [...spec.paths].reverse();
    for (const path of order) await once(path, true, i === options.runs - 1);
  }
  for (const result of results.values()) result.summary = summarizeRuns(result.runs);
  return [...results.values()];
}

async function baselinesFor(file: string, size: number, options: Options, tmpRoot: string, namespace: string, shmKind: "named" | "memfd"): Promise<BaselineResult> {
  progress(`  baselines for ${formatBytes(size)}: memcpy, fresh ${shmKind} segment, dd`);
  try {
    const memory = await runMemoryBaselines(file, size, options.runs, namespace, shmKind);
    const dd = measureDd(file, tmpRoot, options.runs);
    return {
      size,
      memcpyMs: summarize(memory.memcpyMs),
      freshCreateMs: summarize(memory.freshCreateMs),
      freshWriteMs: summarize(memory.freshWriteMs),
      freshTotalMs: summarize(memory.freshTotalMs),
      fileToSegmentMs: summarize(memory.fileToSegmentMs),
      ddMs: summarize(dd),
    };
  } catch (e) {
    progress(`  baselines for ${formatBytes(size)}: FAILED: ${(e as Error).message}`);
    return { size, error: (e as Error).message };
  }
}

/** `git add -A` and `git commit` of the many-files tree: the peer a commit of many files is compared with. */
function gitBaselineFor(tree: string, files: number, options: Options, tmpRoot: string): GitBaselineResult {
  progress(`  baseline for ${files.toLocaleString("en")} files: git add -A, git commit`);
  try {
    const g = measureGit(tree, tmpRoot, options.runs);
    return { files, addMs: summarize(g.addMs), commitMs: summarize(g.commitMs) };
  } catch (e) {
    progress(`  git baseline: FAILED: ${(e as Error).message}`);
    return { files, error: (e as Error).message };
  }
}

/** Why `--big` cannot run here, or undefined. Assumes its inputs are not cached yet (the safe side). */
function bigSkipReason(shmDir: string, tmpRoot: string, cacheDir: string, shmKind: "named" | "memfd"): string | undefined {
  const payload = BIG_FILE_BYTES * BIG_FILES;
  const have = room(shmDir, tmpRoot);
  const memNeed = BIG_MEMORY_FACTOR * payload + BIG_MARGIN_BYTES;
  const shmNeed = payload + BIG_MARGIN_BYTES;
  // The cache holds the inputs once; each run's blob is another payload, removed after the run.
  const diskNeed = 2 * payload + BIG_MARGIN_BYTES;
  const reasons: string[] = [];
  if (have.memAvailableBytes < memNeed) reasons.push(`MemAvailable is ${formatBytes(have.memAvailableBytes)}, it needs ${formatBytes(memNeed)}`);
  // A memfd is bounded by memory (checked above), not by the directory.
  if (shmKind === "named" && have.shmFreeBytes < shmNeed) reasons.push(`${shmDir} has ${formatBytes(have.shmFreeBytes)} free, it needs ${formatBytes(shmNeed)}`);
  if (have.diskFreeBytes < diskNeed) reasons.push(`${tmpRoot} has ${formatBytes(have.diskFreeBytes)} free (inputs in ${cacheDir}), it needs ${formatBytes(diskNeed)}`);
  return reasons.length ? reasons.join("; ") : undefined;
}

async function main(): Promise<void> {
  if (process.platform !== "linux") {
    console.error(`This benchmark reads /proc and /dev/shm: Linux only (this is ${process.platform}).`);
    process.exit(2);
  }
  const options = parseOptions(process.argv.slice(2));
  if (options.render !== undefined) return render(options.render, options.out);
  const shmDir = shmDirectory();
  const cleanup = new Cleanup(shmDir);
  cleanup.installSignalHandlers();
  const machine = machineInfo(shmDir);
  const started = new Date();
  const tmpRoot = mkdtempSync(join(tmpdir(), "plea-bench-"));
  cleanup.addDir(tmpRoot);
  const cacheDir = defaultCacheDir();
  if (!options.keepCache) cleanup.addDir(cacheDir);
  const baselineNamespace = namespaceForPier(join(tmpRoot, "baselines"));
  cleanup.addNamespace(baselineNamespace);
  const shm = await resolveShmKind(options.shmKind);
  progress(`Benchmark: urth commit, ${options.paths.join(" and ")}; ${options.runs} runs after ${options.warmup} warm-up per case.`);
  progress(`Segments: ${shm.kind} (${options.shmKind === "auto" ? "auto: " : ""}${shm.reason})${shm.kind === "named" ? ` in ${shmDir}` : ""}.`);
  progress(`Machine: ${machine.cores} cores, ${formatBytes(machine.memTotalBytes)}, load ${machine.loadAtStart.join(" ")}; temporary piers in ${tmpRoot}.`);

  const cases: CaseResult[] = [];
  const baselines: BaselineResult[] = [];
  let git: GitBaselineResult | undefined;
  const notes: string[] = [];
  try {
    for (const size of options.sizes) {
      progress(`${formatBytes(size)}: generating the input in ${cacheDir}`);
      const file = randomFile(cacheDir, size);
      if (options.baselines) baselines.push(await baselinesFor(file, size, options, tmpRoot, baselineNamespace, shm.kind));
      const spec: CaseSpec = {
        id: `single-${size}`,
        kind: "single",
        label: formatBytes(size),
        payloadBytes: size,
        files: 1,
        paths: options.paths,
        probe: file,
        fill: (mount) => linkFile(file, mount, "payload.bin"),
      };
      cases.push(...(await runCase(spec, options, cleanup, tmpRoot, shmDir, shm.kind)));
    }

    if (options.many) {
      const n = options.manyFiles;
      progress(`${n.toLocaleString("en")} files of 1 KiB: generating the tree in ${cacheDir}`);
      const tree = manyFilesTree(cacheDir, n, MANY_FILE_BYTES);
      if (options.baselines) git = gitBaselineFor(tree, n, options, tmpRoot);
      const spec: CaseSpec = {
        id: `many-${n}`,
        kind: "many",
        label: `${n.toLocaleString("en")} files of 1 KiB`,
        payloadBytes: n * MANY_FILE_BYTES,
        files: n,
        // Files of 1 KiB are never staged: the default path is the plea (the event is over the
        // 1 MiB plea threshold), so `stage` would run the plea case twice.
        paths: options.paths.filter((p) => p !== "stage"),
        fill: (mount) => linkTree(tree, mount),
      };
      cases.push(...(await runCase(spec, options, cleanup, tmpRoot, shmDir, shm.kind)));
    }

    if (options.big) {
      const payload = BIG_FILE_BYTES * BIG_FILES;
      const reason = options.paths.includes("plea") ? bigSkipReason(shmDir, tmpRoot, cacheDir, shm.kind) : "it runs through plea, and --paths excludes plea";
      if (reason !== undefined) {
        const note = `--big skipped: ${reason}.`;
        notes.push(note);
        progress(note);
      } else {
        progress(`${formatBytes(payload)} in two files: generating the inputs in ${cacheDir}`);
        const files = Array.from({ length: BIG_FILES }, (_, i) => randomFile(cacheDir, BIG_FILE_BYTES, `part${i}`));
        if (options.baselines) baselines.push(await baselinesFor(files[0], payload, options, tmpRoot, baselineNamespace, shm.kind));
        const spec: CaseSpec = {
          id: `big-${payload}`,
          kind: "big",
          label: `${formatBytes(payload)} (${BIG_FILES} x ${formatBytes(BIG_FILE_BYTES)})`,
          payloadBytes: payload,
          files: BIG_FILES,
          paths: ["plea"],
          probe: files[0],
          fill: (mount) => files.forEach((f, i) => linkFile(f, mount, `part${i}.bin`)),
        };
        cases.push(...(await runCase(spec, options, cleanup, tmpRoot, shmDir, shm.kind)));
      }
    }
  } finally {
    closeRollupWorker();
    cleanup.runAll();
  }

  const loadAtEnd = currentLoad();
  const leftBehind = cases.flatMap((c) => c.runs).reduce((s, r) => s + r.leftSegments.length, 0);
  notes.push(
    `Plea's segments: ${shm.kind} (${options.shmKind === "auto" ? "auto: " : ""}${shm.reason}); the fresh-segment baseline makes the same kind${shm.kind === "named" ? `, in ${shmDir}` : ""}.${shmDir !== "/dev/shm" ? ` PLEA_SHM_DIR=${shmDir} (${formatBytes(machine.shmTotalBytes)}).` : ""}`,
    "Inputs are generated once per size and hard-linked into each pier's mount: the file already sits on disk, warm in the page cache, as an operator's file does when they commit it.",
    `Measured on a shared machine (${machine.cores} cores; load ${machine.loadAtStart.join(" ")} at start, ${loadAtEnd.join(" ")} at the end): figures are noisy.`,
  );
  if (leftBehind > 0) notes.push(`${leftBehind} plea-* segment(s) were left in ${shmDir} after urth exited (removed by the benchmark).`);
  const results: BenchResults = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    command: ["bun", relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(" "),
    options: { ...options, out: relative(process.cwd(), options.out), urth: relative(process.cwd(), options.urth) },
    machine: { ...machine, loadAtEnd },
    notes,
    baselines,
    git,
    cases,
    targets: evaluateTargets(cases, baselines),
    sampler: samplerSummary(cases),
  };
  console.log(renderMarkdown(results));
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "commit.json"), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(join(options.out, "commit.svg"), renderSvg(results));
  progress(`Wrote ${join(options.out, "commit.json")} and commit.svg.`);
}

/** `--render FILE`: the tables and the chart again from a results file, without running anything. */
function render(file: string, out: string): void {
  const results = loadResults(file);
  console.log(renderMarkdown(results));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "commit.svg"), renderSvg(results));
  progress(`Wrote ${join(out, "commit.svg")} from ${file}.`);
}

await main();
