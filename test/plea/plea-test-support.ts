/**
 * Shared by the plea tests: temporary piers and files (removed after each test even when it
 * fails), mars processes that are always killed, the ova urth builds (src/ipc/into.ts), and the
 * checks every test ends with: no unhandled rejection, no `plea-` segment of our piers left.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listSegments, processStartTime, type SegmentInfo } from "../../src/ffi/index.ts";
import { intoOvum, MIME_TEXT_PLAIN, type IntoChange } from "../../src/ipc/into.ts";
import { pathToNoun } from "../../src/ipc/shape.ts";
import { atomFromBytes, type Atom, type Noun } from "../../src/noun/index.ts";
import { segmentNamespace } from "../../src/pier/segment-namespace.ts";
import { MARS_MAIN_PATH, MarsProcess, type MarsOptions } from "../../src/urth/mars-process.ts";

export const MIB = 1024 * 1024;

/** Bound on every wait for a condition (never a timing assertion: only a guard against hanging). */
export const WAIT_BOUND_MS = 30_000;

/** Per-test timeout for tests that start mars (a start replays the log; the machine is loaded). */
export { TEST_TIMEOUT_MS } from "../setup.ts";

// -- unhandled rejections -------------------------------------------------------------------

/** Every unhandled rejection since the test began; each test's afterEach asserts none. */
export const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => {
  unhandled.push(e);
});

// -- piers, files, processes ----------------------------------------------------------------

const piers: string[] = [];
const tempDirs: string[] = [];
const marses: MarsProcess[] = [];
const children: Array<{ kill(signal?: number | NodeJS.Signals): void; exited: Promise<number> }> = [];
/** Processes we did not spawn directly (mars started by a fixture): killed by pid, if still theirs. */
const grandchildren: Array<{ pid: number; startTime: number }> = [];

/** Every namespace a test of this file used: afterAll checks none of them left a segment. */
export const namespaces = new Set<string>();

/** A fresh pier directory under the OS temp dir (mars creates the log in it), with its segment namespace made. */
export function tempPier(): { pier: string; namespace: string } {
  const pier = mkdtempSync(join(tmpdir(), "plea-plea-test-"));
  piers.push(pier);
  const namespace = segmentNamespace(pier);
  namespaces.add(namespace);
  return { pier, namespace };
}

/** A fresh directory for test files; removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "plea-plea-files-"));
  tempDirs.push(dir);
  return dir;
}

/** Writes `bytes` to a new file in a fresh temp dir and returns its path. */
export function tempFile(bytes: Uint8Array, name = "file"): string {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  return path;
}

export interface TestMars {
  mars: MarsProcess;
  /** Every line mars wrote to stderr and every line urth logged about it. */
  log: string[];
}

/** Starts mars for `pier` (killed after the test), collecting its log instead of printing it. */
export async function startMars(options: MarsOptions): Promise<TestMars> {
  const log: string[] = [];
  const mars = await MarsProcess.start({ ...options, onLog: (line) => log.push(line) });
  marses.push(mars);
  return { mars, log };
}

/** Registers a spawned child to be SIGKILLed (if still running) after the test. */
export function trackChild<T extends { kill(signal?: number | NodeJS.Signals): void; exited: Promise<number> }>(child: T): T {
  children.push(child);
  return child;
}

/** Registers a process we did not spawn (a fixture's mars) to be killed after the test. */
export function trackGrandchild(pid: number): void {
  const startTime = processStartTime(pid);
  if (typeof startTime === "number") grandchildren.push({ pid, startTime });
}

/**
 * afterEach: kill every process, remove every pier and file (each step runs even if an earlier
 * one failed); then fail on any unhandled rejection seen during the test.
 */
export async function cleanUp(): Promise<void> {
  const failures: unknown[] = [];
  const step = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      failures.push(e);
    }
  };
  for (const m of marses.splice(0)) await step(() => m.kill());
  for (const c of children.splice(0)) {
    await step(() => {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
      return c.exited;
    });
  }
  for (const g of grandchildren.splice(0)) {
    // Only if that pid is still the same process (never signal a reused pid).
    await step(() => processStartTime(g.pid) === g.startTime && process.kill(g.pid, "SIGKILL"));
  }
  // A mars whose start never finished (no %ripe) was never returned to the test: find it by
  // its command line, which names one of this test's piers.
  await step(() => marsPidsOf(piers).forEach((pid) => process.kill(pid, "SIGKILL")));
  while (piers.length > 0) {
    const pier = piers.pop()!;
    await step(() => rmSync(pier, { recursive: true, force: true }));
  }
  while (tempDirs.length > 0) {
    const dir = tempDirs.pop()!;
    await step(() => rmSync(dir, { recursive: true, force: true }));
  }
  const seen = unhandled.splice(0);
  if (seen.length > 0) failures.push(new Error(`unhandled rejections during the test: ${seen.map((e) => (e as Error)?.stack ?? String(e)).join("\n")}`));
  if (failures.length > 0) throw failures.length === 1 ? failures[0] : new AggregateError(failures, "cleaning up after the test failed");
}

