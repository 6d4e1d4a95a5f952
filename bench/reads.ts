/**
 * Reads beside a commit (issue 16): `status`, `ls` of a 1,000-file folder and `cat` of a 4 KiB
 * file on the control socket of an `urth run` while it commits a large file or many small ones;
 * `cat` of a large committed file during another large commit; and how much the readers slow the
 * commit.
 *
 *   npx bun bench/reads.ts [--big 2g] [--files 100000] [--cat-size 1g] [--paths plea]
 *                          [--runs 5] [--cat-runs 3] [--no-big] [--no-many] [--no-cat]
 *                          [--keep-cache] [--out bench/results] [--urth src/urth/main.ts]
 *   npx bun bench/reads.ts --quick        (small sizes, under a minute: for development)
 *   npx bun bench/reads.ts --render bench/results/reads.json    (the tables again, no runs)
 *
 * Each round is a fresh pier in a temporary directory whose mount holds the readers' files
 * (`reads/note-4k.bin`, `reads/d000/` with 1,000 files of 1 KiB), held by `urth run --debounce 0`
 * with the commit path's options (bench/lib/commit-run.ts, PATH_ARGS). Once `run` has committed
 * them, one change is made atomically: a large file hard-linked into the mount from the input
 * cache, or a tree of small files hard-linked beside the mount and renamed into it. `run` notices
 * it (inotify), commits it, and prints its line; the commit is in flight from the change until the
 * benchmark reads that line (`run`'s figure, scan to durable, is the commit's time).
 *
 * Why `run` rather than `urth commit` beside the readers: the holder answering reads is the same
 * process before and during the commit, so the idle figures come from the same urth and mars in
 * the same round, and the reads are served by the operator's long-lived `run`, as in the issue.
 * (`commit` serves the socket too, but only from the moment it starts committing.)
 *
 * Readers are the benchmark's own client (src/urth/control.ts's `controlRequest`, one connection
 * per request, as `urth cat` uses): no process start is counted. They are paced, not looped: each
 * kind of request is sent every `interval` whether or not the previous one was answered, so a
 * request stuck behind the commit does not hide the ones that would have followed it. The warm-up
 * round times each kind one at a time on the idle `run`; the interval keeps the idle holder busy
 * at most IDLE_LOAD_MAX of the time (faster, the idle figures would be a queue's), and is shorter
 * only if 200 of each kind then fit into one commit of the warm-up's length. So the pace follows
 * the urth measured: a faster urth is read more often. Only requests issued in flight count; if
 * 200 do not land in the paired rounds, extra rounds with readers are run (at most 2 x --runs;
 * none with --quick) and the count is reported. Each round with readers first sends the same pace
 * on the idle `run` (no longer than a commit), and times the `urth status` process once idle and
 * once started just after the change.
 *
 * The commit's slow-down: --runs pairs of rounds, one without readers and one with, in
 * alternating order, after one warm-up round without (which also paces the readers).
 *
 * `cat` of a large file: a pier whose mount also holds a --cat-size file, committed with the
 * readers' files; it is read once through the socket and its blob file (`.urb/bob/`) once with
 * `cat`, both untimed (warm), then both timed on the idle `run`, then the socket `cat` again just
 * after another --cat-size file is linked in, while that commit is in flight.
 *
 * Prints markdown tables on stdout (progress on stderr) and writes <out>/reads.json. Piers, the
 * input cache (unless --keep-cache), segments and processes started here are removed or killed at
 * the end, on error and on Ctrl-C.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { shmDirectory } from "../src/ffi/index.ts";
import { controlRequest } from "../src/urth/control.ts";
import { Cleanup } from "./lib/cleanup.ts";
import { type CommitPath, PATH_ARGS, pierNamespaces } from "./lib/commit-run.ts";
import { formatBytes, formatMs, GIB, KIB, MIB, parseSize } from "./lib/format.ts";
import { linkFile, linkTree, manyFilesTree, randomFile } from "./lib/inputs.ts";
import { currentLoad, machineInfo } from "./lib/machine.ts";
import { type CatBigResult, type CatRun, issuedInFlight, opIntervalMs, pairedRounds, READ_OPS, type ReadOp, type ReadsBenchResults, type ReadsCaseResult, type RequestRecord, type RoundResult, summarizeCommits, summarizeOps } from "./lib/reads-results.ts";
import { loadReadsResults, renderReadsMarkdown } from "./lib/reads-report.ts";
import { evaluateReadsTargets, READS_IN_FLIGHT_WANTED } from "./lib/reads-targets.ts";
import { RunHolder } from "./lib/run-holder.ts";
import { summarize } from "./lib/stats.ts";
import { runUrthOk } from "./lib/urth-run.ts";

const BIG_DEFAULT = "2g";
const FILES_DEFAULT = 100_000;
const CAT_SIZE_DEFAULT = "1g";
const PATHS_DEFAULT = "plea";
const RUNS_DEFAULT = 5;
const CAT_RUNS_DEFAULT = 3;
/** --quick: sizes small enough for the whole benchmark to finish in under a minute. */
const QUICK = { big: 16 * MIB, files: 2000, catBytes: 16 * MIB, runs: 3, catRuns: 2 } as const;
// --quick runs no extra rounds: it says how many requests landed in flight instead.

