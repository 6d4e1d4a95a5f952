/**
 * Shared pieces of the urth end-to-end tests: the real CLI spawned as a child (`urth(...)`), a
 * `run` held in the background (`startRun`), temporary directories and piers (removed in
 * `cleanUp`, which every test file calls in afterEach even when a test fails), and the check that
 * no test left a `plea-` segment of its piers in /dev/shm.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { processStartTime, sweepOrphans } from "../../src/ffi/index.ts";
import { segmentNamespace } from "../../src/pier/segment-namespace.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const MAIN = join(REPO, "src/urth/main.ts");

/** Upper bound for waiting on a condition (a commit to land, a process to exit): a bound, never a measurement. */
export const WAIT_MS_MAX = 90_000;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment urth children get: ours without URTH_PIER (tests say which pier they mean). */
function childEnv(env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "URTH_PIER") out[k] = v;
  return { ...out, ...env };
}

export interface UrthOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Run urth under this umask (through `sh -c 'umask ...; exec ...'`). */
  umask?: number;
  /** Run urth as this user and group (the tests run as root; Bun.spawn's uid/gid). */
  uid?: number;
  gid?: number;
}

/** The argv and spawn options that run `urth ARGS` as `options` say. */
function urthCommand(args: string[], options: UrthOptions): { argv: string[]; spawn: { cwd?: string; env: Record<string, string>; uid?: number; gid?: number } } {
  const direct = [process.execPath, MAIN, ...withByteThresholds(args)];
  const argv = options.umask === undefined ? direct : ["/bin/sh", "-c", `umask ${options.umask.toString(8).padStart(3, "0")} && exec "$@"`, "sh", ...direct];
  return { argv, spawn: { cwd: options.cwd, env: childEnv(options.env), uid: options.uid, gid: options.gid } };
}

/**
 * A test that sets `--plea-threshold` means the file's bytes to travel through the plea or the
 * pipe, as they did before urth staged large files into the blob store (docs/blob-store.md,
 * "Staged by urth"): unless it sets `--stage-threshold` itself, staging is turned off for it.
 */
function withByteThresholds(args: string[]): string[] {
  const sets = (name: string) => args.some((a) => a === name || a.startsWith(`${name}=`));
  return sets("--plea-threshold") && !sets("--stage-threshold") ? [...args, "--stage-threshold", "1T"] : args;
}

/** Runs `urth ARGS` to completion and returns its exit code, stdout and stderr. */
export async function urth(args: string[], options: UrthOptions = {}): Promise<Result> {
  const r = await urthBytes(args, options);
  return { code: r.code, stdout: new TextDecoder().decode(r.stdout), stderr: r.stderr };
}

/** Runs `urth ARGS` and returns stdout as bytes (for `cat` of binary files). */
export async function urthBytes(args: string[], options: UrthOptions = {}): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const { argv, spawn } = urthCommand(args, options);
  const p = Bun.spawn(argv, { ...spawn, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(p);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).bytes(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  } finally {
    children.delete(p);
  }
}

