/**
 * What a pier costs after it has committed large files (issue 13's targets): the read-only
 * commands on an idle pier, a byte-identical re-commit, a pier of many small files, and the
 * size of a snapshot. Only urth's command line is driven, so the same benchmark runs the code
 * before and after the blob store.
 *
 *   npx bun bench/pier.ts [--big-gib 2,8] [--file-mib 1024] [--runs 5] [--warmup 0]
 *                         [--many-files 100000 | --no-many] [--no-recommit] [--no-snapshot]
 *                         [--no-verify] [--plea-threshold BYTES] [--keep-cache] [--out bench/results]
 *                         [--urth src/urth/main.ts] [--urth-baseline OTHER/src/urth/main.ts]
 *   npx bun bench/pier.ts --render bench/results/pier.json    (the tables again, no runs)
 *
 * A quick run: `--file-mib 16 --big-gib 2,8 --many-files 1000 --runs 3`.
 *
 * Piers, each built in a fresh temporary directory on the disk (`$TMPDIR`, else /tmp) by
 * hard-linking inputs into `<pier>/base/` and running `urth commit --json`:
 * - small: a few small files, 1 MiB in all (`docs/note-4k.bin` is the file `cat` reads, `docs`
 *   the folder `ls` lists);
 * - big-N for each N of --big-gib: the small files, then N files of --file-mib (random bytes),
 *   one commit per file so that each file's first commit is timed on its own. One pier grows
 *   through the sizes: big-2 is measured, then six more files make it big-8;
 * - many: --many-files files of 1 KiB in one commit.
 * Inputs are generated once (random bytes, last byte non-zero: bench/lib/inputs.ts) into a cache
 * directory and shared by every pier, so both urths commit the same bytes.
 *
 * On each idle pier (no urth running): `urth status`, `urth ls docs` and `urth cat
 * docs/note-4k.bin`, --runs times each, round-robin; wall time from spawn to exit (each command
 * starts its own mars, which replays the log or loads a snapshot) and mars's peak Pss_Anon,
 * polled every 10 ms from /proc/PID/smaps_rollup (bench/lib/mars-memory.ts). One unmeasured
 * `urth status --json` comes first (files, bytes, event). `urth verify`, once, when the urth has
 * it (found in `urth --help`). On the many-files pier, `status` alone.
 * After the biggest pier's measurements: a re-commit of `big/part0.bin` after `touch`, then after
 * a copy of it is moved over it (cp to a temporary file in the pier, fsync, rename), each against
 * the file's first commit (urth's scan-to-durable figure, `ms` of `commit --json`, and wall), with
 * `.urb`'s growth (`du -sb`). Then the snapshot: an idle `urth status` (mars's clean exit writes one
 * if its policy says so); if no snapshot of the head event exists, `%sync %save` through
 * bench/lib/pier-save.ts (urth has no command for it). Its size is the newest
 * `.urb/chk/snapshot-<eve>.plea`.
 *
 * Old against new: `--urth FILE` is the urth measured (default this checkout's), judged against
 * the targets. `--urth-baseline FILE` adds a second urth (e.g. a worktree of main before the
 * change) run in the same invocation on the same inputs: each phase (small pier, big pier, many
 * files) runs the baseline first, then the candidate, on fresh piers, so both see the same
 * machine state, and the target table gives each figure beside the baseline's with their ratio.
 * One invocation rather than two combined runs, because the load of a shared machine drifts
 * between runs; and only one big pier exists at a time (each is removed before the next), so the
 * disk need does not double. Without a baseline, figures are shown beside issue 13's table for
 * main where it measured the same thing (two files of 1 GiB). An older checkout to run, without
 * touching any worktree: `git archive main | tar -x -C /tmp/plea-main` and a link to this
 * checkout's node_modules in it (`ln -s "$(readlink -f node_modules)" /tmp/plea-main/`), then
 * `--urth-baseline /tmp/plea-main/src/urth/main.ts`.
 *
 * `commit --json`'s `ms` runs from the scan to the durable acknowledgement: it leaves out mars's
 * start and replay, which urth pays before it scans. On main a re-commit's cost is mostly that
 * replay, so the wall time is reported beside it.
 *
 * Segments go where urth puts them (PLEA_SHM_DIR moves named segments, as for bench/commit.ts);
 * this run's are removed at the end. Piers, the input cache (unless --keep-cache) and processes
 * started here are removed or killed at the end, on error and on Ctrl-C. Before anything runs,
 * the disk and memory the baseline's worst case needs (main keeps every committed byte in the log,
 * in a snapshot and in mars's heap) are checked (--no-room-check skips it).
 *
 * Prints markdown tables on stdout (progress on stderr) and writes <out>/pier.json.
 */
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, statfsSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { shmDirectory } from "../src/ffi/index.ts";
import { Cleanup } from "./lib/cleanup.ts";
import { type CommitJson, lastJsonLine, pierNamespaces } from "./lib/commit-run.ts";
import { formatBytes, KIB, MIB } from "./lib/format.ts";
import { linkFile, linkTree, manyFilesTree, randomFile } from "./lib/inputs.ts";
import { currentLoad, machineInfo, room } from "./lib/machine.ts";
import { CAT_FILE, LS_FOLDER, newestSnapshot, parseBigCounts, roomNeeded, SMALL_FILES } from "./lib/pier-layout.ts";
import { type CommitRecord, type IdleCommandResult, type IdleResult, type PierBenchResults, type ReadCommand, type RecommitKind, type RecommitResult, type SnapshotResult, type UrthResults } from "./lib/pier-results.ts";
import { loadPierResults, renderPierMarkdown } from "./lib/pier-report.ts";
import { evaluatePierTargets } from "./lib/pier-targets.ts";
import { summarize } from "./lib/stats.ts";
import { runUrth, runUrthOk, tail } from "./lib/urth-run.ts";