/** Each kind of request is sent at most this often (ms): faster, the readers measure their own queue. */
const MIN_OP_INTERVAL_MS = 6;
/** The readers keep the idle holder busy at most this share of the time (from its time per request, one at a time). */
const IDLE_LOAD_MAX = 0.25;
/** Requests of each kind timed one at a time on the idle holder of the warm-up round (after one untimed). */
const SERVICE_PER_OP = 5;
/** Requests of each kind on the idle holder per round with readers, at least. */
const IDLE_PER_OP_MIN = 10;
/** Extra rounds with readers, to reach READS_IN_FLIGHT_WANTED in flight, at most this times --runs. */
const EXTRA_ROUNDS_FACTOR = 2;
/** The readers' files. */
const CAT_FILE = "reads/note-4k.bin";
const CAT_FILE_BYTES = 4 * KIB;
const LS_FOLDER = "reads/d000";
const LS_FOLDER_FILES = 1000;
const MANY_FILE_BYTES = KIB;
/** The large file the `cat` case reads. */
const CAT_BIG_FILE = "read/big.bin";
/** A commit that has not been acknowledged after this long fails the round. */
const COMMIT_MS_MAX = 30 * 60 * 1000;
const STATUS_PROCESS_MS_MAX = 10 * 60 * 1000;

const USAGE = `usage: npx bun bench/reads.ts [options]

  --big SIZE        the large file committed while readers read (default ${BIG_DEFAULT}; k, m, g suffixes)
  --files N         the small files (1 KiB each) committed in one commit while readers read (default ${FILES_DEFAULT})
  --cat-size SIZE   the committed file \`cat\` reads, and the file committed meanwhile (default ${CAT_SIZE_DEFAULT})
  --paths LIST      the commit's path: stage (urth's default: a large file is staged into the blob
                    store), plea (--stage-threshold 1T) and pipe (plea off too); default ${PATHS_DEFAULT}.
                    The many-files commit has no stage path (files of 1 KiB are never staged):
                    stage runs it as urth's default, which is plea
  --runs N          pairs of rounds without and with readers, after one warm-up (default ${RUNS_DEFAULT})
  --cat-runs N      rounds of the large \`cat\` (default ${CAT_RUNS_DEFAULT})
  --no-big          skip the large-file commit
  --no-many         skip the many-files commit
  --no-cat          skip the large \`cat\`
  --quick           ${formatBytes(QUICK.big)}, ${QUICK.files.toLocaleString("en")} files, ${formatBytes(QUICK.catBytes)} \`cat\`, ${QUICK.runs} pairs, ${QUICK.catRuns} \`cat\` rounds, no extra rounds
                    (explicit options win)
  --keep-cache      keep the generated inputs in ${defaultCacheDir()} for the next run
  --out DIR         where reads.json goes (default bench/results)
  --urth FILE       urth's entry point (default src/urth/main.ts)
  --render FILE     print the tables from a results file; run nothing
  --help            this text`;

