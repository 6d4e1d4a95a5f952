/**
 * chop's crash safety with real processes (docs/event-log.md, "Retention"): a child chopping a
 * prepared pier (chop-fixture.ts) is SIGKILLed after each step: after its snapshot, after its
 * check, after META first, between two batches of event removals, after the spill files, after the
 * snapshots, once blobs are condemned, after BOBS, between two blob removals, and in the
 * compaction before and after the rename. After each: the log opens and restores to the mug it had
 * before the chop, every kept event replays with its mug, every blob something kept names is
 * there and intact, no compaction copy or spill file of a removed event is left, and a second
 * chop completes.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { LOG_COMPACT_DIR } from "../../src/mars/log/event-log.ts";
import { SnapshotStore } from "../../src/mars/log/index.ts";
import { parseBlobFileName } from "../../src/mars/log/layout.ts";
import { restore } from "../../src/mars/restore.ts";
import { chop, diskUsage, type ChopStep } from "../../src/mars/retention.ts";
import { removeTempPiers, tempPier } from "./mars-test-support.ts";
import { buildChopPier, checkChoppedPier, saveSnapshot } from "./chop-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(removeTempPiers);

const FIXTURE = join(import.meta.dir, "chop-fixture.ts");
const LAST = 24;

/** Runs the fixture; SIGKILLs it once it says `paused` (at the `count`-th `step`). Returns what it said. */
async function chopAndKill(pier: string, keep: number, step: ChopStep, count: number): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const child = Bun.spawn([process.execPath, FIXTURE, pier, String(keep), step, String(count)], { stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(child.stderr).text();
  const lines: string[] = [];
  try {
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line === "paused") child.kill("SIGKILL");
      }
    }
    return { lines, code: await child.exited, stderr: await stderr };
  } finally {
    child.kill("SIGKILL");
  }
}

const CASES: [ChopStep, number, number][] = [
  // step, its occurrence, keep
  ["snapshot", 1, 1],
  ["checked", 1, 1],
  ["first", 1, 0],
  ["events", 2, 0],
  ["spill", 1, 0],
  ["snapshots", 1, 0],
  ["condemned", 1, 1],
  ["bobs", 1, 0],
  ["blob", 2, 0],
  ["compact-copied", 1, 1],
  ["compact-renamed", 1, 0],
];

test.each(CASES)("a chop SIGKILLed after step %s (#%d, keep %d) leaves a pier that starts, replays and chops again", async (step, count, keep) => {
  const pier = tempPier();
  await buildChopPier(pier, LAST, [6, 12, 18]);
  const run = await chopAndKill(pier, keep, step, count);
  expect(run.lines).toContain("paused");
  expect(run.code).toBe(137);
  const mug = parseInt(run.lines.find((l) => l.startsWith("ready"))!.split(" ")[2], 16);
  let log = await checkChoppedPier(pier, LAST, mug);
  try {
    // Start-up finished what the chop began: no compaction copy, no spill file below first.
    expect(existsSync(join(log.paths.log, LOG_COMPACT_DIR))).toBe(false);
    for (const name of readdirSync(log.paths.blob)) expect(parseBlobFileName(name)!.eve).toBeGreaterThanOrEqual(log.first);
    // A second chop completes.
    const snapshots = new SnapshotStore(pier);
    const { kernel } = await restore({ log, snapshots, createKernel: createFileStoreKernel });
    const report = await chop({ log, snapshots, state: kernel.state, currentState: () => kernel.state, saveSnapshot: () => saveSnapshot(log, snapshots, kernel) }, keep);
    expect(report.last).toBe(LAST);
  } finally {
    await log.close();
  }
  log = await checkChoppedPier(pier, LAST, mug);
  const snapshots = new SnapshotStore(pier);
  const { kernel } = await restore({ log, snapshots, createKernel: createFileStoreKernel });
  const after = await diskUsage({ log, snapshots, state: kernel.state }, keep);
  expect(after.blobs.dead.count).toBe(0);
  expect(after.log.chop.events).toBe(0);
  await log.close();
});