const BIG_DEFAULT = "2,8";
const FILE_MIB_DEFAULT = 1024;
const RUNS_DEFAULT = 5;
const WARMUP_DEFAULT = 0;
const MANY_FILES_DEFAULT = 100_000;
const MANY_FILE_BYTES = KIB;

/** The big file re-committed. */
const RECOMMIT_FILE = "big/part0.bin";

/** A commit (or `%sync %save`) that has not finished after this long is killed and reported as failed. */
const COMMIT_TIMEOUT_MS = 30 * 60 * 1000;
/** The same for a read-only command. */
const READ_TIMEOUT_MS = 15 * 60 * 1000;

/** tmpfs's f_type (statfs): a pier there would measure memory, not the disk. */
const TMPFS_MAGIC = 0x01021994;

const USAGE = `usage: npx bun bench/pier.ts [options]

  --big-gib LIST      the big piers, by how many big files they hold: GiB at the default
                      --file-mib (default ${BIG_DEFAULT}: big-2 and big-8)
  --file-mib N        size of each big file in MiB (default ${FILE_MIB_DEFAULT}); e.g. 16 for a quick run
  --runs N            runs of each read-only command per idle pier (default ${RUNS_DEFAULT}); medians are reported
  --warmup N          unmeasured rounds first (default ${WARMUP_DEFAULT})
  --many-files N      files of 1 KiB in the many-files pier (default ${MANY_FILES_DEFAULT})
  --no-many           skip the many-files pier
  --no-recommit       skip the byte-identical re-commits
  --no-snapshot       skip the snapshot
  --no-verify         do not time \`urth verify\` even where urth has it
  --plea-threshold B  passed to \`urth commit\` (default: urth's own)
  --urth FILE         the urth measured (default src/urth/main.ts of this checkout)
  --urth-baseline F   another checkout's urth, run in the same invocation (e.g. main before the change)
  --no-room-check     run even if the disk or memory looks too small for the baseline's worst case
  --keep-cache        keep the generated inputs in ${defaultCacheDir()} for the next run
  --out DIR           where pier.json goes (default bench/results)
  --render FILE       print the tables from a results file; run nothing
  --help              this text`;