function defaultCacheDir(): string {
  return join(tmpdir(), "plea-bench-reads-cache");
}

interface Options {
  render: string | undefined;
  bigBytes: number | undefined;
  files: number | undefined;
  catBytes: number | undefined;
  paths: CommitPath[];
  runs: number;
  catRuns: number;
  /** Extra rounds with readers allowed per case, to reach READS_IN_FLIGHT_WANTED in flight. */
  extraRounds: number;
  quick: boolean;
  keepCache: boolean;
  out: string;
  urth: string;
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

function size(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseSize(text);
  } catch (e) {
    fail(`--${name}: ${(e as Error).message}.`);
  }
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        big: { type: "string" },
        files: { type: "string" },
        "cat-size": { type: "string" },
        paths: { type: "string" },
        runs: { type: "string" },
        "cat-runs": { type: "string" },
        "no-big": { type: "boolean" },
        "no-many": { type: "boolean" },
        "no-cat": { type: "boolean" },
        quick: { type: "boolean" },
        "keep-cache": { type: "boolean" },
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
  const quick = v.quick === true;
  const runs = count("runs", v.runs, quick ? QUICK.runs : RUNS_DEFAULT, 1);
  const paths = (v.paths ?? PATHS_DEFAULT).split(",").map((p) => p.trim());
  for (const p of paths) if (p !== "pipe" && p !== "plea" && p !== "stage") fail(`--paths takes stage, plea and pipe; got "${p}".`);
  return {
    render: v.render === undefined ? undefined : resolve(v.render),
    bigBytes: v["no-big"] ? undefined : size("big", v.big, quick ? QUICK.big : parseSize(BIG_DEFAULT)),
    files: v["no-many"] ? undefined : count("files", v.files, quick ? QUICK.files : FILES_DEFAULT, 1),
    catBytes: v["no-cat"] ? undefined : size("cat-size", v["cat-size"], quick ? QUICK.catBytes : parseSize(CAT_SIZE_DEFAULT)),
    paths: [...new Set(paths)] as CommitPath[],
    runs,
    extraRounds: quick ? 0 : EXTRA_ROUNDS_FACTOR * runs,
    catRuns: count("cat-runs", v["cat-runs"], quick ? QUICK.catRuns : CAT_RUNS_DEFAULT, 1),
    quick,
    keepCache: v["keep-cache"] === true,
    out: resolve(v.out ?? join(import.meta.dir, "results")),
    urth: resolve(v.urth ?? join(import.meta.dir, "..", "src", "urth", "main.ts")),
  };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Paced requests on one control socket: each kind every `intervalMs`, whether or not answered. */
class Readers {
  readonly records: (RequestRecord & { t: number })[] = [];
  readonly #pending: Promise<void>[] = [];
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly socket: string,
    readonly catBytes: Uint8Array,
  ) {}

  /** Starts sending; `perOp` stops after that many of each kind (else `stop()` does). */
  start(intervalMs: number, perOp?: number): void {
    this.#loop = this.#run(intervalMs, perOp);
  }

