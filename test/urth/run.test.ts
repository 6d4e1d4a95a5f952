/**
 * `urth run`: watches the mount and commits after a quiet period, one status line per commit;
 * changes made while a commit is in flight go into the next one; SIGTERM (and SIGINT) finish the
 * commit in flight, stop mars and leave nothing in /dev/shm; mars dying ends the run with status 4.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { segmentNamespace } from "../../src/pier/segment-namespace.ts";
import { cleanUp, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth, waitFor, type RunningUrth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** Commit lines have this shape. */
const COMMIT_LINE = /^event \d+: \d+ added, \d+ changed, \d+ deleted, [0-9.]+ (B|KiB|MiB|GiB) via (pipe|plea) in [0-9.]+ m?s$/;

async function lsPaths(pier: string): Promise<string[]> {
  const r = await urth(["ls", "--json", "--pier", pier]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { path: string }[]).map((f) => f.path).sort() : [];
}

/** Polls `urth ls` (bounded) until the committed files are exactly `want`. */
async function waitForFiles(pier: string, want: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(async () => JSON.stringify((last = await lsPaths(pier))) === JSON.stringify([...want].sort()), `ls to show ${JSON.stringify(want)} (last saw ${JSON.stringify(last)})`);
}

/**
 * Writes a file beside the mount and renames it in: a large write seen half-done would fail its
 * commit as "changed while it was being committed" (correctly), which these tests are not about.
 */
function placeFile(dir: string, dest: string, data: Uint8Array): void {
  const tmp = join(dir, "placing.tmp");
  writeFileSync(tmp, data);
  renameSync(tmp, dest);
}

function segmentsOf(pier: string): string[] {
  const ns = segmentNamespace(pier);
  return readdirSync("/dev/shm").filter((n) => n.startsWith(`plea-${ns}-`));
}

test("files written into the mount are committed after the quiet period, one line per commit", async () => {
  const { pier, mount } = tempPier();
  writeFileSync(join(mount, ".hidden"), "not committed\n");
  const run = await startRun(pier, ["--debounce", "100"]);
  writeFileSync(join(mount, "hello.txt"), "hello\n");
  await waitForFiles(pier, ["hello.txt"]);
  // A new nested directory is watched too.
  mkdirSync(join(mount, "sub/deeper"), { recursive: true });
  writeFileSync(join(mount, "sub/deeper/x.hoon"), "x\n");
  await waitForFiles(pier, ["hello.txt", "sub/deeper/x.hoon"]);
  writeFileSync(join(mount, "hello.txt"), "hello again\n");
  rmSync(join(mount, "sub"), { recursive: true });
  await waitForFiles(pier, ["hello.txt"]);
  await waitFor(async () => (await urth(["cat", "hello.txt", "--pier", pier])).stdout === "hello again\n", "the changed hello.txt");

  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
  // Every line on stdout is a commit line, numbered from 1, one per event the log holds.
  expect(run.stdoutLines.length).toBeGreaterThanOrEqual(3);
  for (const line of run.stdoutLines) expect(line).toMatch(COMMIT_LINE);
  expect(run.stdoutLines.map((l) => Number(/^event (\d+):/.exec(l)![1]))).toEqual(run.stdoutLines.map((_, i) => i + 1));
  const log = JSON.parse((await urth(["log", "--json", "--pier", pier])).stdout) as unknown[];
  expect(log).toHaveLength(run.stdoutLines.length);
  expect(run.stderrLines.at(-1)).toBe("urth: stopping");
  // Skipped names are reported once per run, not on every commit.
  expect(run.stderrLines.filter((l) => l === "skipped .hidden (dot-file)")).toHaveLength(1);
  expect(segmentsOf(pier)).toEqual([]);
}, 90_000);

test("a change made while a commit is in flight goes into the next commit", async () => {
  const { dir, pier, mount } = tempPier();
  const run = await startRun(pier, ["--debounce", "100"]);
  // 80 MiB: above the progress threshold, so urth says on stderr when the commit is under way.
  placeFile(dir, join(mount, "big.bin"), pseudoRandomBytes(80 * 1024 * 1024, 8));
  await run.waitForLine("stderr", /^commit: 80\.0 MiB via pipe: sending through the pipe$/, "the big commit to be in flight");
  // The scan of the commit in flight is over: this file can only go into the next one.
  writeFileSync(join(mount, "late.txt"), "late\n");
  await run.waitForLine("stdout", /^event 2: /, "the second commit");
  expect(run.stdoutLines.slice(0, 2)).toEqual([
    expect.stringMatching(/^event 1: 1 added, 0 changed, 0 deleted, 80\.0 MiB via pipe in /),
    expect.stringMatching(/^event 2: 1 added, 0 changed, 0 deleted, 5 B via pipe in /),
  ]);
  await waitForFiles(pier, ["big.bin", "late.txt"]);
  run.proc.kill("SIGINT");
  expect(await run.exited()).toBe(0);
}, 90_000);

test("SIGTERM during a commit finishes it, exits 0 and leaves nothing in /dev/shm", async () => {
  const { dir, pier, mount } = tempPier();
  // A small threshold sends the event through the plea: a segment is in use when the signal lands.
  const run = await startRun(pier, ["--debounce", "100", "--plea-threshold", "1M"]);
  placeFile(dir, join(mount, "big.bin"), pseudoRandomBytes(80 * 1024 * 1024, 9));
  await run.waitForLine("stderr", /^commit: 80\.0 MiB via plea: (asking mars for a segment|filling the segment)$/, "the plea commit to be in flight");
  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
  expect(run.stdoutLines).toEqual([expect.stringMatching(/^event 1: 1 added, 0 changed, 0 deleted, 80\.0 MiB via plea in /)]);
  expect(run.stderrLines).toContain("urth: stopping");
  expect(segmentsOf(pier)).toEqual([]);
  // The commit is durable: a fresh urth finds nothing to commit and reads the file back.
  expect(await urth(["commit", "--pier", pier])).toMatchObject({ code: 0, stdout: "nothing to commit\n" });
  expect(await lsPaths(pier)).toEqual(["big.bin"]);
}, 90_000);

test("a bad file fails one commit with a message and run keeps watching", async () => {
  const { pier, mount } = tempPier();
  const run = await startRun(pier, ["--debounce", "100"]);
  mkdirSync(join(mount, "a/b"), { recursive: true });
  writeFileSync(join(mount, "a/b.c"), "one\n");
  writeFileSync(join(mount, "a/b/c"), "two\n");
  await run.waitForLine("stderr", /^commit failed: "a\/b\.c" and "a\/b\/c" both map to the Clay path \/a\/b\/c; rename one of them$/, "the clash to be reported");
  expect(await lsPaths(pier)).toEqual([]);
  rmSync(join(mount, "a/b/c"));
  await waitForFiles(pier, ["a/b.c"]);
  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
  expect(run.stdoutLines).toEqual([expect.stringMatching(/^event 1: 1 added, /)]);
}, 90_000);

test("run exits 4 when its mars dies, saying so", async () => {
  const { pier, mount } = tempPier();
  writeFileSync(join(mount, "a.txt"), "a\n");
  const run: RunningUrth = await startRun(pier, ["--debounce", "100"]);
  await run.waitForLine("stdout", /^event 1: /, "the first commit");
  const mars = childrenOf(run.proc.pid);
  expect(mars).toHaveLength(1);
  process.kill(mars[0], "SIGKILL");
  expect(await run.exited()).toBe(4);
  expect(run.stderrLines.join("\n")).toMatch(/mars/);
  expect(segmentsOf(pier)).toEqual([]);
}, 90_000);

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}