function defaultCacheDir(): string {
  return join(tmpdir(), "plea-bench-pier-cache");
}

interface Options {
  render: string | undefined;
  bigCounts: number[];
  fileBytes: number;
  runs: number;
  warmup: number;
  manyFiles: number | undefined;
  recommit: boolean;
  snapshot: boolean;
  verify: boolean;
  pleaThreshold: string | undefined;
  urth: string;
  urthBaseline: string | undefined;
  roomCheck: boolean;
  keepCache: boolean;
  out: string;
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
        "big-gib": { type: "string" },
        "file-mib": { type: "string" },
        runs: { type: "string" },
        warmup: { type: "string" },
        "many-files": { type: "string" },
        "no-many": { type: "boolean" },
        "no-recommit": { type: "boolean" },
        "no-snapshot": { type: "boolean" },
        "no-verify": { type: "boolean" },
        "plea-threshold": { type: "string" },
        urth: { type: "string" },
        "urth-baseline": { type: "string" },
        "no-room-check": { type: "boolean" },
        "keep-cache": { type: "boolean" },
        out: { type: "string" },
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
  let bigCounts: number[];
  try {
    bigCounts = parseBigCounts(v["big-gib"] ?? BIG_DEFAULT);
  } catch (e) {
    fail((e as Error).message);
  }
  // Passed to urth as given, so checked by urth's own rule (docs/urth.md, "Options").
  if (v["plea-threshold"] !== undefined && !/^\d+([KMGT]i?B?)?$/i.test(v["plea-threshold"])) fail(`--plea-threshold takes a byte count like 268435456 or 256M; got "${v["plea-threshold"]}".`);
  const urthPath = (p: string) => resolve(p);
  return {
    render: v.render === undefined ? undefined : resolve(v.render),
    bigCounts,
    fileBytes: count("file-mib", v["file-mib"], FILE_MIB_DEFAULT, 1) * MIB,
    runs: count("runs", v.runs, RUNS_DEFAULT, 1),
    warmup: count("warmup", v.warmup, WARMUP_DEFAULT, 0),
    manyFiles: v["no-many"] ? undefined : count("many-files", v["many-files"], MANY_FILES_DEFAULT, 1),
    recommit: !v["no-recommit"],
    snapshot: !v["no-snapshot"],
    verify: !v["no-verify"],
    pleaThreshold: v["plea-threshold"],
    urth: urthPath(v.urth ?? join(import.meta.dir, "..", "src", "urth", "main.ts")),
    urthBaseline: v["urth-baseline"] === undefined ? undefined : urthPath(v["urth-baseline"]),
    roomCheck: !v["no-room-check"],
    keepCache: v["keep-cache"] === true,
    out: resolve(v.out ?? join(import.meta.dir, "results")),
  };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** `du -sb DIR`: apparent bytes of everything under it. */
function duBytes(dir: string): number {
  const r = Bun.spawnSync(["du", "-sb", dir], { stdout: "pipe", stderr: "pipe" });
  const n = Number(r.stdout.toString().split(/\s/)[0]);
  if (r.exitCode !== 0 || !Number.isFinite(n)) throw new Error(`du -sb ${dir} failed with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return n;
}

/** The checkout an entry point belongs to, as `branch@abc1234` (`+dirty` with changes), if it is in a git worktree. */
function revisionOf(urthMain: string): string | undefined {
  const dir = dirname(urthMain);
  const git = (...args: string[]) => {
    const r = Bun.spawnSync(["git", "-C", dir, ...args], { stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
  };
  const sha = git("rev-parse", "--short", "HEAD");
  if (sha === undefined) return undefined;
  const branch = git("rev-parse", "--abbrev-ref", "HEAD");
  const dirty = (git("status", "--porcelain", "--untracked-files=no") ?? "") !== "";
  return `${branch && branch !== "HEAD" ? `${branch}@` : ""}${sha}${dirty ? "+dirty" : ""}`;
}

/** Whether `urth --help` lists a `verify` command. */
function hasVerify(urthMain: string): boolean {
  const r = Bun.spawnSync([process.execPath, urthMain, "--help"], { stdout: "pipe", stderr: "pipe" });
  return /^\s+verify\b/m.test(r.stdout.toString() + r.stderr.toString());
}

/** Runs one urth against the piers; one instance per urth. */
class UrthBench {
  readonly results: UrthResults;

  constructor(
    readonly urthMain: string,
    role: UrthResults["role"],
    readonly options: Options,
    readonly cleanup: Cleanup,
    readonly tmpRoot: string,
    readonly cacheDir: string,
  ) {
    this.results = { role, urthMain, revision: revisionOf(urthMain), verifyAvailable: hasVerify(urthMain), commits: [], idle: [], recommits: [], errors: [] };
  }

  get name(): string {
    return `${this.results.role}${this.results.revision ? ` ${this.results.revision}` : ""}`;
  }

  #newPier(id: string): string {
    const pier = join(this.tmpRoot, `${id}-${this.results.role}`);
    mkdirSync(join(pier, "base"), { recursive: true });
    this.cleanup.addDir(pier);
    for (const ns of pierNamespaces(pier)) this.cleanup.addNamespace(ns);
    return pier;
  }

  #removePier(pier: string): void {
    this.cleanup.removeSegments(pierNamespaces(pier));
    this.cleanup.removeDir(pier);
  }

  #fillSmall(pier: string): void {
    for (const [path, bytes] of SMALL_FILES) {
      const file = randomFile(this.cacheDir, bytes, path.replace(/[/.]/g, "-"));
      linkFile(file, join(pier, "base", dirname(path)), path.slice(path.lastIndexOf("/") + 1));
    }
  }

  async #commit(pier: string, pierId: string, what: string): Promise<CommitRecord> {
    const args = ["commit", "--json"];
    if (this.options.pleaThreshold !== undefined) args.push("--plea-threshold", this.options.pleaThreshold);
    const run = await runUrthOk({ urthMain: this.urthMain, pier, args, cleanup: this.cleanup, timeoutMs: COMMIT_TIMEOUT_MS });
    const json = lastJsonLine(new TextDecoder().decode(run.stdout));
    if (json === undefined) throw new Error(`\`${run.command}\` printed no JSON line on stdout.\n${tail(run.stderr)}`);
    const { skipped, ...rest } = json as CommitJson & { skipped?: unknown[] };
    if (skipped?.length) throw new Error(`\`${run.command}\` skipped ${skipped.length} file(s); the piers' inputs should all be committed`);
    const record: CommitRecord = { pier: pierId, what, json: rest, wallMs: run.wallMs, marsPssAnonPeak: run.mars.pssAnonPeak };
    this.results.commits.push(record);
    progress(`  ${this.name}: commit of ${what}: event ${json.eve} via ${json.path}, ${formatBytes(json.bytes)}, scan to durable ${json.ms.toFixed(0)} ms, wall ${run.wallMs.toFixed(0)} ms`);
    return record;
  }