  async #run(intervalMs: number, perOp: number | undefined): Promise<void> {
    const slot = intervalMs / READ_OPS.length;
    let next = performance.now();
    for (let i = 0; !this.#stopped && (perOp === undefined || i < perOp * READ_OPS.length); i++) {
      this.#pending.push(this.#issue(READ_OPS[i % READ_OPS.length]));
      // A late tick is not made up for with a burst: the pace restarts from now.
      next = Math.max(next + slot, performance.now());
      await Bun.sleep(Math.max(0, next - performance.now()));
    }
  }

  async #issue(op: ReadOp): Promise<void> {
    const t = performance.now();
    const record: RequestRecord & { t: number } = { op, at: 0, t };
    this.records.push(record);
    try {
      const chunks: Uint8Array[] = [];
      const req = op === "status" ? { op } : op === "ls" ? { op, prefix: LS_FOLDER } : { op, path: CAT_FILE };
      const reply = await controlRequest(this.socket, req, (c) => void chunks.push(c.slice()));
      record.ms = performance.now() - t;
      if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
      if (op === "ls" && (reply.files as unknown[]).length !== LS_FOLDER_FILES) throw new Error(`ls ${LS_FOLDER} listed ${(reply.files as unknown[]).length} files, not ${LS_FOLDER_FILES}`);
      if (op === "cat" && !Buffer.concat(chunks).equals(this.catBytes)) throw new Error(`cat ${CAT_FILE} answered bytes that are not the file's`);
    } catch (e) {
      record.ms = undefined;
      record.error = (e as Error).message;
    }
  }

  /** `perOp` of each kind, one at a time (no queue): the holder's own time per request. */
  async sequential(perOp: number): Promise<void> {
    for (let i = 0; i < perOp * READ_OPS.length; i++) await this.#issue(READ_OPS[i % READ_OPS.length]);
  }

  /** Waits until the `perOp` requests of each kind were sent and answered. */
  async finished(): Promise<void> {
    await this.#loop;
    await Promise.all(this.#pending);
  }

  /** Stops sending and waits for every answer. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.finished();
  }

  /** The records, timed relative to `zero` (the change). */
  relativeTo(zero: number, from = 0): RequestRecord[] {
    return this.records.slice(from).map(({ t, ...r }) => ({ ...r, at: t - zero }));
  }
}

interface CaseSpec {
  id: string;
  label: string;
  kind: "big" | "many";
  path: CommitPath;
  payloadBytes: number;
  files: number;
  /** Gets the change ready beside the mount (untimed). */
  prepare(pier: string): void;
  /** Makes the change, atomically. */
  change(pier: string): void;
}

class ReadsBench {
  constructor(
    readonly options: Options,
    readonly cleanup: Cleanup,
    readonly tmpRoot: string,
    readonly cacheDir: string,
    readonly catBytes: Uint8Array,
    readonly lsTree: string,
  ) {}

  #serial = 0;

  /** A fresh pier whose mount holds the readers' files (and `extra` mount-relative links). */
  newPier(id: string, extra: [string, string][] = []): string {
    const pier = join(this.tmpRoot, `${id}-${this.#serial++}`);
    this.cleanup.addDir(pier);
    for (const ns of pierNamespaces(pier)) this.cleanup.addNamespace(ns);
    const base = join(pier, "base");
    linkFile(randomFile(this.cacheDir, CAT_FILE_BYTES, "note"), join(base, "reads"), "note-4k.bin");
    linkTree(this.lsTree, join(base, "reads"));
    for (const [file, rel] of extra) linkFile(file, join(base, rel, ".."), rel.slice(rel.lastIndexOf("/") + 1));
    return pier;
  }

  removePier(pier: string): void {
    this.cleanup.removeSegments(pierNamespaces(pier));
    this.cleanup.removeDir(pier);
  }

  runArgs(path: CommitPath): string[] {
    return [...PATH_ARGS[path], "--debounce", "0"];
  }

  async statusProcess(pier: string): Promise<number> {
    const run = await runUrthOk({ urthMain: this.options.urth, pier, args: ["status"], cleanup: this.cleanup, timeoutMs: STATUS_PROCESS_MS_MAX });
    return run.wallMs;
  }

