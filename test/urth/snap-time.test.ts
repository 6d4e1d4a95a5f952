/**
 * `urth run --snap-time SECONDS` (issue 17, docs/event-log.md "Snapshot policy"): urth passes it
 * to mars, whose timer writes snapshots in the background; after a SIGKILL of urth and mars the
 * next start replays only the events since the timed snapshot. 0 turns the timer off; a
 * malformed value is a usage error.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logPaths, snapshotFileName } from "../../src/mars/log/index.ts";
import { childrenOf, cleanUp, holdProcess, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/**
 * Files whose first commit is worth a timed snapshot: 6 x 900 KiB, under the blob threshold, so
 * their bytes are in the event's record (5.3 MB of replay, above the timer's 4 MiB floor).
 */
function writeWorthyFiles(mount: string): void {
  for (let i = 0; i < 6; i++) writeFileSync(join(mount, `part-${i}.bin`), pseudoRandomBytes(900 * 1024, i + 1));
}

function snapshotsOf(pier: string): string[] {
  const dir = logPaths(pier).chk;
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".plea")).sort() : [];
}

/** mars's command line (NUL-separated in /proc), as urth spawned it. */
function marsArgv(urthPid: number): string[] {
  const [mars] = childrenOf(urthPid);
  expect(mars).toBeDefined();
  holdProcess(mars);
  return readFileSync(`/proc/${mars}/cmdline`, "latin1").split("\0");
}

test("after a SIGKILL of urth and mars, the next start replays only the events since the timed snapshot", async () => {
  const { pier, mount } = tempPier();
  writeWorthyFiles(mount);
  const run = await startRun(pier, ["--debounce", "100", "--snap-time", "1"]);
  await run.waitForLine("stdout", /^event 1: /, "the first commit");
  const argv = marsArgv(run.proc.pid);
  expect(argv.slice(argv.indexOf("--snap-time"), argv.indexOf("--snap-time") + 2)).toEqual(["--snap-time", "1"]);
  await waitFor(() => snapshotsOf(pier).includes(snapshotFileName(1)), "the timed snapshot of event 1");
  writeFileSync(join(mount, "late.txt"), "after the snapshot\n");
  await run.waitForLine("stdout", /^event 2: /, "the second commit");
  // A crash: both processes die at once, nothing is written on the way out.
  const [mars] = childrenOf(run.proc.pid);
  process.kill(mars, "SIGKILL");
  run.proc.kill("SIGKILL");
  await run.exited();
  // Event 2 came after the snapshot, and a small event is not worth one: event 1's is the newest.
  expect(snapshotsOf(pier)).toEqual([snapshotFileName(1)]);
  // `commit` starts mars (status and cat read the view without it); nothing is left to commit.
  const again = await urth(["commit", "--pier", pier]);
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(/replayed 1 events \(from snapshot 1\) to event 2/);
  expect((await urth(["cat", "late.txt", "--pier", pier])).stdout).toBe("after the snapshot\n");
});

test("--snap-time 0 turns the timer off: mars gets no --snap-time and writes no snapshot while running", async () => {
  const { pier, mount } = tempPier();
  writeWorthyFiles(mount);
  const run = await startRun(pier, ["--debounce", "100", "--snap-time", "0"]);
  await run.waitForLine("stdout", /^event 1: /, "the first commit");
  expect(marsArgv(run.proc.pid)).not.toContain("--snap-time");
  // Two more commits: with a timer of 1 s the first test saw a snapshot by now.
  writeFileSync(join(mount, "a.txt"), "a\n");
  await run.waitForLine("stdout", /^event 2: /, "the second commit");
  await Bun.sleep(2500);
  expect(snapshotsOf(pier)).toEqual([]);
  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
});

test("run passes the default interval to mars", async () => {
  const { pier, mount } = tempPier();
  writeFileSync(join(mount, "a.txt"), "a\n");
  const run = await startRun(pier, ["--debounce", "100"]);
  await run.waitForLine("stdout", /^event 1: /, "the first commit");
  const argv = marsArgv(run.proc.pid);
  expect(argv[argv.indexOf("--snap-time") + 1]).toMatch(/^[1-9][0-9]*$/);
  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
});

test("a malformed --snap-time is a usage error that names the option", async () => {
  const { pier } = tempPier();
  for (const bad of ["abc", "1.5", "-1", "1e3", "99999999999", " "]) {
    const r = await urth(["run", "--pier", pier, `--snap-time=${bad}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--snap-time");
  }
  const missing = await urth(["run", "--pier", pier, "--snap-time"]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("--snap-time");
  // Only run takes it.
  const commit = await urth(["commit", "--pier", pier, "--snap-time", "5"]);
  expect(commit.code).toBe(2);
  expect(commit.stderr).toContain("--snap-time");
});