/** Live mars processes (ours: spawned by these tests) running for one of `pierList`. */
function marsPidsOf(pierList: readonly string[]): number[] {
  if (pierList.length === 0) return [];
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const at = args.indexOf("--pier");
    if (args.includes(MARS_MAIN_PATH) && at >= 0 && pierList.includes(args[at + 1]) && !processGone(Number(entry))) found.push(Number(entry));
  }
  return found;
}

/** The segments of every namespace the tests used, in /dev/shm (or `dir`). */
export function leftoverSegments(dir?: string): SegmentInfo[] {
  return [...namespaces].flatMap((ns) => listSegments(ns, { dir }));
}

// -- waiting --------------------------------------------------------------------------------

/** Polls `condition` until it holds; fails (does not hang) after WAIT_BOUND_MS. */
export async function waitUntil(condition: () => boolean, what: string, boundMs = WAIT_BOUND_MS): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > boundMs) throw new Error(`gave up waiting (${boundMs} ms) for ${what}`);
    await Bun.sleep(20);
  }
}

/** The error `promise` rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    return e;
  }
}

/** Whether a process is gone (no /proc entry, or a zombie nobody reaped yet). */
export function processGone(pid: number): boolean {
  return processStartTime(pid) === undefined;
}

/**
 * The lines of /proc/<pid>/maps that map a segment of `namespace`: a named one (`/dev/shm/plea-...`)
 * or a memfd (`/memfd:plea-...`), shown as "(deleted)" once unlinked (a memfd always is).
 */
export function segmentMappings(pid: number, namespace: string): string[] {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, "latin1");
  } catch {
    return [];
  }
  return maps.split("\n").filter((line) => line.includes(`/plea-${namespace}-`) || line.includes(`/memfd:plea-${namespace}-`));
}

/** The phases a poke went through, as "phase/path", repeats in a row (progress ticks) collapsed. */
export function phaseSequence(progress: ReadonlyArray<{ phase: string; path: string }>): string[] {
  const out: string[] = [];
  for (const p of progress) {
    const step = `${p.phase}/${p.path}`;
    if (out.at(-1) !== step) out.push(step);
  }
  return out;
}

// -- events ---------------------------------------------------------------------------------

/** Deterministic pseudo-random bytes (xorshift32, four bytes a step), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

export type Change = { path: string; bytes: Uint8Array } | { path: string; delete: true } | { path: string; atom: Atom; length: number };

function segments(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

let syncId = 1;

/** The `%into` ovum urth sends for `changes` (desk %base, heap atoms unless an atom is given). */
export function ovum(changes: readonly Change[]): Noun {
  const can: IntoChange[] = changes.map((c) => {
    const path = pathToNoun(segments(c.path));
    if ("delete" in c) return { kind: "del", path };
    if ("atom" in c) return { kind: "put", path, type: MIME_TEXT_PLAIN, len: c.length, data: c.atom };
    return { kind: "put", path, type: MIME_TEXT_PLAIN, len: c.bytes.length, data: atomFromBytes(c.bytes) };
  });
  return intoOvum("base", can, syncId++);
}

/** What the desk should hold after `changes`, kept by the test: path -> length. */
export class ExpectedDesk {
  readonly files = new Map<string, number>();

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      if ("delete" in c) this.files.delete(c.path);
      else this.files.set(c.path, "atom" in c ? c.length : c.bytes.length);
    }
  }

  totals(): { files: number; bytes: number } {
    let bytes = 0;
    for (const n of this.files.values()) bytes += n;
    return { files: this.files.size, bytes };
  }

  /** What `listFiles` should answer: sorted by path element by element. */
  listing(): Array<{ path: string[]; size: number }> {
    return [...this.files.entries()]
      .map(([path, size]) => ({ path: segments(path), size }))
      .sort((a, b) => compareSegments(a.path, b.path));
  }
}

function compareSegments(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return Buffer.compare(Buffer.from(a[i], "latin1"), Buffer.from(b[i], "latin1"));
  }
  return a.length - b.length;
}

/** The urth stand-in (urth-fixture.ts) that asks for a plea and then waits, holding the grant. */
export const URTH_FIXTURE = join(import.meta.dir, "urth-fixture.ts");

/** A running urth-fixture whose mars has granted a segment; `stderr()` is what it said so far. */
export interface WaitingUrth {
  urth: ReturnType<typeof Bun.spawn>;
  marsPid: number;
  stderr(): string;
  /** Resolves once the fixture's stderr is read to its end. */
  read: Promise<void>;
}

/**
 * Starts urth-fixture.ts with `args` (the pier, the segment kind, optionally the segment's size)
 * and waits until it says `ready MARS_PID`: mars has granted the segment and waits for %done.
 * Both processes are tracked for clean-up.
 */
export async function startWaitingUrth(args: string[]): Promise<WaitingUrth> {
  const urth = trackChild(Bun.spawn([process.execPath, URTH_FIXTURE, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  let text = "";
  const read = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of urth.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  })();
  await waitUntil(() => /ready \d+\n/.test(text) || urth.exitCode !== null, "the fixture to say ready");
  const ready = /ready (\d+)\n/.exec(text);
  if (!ready) throw new Error(`the fixture exited without getting ready: ${text}`);
  const marsPid = Number(ready[1]);
  trackGrandchild(marsPid);
  return { urth, marsPid, stderr: () => text, read };
}