  /**
   * One round on a fresh pier. `service`: before the change, time each kind of request one at a
   * time on the idle `run` (the warm-up round, which paces the readers).
   */
  async round(spec: CaseSpec, index: number, readers: boolean, extra: boolean, intervalMs: number, idlePerOp: number, service?: Partial<Record<ReadOp, number>>): Promise<RoundResult> {
    const result: RoundResult = { index, readers, extra, idle: [], during: [] };
    const pier = this.newPier(spec.id);
    let holder: RunHolder | undefined;
    try {
      spec.prepare(pier);
      holder = await RunHolder.start(this.options.urth, pier, this.runArgs(spec.path), this.cleanup);
      const r = new Readers(holder.socket, this.catBytes);
      if (service !== undefined) {
        const probe = new Readers(holder.socket, this.catBytes);
        await probe.sequential(1 + SERVICE_PER_OP);
        for (const op of READ_OPS) {
          const times = probe.records.filter((q) => q.op === op).slice(1);
          const failed = times.find((q) => q.error !== undefined);
          if (failed) throw new Error(`${op} on the idle run failed: ${failed.error}`);
          service[op] = summarize(times.map((q) => q.ms!))?.median;
        }
      }
      if (readers) {
        r.start(intervalMs, idlePerOp);
        await r.finished();
        result.statusProcessIdleMs = await this.statusProcess(pier);
      }
      const idleCount = r.records.length;
      const d = new Readers(holder.socket, this.catBytes);
      const before = holder.lines.length;
      const changeAt = performance.now();
      spec.change(pier);
      let status: Promise<number> | undefined;
      let statusStart = 0;
      if (readers) {
        d.start(intervalMs);
        statusStart = performance.now();
        status = this.statusProcess(pier);
      }
      const ack = await holder.nextCommit(before, COMMIT_MS_MAX);
      result.windowMs = ack.at - changeAt;
      await d.stop();
      if (status) {
        result.statusProcessDuringMs = await status;
        result.statusProcessStartedInFlight = ack.at > statusStart;
      }
      result.idle = r.relativeTo(changeAt).slice(0, idleCount);
      result.during = d.relativeTo(changeAt);
      if (ack.parsed?.kind !== "commit") throw new Error(`\`run\` found nothing to commit after the change`);
      result.commitMs = ack.parsed.ms;
      result.eve = ack.parsed.eve;
      result.path = ack.parsed.path;
      const inFlight = result.during.filter((q) => issuedInFlight(q.at, { changeAt: 0, ackAt: result.windowMs! })).length;
      const failed = [...result.idle, ...result.during].filter((q) => q.error !== undefined);
      progress(
        `  ${spec.label} ${spec.path} round ${index}${extra ? " (extra)" : ""}${readers ? "" : " (no readers)"}: commit ${formatMs(result.commitMs)}, window ${formatMs(result.windowMs)}` +
          (readers ? `, ${inFlight} requests in flight, status process ${formatMs(result.statusProcessIdleMs!)} idle / ${formatMs(result.statusProcessDuringMs!)} during` : "") +
          (failed.length ? `, ${failed.length} FAILED (${failed[0].error})` : ""),
      );
    } catch (e) {
      result.error = (e as Error).message;
      progress(`  ${spec.label} ${spec.path} round ${index}: FAILED: ${result.error}`);
    } finally {
      await holder?.stop();
      this.removePier(pier);
    }
    return result;
  }