/** Runs `urth cat` and hashes its stdout as it streams (a large file is never held whole). */
export async function catSha256(pier: string, path: string): Promise<{ code: number; sha256: string; bytes: number; stderr: string }> {
  const p = Bun.spawn([process.execPath, MAIN, "cat", path, "--pier", pier], { env: childEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(p);
  try {
    const hasher = new Bun.CryptoHasher("sha256");
    let bytes = 0;
    const stderr = new Response(p.stderr).text();
    for await (const chunk of p.stdout) {
      hasher.update(chunk);
      bytes += chunk.length;
    }
    return { code: await p.exited, sha256: hasher.digest("hex"), bytes, stderr: await stderr };
  } finally {
    children.delete(p);
  }
}

/** Hashes a file on disk in pieces. */
export async function fileSha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** Every child still running; `cleanUp` ends them. */
const children = new Set<Bun.Subprocess>();

/** A `urth run` in the background, its output collected line by line. */
export class RunningUrth {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  private readonly drained: Promise<void>;

  constructor(
    readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">,
    readonly pier: string,
  ) {
    this.drained = Promise.all([collect(proc.stdout, this.stdoutLines), collect(proc.stderr, this.stderrLines)]).then(() => {});
  }

  /** Waits (bounded) until a line of stdout or stderr matches; returns it. */
  async waitForLine(stream: "stdout" | "stderr", pattern: RegExp, what: string): Promise<string> {
    const lines = stream === "stdout" ? this.stdoutLines : this.stderrLines;
    let found: string | undefined;
    await waitFor(() => (found = lines.find((l) => pattern.test(l))) !== undefined || this.proc.exitCode !== null, what);
    if (found === undefined) found = lines.find((l) => pattern.test(l));
    if (found === undefined) throw new Error(`urth run exited (status ${this.proc.exitCode}) before ${what}.\nstdout:\n${this.stdoutLines.join("\n")}\nstderr:\n${this.stderrLines.join("\n")}`);
    return found;
  }

  /** Waits until urth has exited and both streams are read; returns the exit code. */
  async exited(): Promise<number> {
    const code = await this.proc.exited;
    await this.drained;
    return code;
  }
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      into.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered.length > 0) into.push(buffered);
}

/**
 * Starts `urth run --pier PIER ARGS` and waits until it holds the pier and answers on its control
 * socket (its start-up line is printed once the first commit is under way).
 */
export async function startRun(pier: string, args: string[] = [], options: UrthOptions = {}): Promise<RunningUrth> {
  const run = spawnUrth(["run", "--pier", pier, ...args], pier, options);
  await run.waitForLine("stderr", /^urth: pier .* at event \d+; watching /, "urth run started");
  return run;
}

/** Starts `urth ARGS` in the background, its output collected line by line. */
export function spawnUrth(args: string[], pier: string, options: UrthOptions = {}): RunningUrth {
  const { argv, spawn } = urthCommand(args, options);
  const proc = Bun.spawn(argv, { ...spawn, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  return new RunningUrth(proc, pier);
}

/** Polls `cond` every 50 ms until it holds, failing after WAIT_MS_MAX with `what`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, boundMs = WAIT_MS_MAX): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${boundMs} ms waiting for ${what}.`);
    await Bun.sleep(50);
  }
}

const dirs: string[] = [];
/** Every pier a test used; their segment namespaces are read before the piers are removed. */
const piers = new Set<string>();
/** Namespaces of every pier a test used, for the /dev/shm check. */
const namespaces = new Set<string>();

/** Records the namespace of every pier that has one by now (a pier makes it on first use). */
function notePierNamespaces(): void {
  for (const pier of piers) {
    try {
      const ns = segmentNamespace(pier, { create: false });
      if (ns !== undefined) namespaces.add(ns);
    } catch {
      // A test that damages the namespace file on purpose: its pier had no segments under it.
    }
  }
}

/** Processes a test stopped or left running that are not its children (urth's mars). */
const held: Array<{ pid: number; startTime: number }> = [];

/** Has `cleanUp` SIGKILL `pid` (a process that is not the test's child), unless it has exited meanwhile. */
export function holdProcess(pid: number): void {
  const startTime = processStartTime(pid);
  if (typeof startTime === "number") held.push({ pid, startTime });
}

/** The pids whose parent is `ppid` (/proc/<pid>/stat, field 4): urth's mars. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A fresh temporary directory, removed by `cleanUp`. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "plea-urth-test-"));
  dirs.push(dir);
  return dir;
}

/** A pier path inside a fresh temp dir with an empty mount; its segment namespace is recorded. */
export function tempPier(): { dir: string; pier: string; mount: string } {
  const dir = tempDir();
  const pier = join(dir, "pier");
  mkdirSync(join(pier, "base"), { recursive: true });
  piers.add(pier);
  return { dir, pier, mount: join(pier, "base") };
}

/** Records a pier that a test names another way (URTH_PIER, a relative --pier). */
export function notePier(pier: string): void {
  piers.add(pier);
}

/**
 * Ends every child still running (SIGTERM, then SIGKILL if it has not exited within the bound),
 * then removes the temp dirs. For afterEach: runs even when the test failed.
 */
export async function cleanUp(): Promise<void> {
  // Held processes are not our children (urth's mars): ended by pid, if that pid is still theirs.
  for (const h of held.splice(0)) {
    if (processStartTime(h.pid) === h.startTime) process.kill(h.pid, "SIGKILL");
  }
  const running = [...children];
  children.clear();
  await Promise.all(
    running.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
      await p.exited;
      clearTimeout(timer);
    }),
  );
  notePierNamespaces();
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
}

/**
 * The `plea-` segments of the tests' piers still in /dev/shm. They are swept (so a failure does not
 * leak memory into the next run) and returned for the caller to assert empty.
 */
export function leftoverSegments(): string[] {
  notePierNamespaces();
  const left = readdirSync("/dev/shm").filter((name) => [...namespaces].some((ns) => name.startsWith(`plea-${ns}-`)));
  for (const ns of namespaces) sweepOrphans(ns);
  return left;
}

/**
 * Copies a real directory tree from the machine into `mount/dest`: a few packages of this repo's
 * node_modules, with nested directories, binaries (prebuilt .node libraries), an empty file, and
 * names without a dot (LICENSE) or that are not `@ta` (README.md). Returns the mount-relative paths.
 */
export function copyRealTree(mount: string, dest: string): string[] {
  const nm = join(REPO, "node_modules");
  const sources: [string, string][] = [
    ["cli-progress", "cli-progress"],
    ["@lmdb/lmdb-linux-x64", "lmdb-linux-x64"],
    ["lmdb/dependencies/lz4", "lz4"],
  ];
  for (const [from, to] of sources) cpSync(join(nm, from), join(mount, dest, to), { recursive: true, dereference: false });
  return listFiles(mount).filter((rel) => rel.startsWith(`${dest}/`));
}

/** Every regular file under `root`, mount-relative, sorted. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push(r);
      else if (e.isFile()) out.push(r);
    }
  }
  return out.sort();
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export { pseudoRandomBytes } from "../support/prng.ts";

/** Lines of stderr that are not mars's start-up note (`mars: replayed N events ...`). */
export function stderrLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.length > 0 && !/^mars: replayed \d+ events/.test(l));
}