  /** The read-only commands on an idle pier, round-robin, --warmup rounds unmeasured then --runs measured. */
  async #measureIdle(pier: string, id: string, label: string, bigFiles: number, commands: readonly ReadCommand[]): Promise<IdleResult> {
    const result: IdleResult = { pier: id, label, bigFiles, commands: [] };
    try {
      // Files, bytes and event: also a first start of mars on the idle pier, unmeasured.
      const status = await runUrthOk({ urthMain: this.urthMain, pier, args: ["status", "--json"], cleanup: this.cleanup, timeoutMs: READ_TIMEOUT_MS });
      const s = JSON.parse(new TextDecoder().decode(status.stdout)) as { files: number; bytes: number; eve: number };
      Object.assign(result, { files: s.files, committedBytes: s.bytes, eve: s.eve, urbBytes: duBytes(join(pier, ".urb")) });
    } catch (e) {
      result.error = (e as Error).message;
      progress(`  ${this.name} ${label}: FAILED: ${result.error}`);
      return result;
    }
    const catBytes = readFileSync(randomFile(this.cacheDir, 4 * KIB, CAT_FILE.replace(/[/.]/g, "-")));
    const specs: Record<ReadCommand, { args: string[]; check: (stdout: Uint8Array) => string | undefined }> = {
      status: { args: [], check: (out) => (new TextDecoder().decode(out).includes(`${result.files}`) ? undefined : "status did not print the file count") },
      ls: { args: [LS_FOLDER], check: (out) => (new TextDecoder().decode(out).includes(CAT_FILE) ? undefined : `ls ${LS_FOLDER} did not list ${CAT_FILE}`) },
      cat: { args: [CAT_FILE], check: (out) => (Buffer.from(out).equals(catBytes) ? undefined : `cat ${CAT_FILE} printed ${out.length} bytes that are not the file's ${catBytes.length}`) },
    };
    const byCommand = new Map<ReadCommand, IdleCommandResult>();
    for (const command of commands) {
      const r: IdleCommandResult = { command, args: specs[command].args, wallMs: [], pssAnonPeak: 0, rssAnonPeak: 0, hwm: 0, pollsMin: Infinity, pollGapMaxMs: 0, failures: [] };
      byCommand.set(command, r);
      result.commands.push(r);
    }
    const rounds = this.options.warmup + this.options.runs;
    for (let round = 0; round < rounds; round++) {
      const measured = round >= this.options.warmup;
      // Alternate the order, so that drift in the machine's state favours no command.
      const order = round % 2 === 0 ? commands : [...commands].reverse();
      for (const command of order) {
        const r = byCommand.get(command)!;
        const spec = specs[command];
        try {
          const run = await runUrthOk({ urthMain: this.urthMain, pier, args: [command, ...spec.args], cleanup: this.cleanup, timeoutMs: READ_TIMEOUT_MS });
          const wrong = spec.check(run.stdout);
          if (wrong !== undefined) throw new Error(wrong);
          if (!measured) continue;
          r.wallMs.push(run.wallMs);
          r.pssAnonPeak = Math.max(r.pssAnonPeak, run.mars.pssAnonPeak);
          r.rssAnonPeak = Math.max(r.rssAnonPeak, run.mars.rssAnonPeak);
          r.hwm = Math.max(r.hwm, run.mars.hwm);
          r.pollsMin = Math.min(r.pollsMin, run.mars.polls);
          r.pollGapMaxMs = Math.max(r.pollGapMaxMs, run.mars.gapMaxMs);
        } catch (e) {
          r.failures.push(`${measured ? "run" : "warm-up"} ${round + 1}: ${(e as Error).message}`);
          progress(`  ${this.name} ${label} ${command}: FAILED: ${(e as Error).message}`);
        }
      }
    }
    for (const r of result.commands) {
      r.wall = summarize(r.wallMs);
      if (!Number.isFinite(r.pollsMin)) r.pollsMin = 0;
      progress(`  ${this.name} ${label}: ${r.command} median ${r.wall?.median.toFixed(0) ?? "-"} ms, mars peak Pss_Anon ${formatBytes(r.pssAnonPeak)} (${r.pollsMin}+ polls)`);
    }
    if (this.options.verify && this.results.verifyAvailable) {
      const run = await runUrth({ urthMain: this.urthMain, pier, args: ["verify"], cleanup: this.cleanup, timeoutMs: COMMIT_TIMEOUT_MS });
      result.verify = { wallMs: run.wallMs, code: run.code, pssAnonPeak: run.mars.pssAnonPeak, stderrTail: run.code === 0 ? undefined : tail(run.stderr, 5) };
      progress(`  ${this.name} ${label}: verify ${run.wallMs.toFixed(0)} ms, status ${run.code}`);
    }
    return result;
  }

  async small(): Promise<void> {
    const pier = this.#newPier("small");
    try {
      this.#fillSmall(pier);
      await this.#commit(pier, "small", "small files");
      this.results.idle.push(await this.#measureIdle(pier, "small", `small (${formatBytes(SMALL_FILES.reduce((s, [, b]) => s + b, 0))})`, 0, ["status", "ls", "cat"]));
    } catch (e) {
      this.#error("small pier", e);
    } finally {
      this.#removePier(pier);
    }
  }

  /** One pier grows through the --big-gib sizes; re-commits and the snapshot at the biggest. */
  async big(): Promise<void> {
    const { bigCounts, fileBytes } = this.options;
    const pier = this.#newPier("big");
    const firsts = new Map<string, CommitRecord>();
    let added = 0;
    try {
      this.#fillSmall(pier);
      await this.#commit(pier, "big", "small files");
      for (const n of bigCounts) {
        for (; added < n; added++) {
          const name = `part${added}.bin`;
          linkFile(randomFile(this.cacheDir, fileBytes, `big${added}`), join(pier, "base", "big"), name);
          firsts.set(`big/${name}`, await this.#commit(pier, `big-${n}`, `big/${name}`));
        }
        this.results.idle.push(await this.#measureIdle(pier, `big-${n}`, `big-${n} (${n} x ${formatBytes(fileBytes)})`, n, ["status", "ls", "cat"]));
      }
      if (this.options.recommit) {
        for (const kind of ["touch", "copy"] as const) this.results.recommits.push(await this.#recommit(pier, kind, added, firsts.get(RECOMMIT_FILE)));
      }
      if (this.options.snapshot) this.results.snapshot = await this.#snapshot(pier, added);
    } catch (e) {
      this.#error(`big pier (${added} big files committed)`, e);
    } finally {
      this.#removePier(pier);
    }
  }

  async #recommit(pier: string, kind: RecommitKind, bigFiles: number, first: CommitRecord | undefined): Promise<RecommitResult> {
    const result: RecommitResult = { kind, file: RECOMMIT_FILE, fileBytes: this.options.fileBytes, pierBigFiles: bigFiles, firstMs: first?.json.ms, firstWallMs: first?.wallMs };
    const file = join(pier, "base", RECOMMIT_FILE);
    try {
      if (kind === "touch") {
        const now = new Date();
        utimesSync(file, now, now);
      } else {
        // cp to a temporary file beside the mount, on the same file system, then mv over the file:
        // a new inode with the same bytes. fsynced first, so the commit pays no writeback of the copy.
        const copy = join(pier, "recommit-copy.tmp");
        copyFileSync(file, copy);
        const fd = openSync(copy, "r+");
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(copy, file);
      }
      result.urbBeforeBytes = duBytes(join(pier, ".urb"));
      const record = await this.#commit(pier, `big-${bigFiles}`, `${RECOMMIT_FILE} again (${kind === "touch" ? "after touch" : "copy moved over it"})`);
      result.json = record.json;
      result.wallMs = record.wallMs;
      result.urbAfterBytes = duBytes(join(pier, ".urb"));
      result.growthBytes = result.urbAfterBytes - result.urbBeforeBytes;
      progress(`  ${this.name}: re-commit (${kind}): .urb grew by ${formatBytes(Math.max(0, result.growthBytes))}${result.growthBytes < 0 ? ` (shrank by ${formatBytes(-result.growthBytes)})` : ""}`);
    } catch (e) {
      result.error = (e as Error).message;
      progress(`  ${this.name}: re-commit (${kind}): FAILED: ${result.error}`);
    }
    return result;
  }

  async #snapshot(pier: string, bigFiles: number): Promise<SnapshotResult> {
    const result: SnapshotResult = { bigFiles };
    const chk = join(pier, ".urb", "chk");
    const newest = () => newestSnapshot(readdirSync(chk, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name));
    try {
      // An idle status: mars's clean exit writes a snapshot if its policy says so.
      const status = await runUrthOk({ urthMain: this.urthMain, pier, args: ["status", "--json"], cleanup: this.cleanup, timeoutMs: READ_TIMEOUT_MS });
      const s = JSON.parse(new TextDecoder().decode(status.stdout)) as { files: number; eve: number };
      result.files = s.files;
      let found = newest();
      if (found?.eve === s.eve) result.via = "exit";
      else {
        progress(`  ${this.name}: no snapshot of event ${s.eve} after mars's exit; asking for one with %sync %save`);
        const argv = [process.execPath, join(import.meta.dir, "lib", "pier-save.ts"), this.urthMain, pier];
        const t0 = performance.now();
        const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
        this.cleanup.addPid(proc.pid, pier);
        const [, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
        this.cleanup.forgetPid(proc.pid);
        result.saveWallMs = performance.now() - t0;
        if (code !== 0) throw new Error(`bench/lib/pier-save.ts exited with status ${code}: ${tail(stderr, 5)}`);
        found = newest();
        if (found?.eve !== s.eve) throw new Error(`%sync %save left no snapshot of event ${s.eve} in ${chk} (newest: ${found?.name ?? "none"})`);
        result.via = "save";
      }
      result.name = found.name;
      result.eve = found.eve;
      result.bytes = statSync(join(chk, found.name)).size;
      progress(`  ${this.name}: snapshot ${found.name}: ${formatBytes(result.bytes)} (${s.files} files; written at ${result.via === "save" ? "%sync %save" : "mars's exit"})`);
    } catch (e) {
      result.error = (e as Error).message;
      progress(`  ${this.name}: snapshot: FAILED: ${result.error}`);
    }
    return result;
  }

  async many(n: number): Promise<void> {
    const pier = this.#newPier("many");
    const label = `many-${n} (${n.toLocaleString("en")} x 1 KiB)`;
    try {
      linkTree(manyFilesTree(this.cacheDir, n, MANY_FILE_BYTES), join(pier, "base"));
      await this.#commit(pier, `many-${n}`, `${n.toLocaleString("en")} files of 1 KiB`);
      // Each status is a restart: urth starts a mars of its own, which replays or loads a snapshot.
      this.results.many = await this.#measureIdle(pier, `many-${n}`, label, 0, ["status"]);
    } catch (e) {
      this.#error("many-files pier", e);
      this.results.many ??= { pier: `many-${n}`, label, bigFiles: 0, commands: [], error: (e as Error).message };
    } finally {
      this.#removePier(pier);
    }
  }

  #error(what: string, e: unknown): void {
    const message = `${what}: ${(e as Error).message}`;
    this.results.errors.push(message);
    progress(`  ${this.name}: FAILED: ${message}`);
  }
}

async function main(): Promise<void> {
  if (process.platform !== "linux") {
    console.error(`This benchmark reads /proc: Linux only (this is ${process.platform}).`);
    process.exit(2);
  }
  const options = parseOptions(process.argv.slice(2));
  if (options.render !== undefined) {
    console.log(renderPierMarkdown(loadPierResults(options.render)));
    return;
  }
  const shmDir = shmDirectory();
  const cleanup = new Cleanup(shmDir);
  cleanup.installSignalHandlers();
  const machine = machineInfo(shmDir);
  const started = new Date();
  const tmpRoot = mkdtempSync(join(tmpdir(), "plea-bench-pier-"));
  cleanup.addDir(tmpRoot);
  const cacheDir = defaultCacheDir();
  if (!options.keepCache) cleanup.addDir(cacheDir);
  const notes: string[] = [];
  const bigMax = options.bigCounts[options.bigCounts.length - 1];

  const need = roomNeeded(bigMax, options.fileBytes, options.manyFiles);
  const have = room(shmDir, tmpRoot);
  const short: string[] = [];
  if (have.diskFreeBytes < need.diskBytes) short.push(`${tmpRoot} has ${formatBytes(have.diskFreeBytes)} free, the run may need ${formatBytes(need.diskBytes)}`);
  if (have.memAvailableBytes < need.memoryBytes) short.push(`MemAvailable is ${formatBytes(have.memAvailableBytes)}, a baseline mars may need ${formatBytes(need.memoryBytes)}`);
  if (short.length > 0 && options.roomCheck) {
    cleanup.runAll();
    console.error(`Not enough room: ${short.join("; ")}. Use smaller --big-gib or --file-mib, free some, or pass --no-room-check.`);
    process.exit(2);
  }
  if (short.length > 0) notes.push(`Ran despite: ${short.join("; ")}.`);
  if (statfsSync(tmpRoot).type === TMPFS_MAGIC) notes.push(`${tmpRoot} is a tmpfs: piers there live in memory, so disk figures (commit, verify) are not the disk's.`);

  const benches: UrthBench[] = [];
  if (options.urthBaseline !== undefined) benches.push(new UrthBench(options.urthBaseline, "baseline", options, cleanup, tmpRoot, cacheDir));
  const candidate = new UrthBench(options.urth, "candidate", options, cleanup, tmpRoot, cacheDir);
  benches.push(candidate);
  progress(`Benchmark: urth on idle piers; big piers ${options.bigCounts.map((n) => `${n} x ${formatBytes(options.fileBytes)}`).join(", ")}; ${options.runs} runs per command.`);
  progress(`urth: ${benches.map((b) => `${b.name} = ${b.urthMain}${b.results.verifyAvailable ? " (has verify)" : ""}`).join("; ")}.`);
  progress(`Machine: ${machine.cores} cores, ${formatBytes(machine.memTotalBytes)}, load ${machine.loadAtStart.join(" ")}; piers in ${tmpRoot}; ${formatBytes(have.diskFreeBytes)} free there.`);

  try {
    progress(`Inputs: generating into ${cacheDir}`);
    for (let i = 0; i < bigMax; i++) randomFile(cacheDir, options.fileBytes, `big${i}`);
    progress("Small pier");
    for (const b of benches) await b.small();
    progress("Big pier");
    for (const b of benches) await b.big();
    if (options.manyFiles !== undefined) {
      progress(`Many-files pier: ${options.manyFiles.toLocaleString("en")} files of 1 KiB`);
      for (const b of benches) await b.many(options.manyFiles);
    }
  } finally {
    cleanup.runAll();
  }

  const loadAtEnd = currentLoad();
  notes.push(
    "Wall times run from spawning urth to its exit: Bun's start, urth's, mars's start and its replay or snapshot load, the command, and mars's and urth's exit.",
    "mars's peak Pss_Anon is polled every 10 ms from /proc/PID/smaps_rollup on the benchmark's main thread, within a quarter of one core: a mars holding a large heap takes longer to read, so its polls are further apart (the polls column gives the largest gap).",
    "Before the measured rounds on each pier, one unmeasured `urth status --json` reads its files, bytes and event (and warms the page cache).",
    "Inputs are generated once and hard-linked into each pier's mount: both urths commit the same bytes, warm in the page cache.",
    `Measured on a shared machine (${machine.cores} cores; load ${machine.loadAtStart.join(" ")} at start, ${loadAtEnd.join(" ")} at the end): figures are noisy.`,
  );
  if (!candidate.results.verifyAvailable) notes.push("The candidate urth has no `verify` command (not in `urth --help`): not timed.");
  const baseline = benches.find((b) => b.results.role === "baseline");
  const results: PierBenchResults = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    command: ["bun", relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(" "),
    options: { ...options, out: relative(process.cwd(), options.out) },
    machine: { ...machine, loadAtEnd },
    notes,
    runs: [candidate.results, ...(baseline ? [baseline.results] : [])],
    targets: evaluatePierTargets(candidate.results, baseline?.results, options.fileBytes),
  };
  console.log(renderPierMarkdown(results));
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "pier.json"), `${JSON.stringify(results, null, 1)}\n`);
  progress(`Wrote ${join(options.out, "pier.json")}.`);
}

await main();