  async runCase(spec: CaseSpec): Promise<ReadsCaseResult> {
    const c: ReadsCaseResult = { id: spec.id, label: spec.label, kind: spec.kind, path: spec.path, payloadBytes: spec.payloadBytes, files: spec.files, rounds: [], ops: [] };
    progress(`${spec.label}, ${spec.path}: warm-up round (no readers) to pace the readers`);
    const service: Partial<Record<ReadOp, number>> = {};
    const warm = await this.round(spec, 0, false, false, 0, 0, service);
    if (warm.windowMs === undefined) {
      c.error = `warm-up: ${warm.error}`;
      return c;
    }
    c.expectedMs = warm.windowMs;
    c.serviceMs = service;
    // The readers keep the idle holder busy at most IDLE_LOAD_MAX of the time: faster, the idle
    // figures would be a queue's, not urth's.
    const busy = READ_OPS.reduce((sum, op) => sum + (service[op] ?? 0), 0);
    const interval = Math.max(busy / IDLE_LOAD_MAX, opIntervalMs(warm.windowMs, READS_IN_FLIGHT_WANTED, MIN_OP_INTERVAL_MS));
    c.opIntervalMs = interval;
    // The idle window is no longer than a commit (and has at least IDLE_PER_OP_MIN of each kind).
    const idlePerOp = Math.min(Math.ceil(READS_IN_FLIGHT_WANTED / this.options.runs), Math.max(IDLE_PER_OP_MIN, Math.ceil(warm.windowMs / interval)));
    progress(`  idle, one at a time: ${READ_OPS.map((op) => `${op} ${service[op] === undefined ? "-" : formatMs(service[op]!)}`).join(", ")}; readers: each request every ${formatMs(interval)}; ${idlePerOp} of each on the idle run per round`);
    let index = 1;
    for (const readers of pairedRounds(this.options.runs)) c.rounds.push(await this.round(spec, index++, readers, false, interval, idlePerOp));
    const fewest = () => Math.min(...summarizeOps(c.rounds).map((o) => o.inFlight?.n ?? 0));
    for (let extra = 0; extra < this.options.extraRounds && fewest() < READS_IN_FLIGHT_WANTED; extra++) {
      c.rounds.push(await this.round(spec, index++, true, true, interval, idlePerOp));
    }
    c.ops = summarizeOps(c.rounds);
    const commits = summarizeCommits(c.rounds);
    c.commitWith = commits.with;
    c.commitWithout = commits.without;
    c.statusProcessIdle = summarize(c.rounds.filter((r) => r.statusProcessIdleMs !== undefined).map((r) => r.statusProcessIdleMs!));
    c.statusProcessDuring = summarize(c.rounds.filter((r) => r.statusProcessDuringMs !== undefined).map((r) => r.statusProcessDuringMs!));
    const failed = c.rounds.filter((r) => r.error !== undefined);
    if (failed.length > 0) c.error = `${failed.length} of ${c.rounds.length} rounds failed: ${failed[0].error}`;
    return c;
  }

  /** One socket `cat` of `path`, the client discarding the bytes; its time. */
  async socketCat(socket: string, path: string, bytes: number): Promise<number> {
    let got = 0;
    const t = performance.now();
    const reply = await controlRequest(socket, { op: "cat", path }, (c) => void (got += c.length));
    const ms = performance.now() - t;
    if (!reply.ok) throw new Error(`cat ${path}: ${reply.code}: ${reply.message}`);
    if (got !== bytes) throw new Error(`cat ${path} delivered ${got} of ${bytes} bytes`);
    return ms;
  }

  /** `cat FILE > /dev/null` as a process; its wall time. */
  referenceCat(file: string): number {
    const t = performance.now();
    const r = Bun.spawnSync(["cat", file], { stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`cat ${file} exited with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
    return ms;
  }

  /** `cat FILE | cat > /dev/null` (bash); its wall time. */
  referencePipeCat(file: string): number {
    const t = performance.now();
    const r = Bun.spawnSync(["bash", "-c", 'cat "$1" | cat > /dev/null', "bash", file], { stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`cat ${file} | cat exited with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
    return ms;
  }

  async catBig(bytes: number, path: CommitPath): Promise<CatBigResult> {
    const result: CatBigResult = { fileBytes: bytes, path, reference: "blob", runs: [], failures: [] };
    const source = randomFile(this.cacheDir, bytes, "read");
    const other = randomFile(this.cacheDir, bytes, "change");
    progress(`cat of ${formatBytes(bytes)} during a ${formatBytes(bytes)} commit (${path}): ${this.options.catRuns} rounds`);
    for (let i = 0; i < this.options.catRuns; i++) {
      const pier = this.newPier("cat", [[source, CAT_BIG_FILE]]);
      let holder: RunHolder | undefined;
      try {
        holder = await RunHolder.start(this.options.urth, pier, this.runArgs(path), this.cleanup);
        const blob = blobHolding(join(pier, ".urb", "bob"), bytes);
        if (blob === undefined) result.reference = "source";
        const reference = blob ?? source;
        // Both read once, untimed: the same (warm) cache state for the timed reads.
        await this.socketCat(holder.socket, CAT_BIG_FILE, bytes);
        this.referenceCat(reference);
        const run: CatRun = { referenceMs: this.referenceCat(reference), referencePipeMs: this.referencePipeCat(reference), socketIdleMs: await this.socketCat(holder.socket, CAT_BIG_FILE, bytes), socketDuringMs: 0, endedInFlight: false };
        const before = holder.lines.length;
        const changeAt = performance.now();
        linkFile(other, join(pier, "base", "change"), "payload.bin");
        run.socketDuringMs = await this.socketCat(holder.socket, CAT_BIG_FILE, bytes);
        const catEnd = performance.now();
        const ack = await holder.nextCommit(before, COMMIT_MS_MAX);
        run.endedInFlight = ack.at > catEnd;
        run.windowMs = ack.at - changeAt;
        if (ack.parsed?.kind === "commit") run.commitMs = ack.parsed.ms;
        result.runs.push(run);
        progress(`  round ${i + 1}: cat of the ${blob ? "blob" : "source"} ${formatMs(run.referenceMs)}, socket idle ${formatMs(run.socketIdleMs)}, during ${formatMs(run.socketDuringMs)}${run.endedInFlight ? " (ended in flight)" : " (ended after the acknowledgement)"}; commit ${run.commitMs === undefined ? "-" : formatMs(run.commitMs)}`);
      } catch (e) {
        result.failures.push(`round ${i + 1}: ${(e as Error).message}`);
        progress(`  round ${i + 1}: FAILED: ${(e as Error).message}`);
      } finally {
        await holder?.stop();
        this.removePier(pier);
      }
    }
    return result;
  }
}

/**
 * The blob file holding a file of `bytes` bytes: the smallest file in `bob` (not its staging
 * folder) at least that long (a blob adds a header and a footer; docs/blob-store.md).
 */
function blobHolding(bob: string, bytes: number): string | undefined {
  let best: { path: string; size: number } | undefined;
  let names: string[];
  try {
    names = readdirSync(bob);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const size = statSync(join(bob, name)).size;
    if (size >= bytes && (best === undefined || size < best.size)) best = { path: join(bob, name), size };
  }
  return best?.path;
}

async function main(): Promise<void> {
  if (process.platform !== "linux") {
    console.error(`This benchmark reads /proc: Linux only (this is ${process.platform}).`);
    process.exit(2);
  }
  const options = parseOptions(process.argv.slice(2));
  if (options.render !== undefined) {
    console.log(renderReadsMarkdown(loadReadsResults(options.render)));
    return;
  }
  const shmDir = shmDirectory();
  const cleanup = new Cleanup(shmDir);
  cleanup.installSignalHandlers();
  const machine = machineInfo(shmDir);
  const started = new Date();
  const tmpRoot = mkdtempSync(join(tmpdir(), "plea-bench-reads-"));
  cleanup.addDir(tmpRoot);
  const cacheDir = defaultCacheDir();
  if (!options.keepCache) cleanup.addDir(cacheDir);
  progress(`Benchmark: reads beside a commit; paths ${options.paths.join(", ")}; ${options.runs} pairs of rounds per case.`);
  progress(`Machine: ${machine.cores} cores, ${formatBytes(machine.memTotalBytes)}, load ${machine.loadAtStart.join(" ")}; piers in ${tmpRoot}.`);

  const cases: ReadsCaseResult[] = [];
  let catBig: CatBigResult | undefined;
  try {
    progress(`Inputs: generating into ${cacheDir}`);
    const catBytes = readFileSync(randomFile(cacheDir, CAT_FILE_BYTES, "note"));
    const lsTree = manyFilesTree(cacheDir, LS_FOLDER_FILES, MANY_FILE_BYTES);
    const bench = new ReadsBench(options, cleanup, tmpRoot, cacheDir, catBytes, lsTree);
    for (const path of options.paths) {
      if (options.bigBytes !== undefined) {
        const file = randomFile(cacheDir, options.bigBytes, "change");
        cases.push(
          await bench.runCase({
            id: `big-${path}`,
            label: formatBytes(options.bigBytes),
            kind: "big",
            path,
            payloadBytes: options.bigBytes,
            files: 1,
            prepare: () => {},
            change: (pier) => linkFile(file, join(pier, "base", "change"), "payload.bin"),
          }),
        );
      }
      if (options.files !== undefined) {
        const n = options.files;
        const tree = manyFilesTree(cacheDir, n, MANY_FILE_BYTES);
        cases.push(
          await bench.runCase({
            id: `many-${path}`,
            label: `${n.toLocaleString("en")} files of 1 KiB`,
            kind: "many",
            path,
            payloadBytes: n * MANY_FILE_BYTES,
            files: n,
            // Linked beside the mount, outside what run watches; renamed into it as the change.
            prepare: (pier) => linkTree(tree, join(pier, "incoming")),
            change: (pier) => renameSync(join(pier, "incoming"), join(pier, "base", "many")),
          }),
        );
      }
    }
    if (options.catBytes !== undefined) catBig = await bench.catBig(options.catBytes, options.paths[0]);
  } finally {
    cleanup.runAll();
  }

  const loadAtEnd = currentLoad();
  const notes = [
    `Readers: the benchmark's own client on the control socket, one connection per request; each kind of request every ${cases.map((c) => `${c.opIntervalMs === undefined ? "-" : formatMs(c.opIntervalMs)} (${c.label}, ${c.path})`).join(", ")}, whether or not the previous one was answered. In flight: issued from the change to the moment the benchmark read \`run\`'s line for the commit.`,
    "The readers run in the benchmark's process on the same 2 cores as urth and mars: their own cost (a connection, JSON, the event loop) is in every figure, idle and in flight alike.",
    "`run --debounce 0`: the commit starts as soon as inotify reports the change; the window from the change to the acknowledgement includes that notice and the scan.",
    "The `urth status` process is started just after the change, so it is in flight when it connects unless the commit ends first (a short commit may land while Bun starts).",
    `Measured on a shared machine (${machine.cores} cores; load ${machine.loadAtStart.join(" ")} at start, ${loadAtEnd.join(" ")} at the end): figures are noisy.`,
  ];
  if (catBig !== undefined) {
    notes.push(
      `Large \`cat\`: the reference is \`cat\` of the ${catBig.reference === "blob" ? "blob file in .urb/bob/ that holds the committed file's bytes" : "source file (no blob was found)"} to /dev/null, as a process; it and the socket \`cat\` were each read once, untimed, before the timed reads (warm cache for both).`,
    );
  }
  const results: ReadsBenchResults = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    command: ["bun", relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(" "),
    options: { ...options, out: relative(process.cwd(), options.out), urth: relative(process.cwd(), options.urth) },
    machine: { ...machine, loadAtEnd },
    notes,
    cases,
    catBig,
    targets: evaluateReadsTargets(cases, catBig),
  };
  console.log(renderReadsMarkdown(results));
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "reads.json"), `${JSON.stringify(results, null, 1)}\n`);
  progress(`Wrote ${join(options.out, "reads.json")}.`);
}

await main();
