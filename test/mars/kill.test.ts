/**
 * Crash safety with real processes: a child appending events (append-fixture.ts) is SIGKILLed
 * before, during and after writing small and blob-sized events; after each kill the log must hold
 * whole events only, every event the child reported durable, and a state equal to a fresh replay.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { BlobStore, isBlobName } from "../../src/blob/index.ts";
import { join } from "node:path";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { blobFileName, EventLog, logPaths, SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { intoOvum, killTestChange, nowOf, removeTempPiers, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const FIXTURE = join(import.meta.dir, "append-fixture.ts");

interface Run {
  /** Last `durable N` the child printed before it died. */
  durable: number;
  /** Last `begin N` it printed. */
  begun: number;
  code: number | null;
  stderr: string;
}

/** Runs the fixture up to `last` and SIGKILLs it at the first line for which `killAt` says so. */
async function runAndKill(pier: string, last: number, killAt: (line: string) => boolean | Promise<boolean>): Promise<Run> {
  const child = Bun.spawn([process.execPath, FIXTURE, pier, String(last)], { stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(child.stderr).text();
  let durable = 0;
  let begun = 0;
  try {
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    let buffered = "";
    let killed = false;
    // After the kill, reading goes on to the end of the pipe: the child ran on between the line
    // that decided the kill and the kill itself, and what it said in that time counts too (on a
    // loaded machine it may have begun, even finished, another event).
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [word, n] = line.split(" ");
        if (word === "durable") durable = Number(n);
        if (word === "begin") begun = Number(n);
        if (!killed && (await killAt(line))) {
          child.kill("SIGKILL");
          killed = true;
        }
      }
    }
    return { durable, begun, code: await child.exited, stderr: await stderr };
  } finally {
    child.kill("SIGKILL");
  }
}

/** The mug after events 1..eve applied to a fresh kernel, computed here. */
function freshMug(eve: number): number {
  const kernel = createFileStoreKernel();
  for (let e = 1; e <= eve; e++) {
    const r = kernel.poke(nowOf(e), intoOvum(killTestChange(e)));
    if (!r.ok) throw new Error("rejected");
    kernel.commit(r);
  }
  return kernel.mug();
}

/** After a kill: whole events only, nothing durable lost, no stray blob, state as a fresh replay. */
async function checkAfterKill(pier: string, run: Run, before: number): Promise<number> {
  expect(run.code).toBe(137);
  const log = await EventLog.open(pier);
  try {
    const eve = log.eve;
    expect(eve).toBeGreaterThanOrEqual(Math.max(before, run.durable));
    expect(eve).toBeLessThanOrEqual(Math.max(before, run.begun));
    const blobs: string[] = [];
    for (let e = 1; e <= eve; e++) {
      const rec = log.record(e);
      if (rec.form === "blob") blobs.push(blobFileName(e, rec.crc));
    }
    expect(readdirSync(logPaths(pier).blob).sort()).toEqual(blobs.sort());
    // restore sweeps the blob store: what is left is exactly what the log names, every blob whole.
    const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    expect(restored.mug).toBe(freshMug(eve));
    const store = new BlobStore(pier);
    expect(store.list()).toEqual([...log.blobNames()].sort());
    expect(readdirSync(store.paths.staging)).toEqual([]);
    for (const check of store.verify()) expect(check.problem?.message).toBeUndefined();
    return eve;
  } finally {
    await log.close();
  }
}

const isBig = (line: string) => Number(line.split(" ")[1]) % 3 === 0;

/** Waits (polling `dir`) until `found` names a file there, or 20 s pass. */
async function waitForBlobFile(dir: string, found: (name: string, size: number) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const name of readdirSync(dir)) {
      let size = 0;
      try {
        size = statSync(join(dir, name)).size;
      } catch {
        continue; // renamed between readdir and stat
      }
      if (found(name, size)) return;
    }
    await Bun.sleep(1);
  }
  throw new Error("the blob file never appeared");
}

/**
 * Kill once event N's large atom is being written to the blob store's staging folder and holds at
 * least `bytes` (or is already installed).
 */
const midBlob = (pier: string, bytes: number) => async (line: string) => {
  if (!line.startsWith("begin") || !isBig(line)) return false;
  const store = new BlobStore(pier);
  const known = new Set(existsSync(store.paths.dir) ? readdirSync(store.paths.dir) : []);
  await waitForBlobFile(store.paths.staging, (name, size) => (name.endsWith(".tmp") && size >= bytes) || readdirSync(store.paths.dir).some((n) => !known.has(n)));
  return true;
};

/** Kill as soon as event N's blob has its name in the store (before or just after its record commits). */
const blobInstalled = (pier: string) => async (line: string) => {
  if (!line.startsWith("begin") || !isBig(line)) return false;
  const store = new BlobStore(pier);
  const known = new Set(existsSync(store.paths.dir) ? readdirSync(store.paths.dir) : []);
  await waitForBlobFile(store.paths.dir, (name) => isBlobName(name) && !known.has(name));
  return true;
};

describe("a SIGKILLed writer", () => {
  test("leaves whole events only, whenever it dies around small and blob-sized events", async () => {
    const pier = tempPier();
    const cases: [string, (line: string) => boolean | Promise<boolean>][] = [
      ["as a blob-sized event begins", (l) => l.startsWith("begin") && isBig(l)],
      ["halfway through writing a blob", midBlob(pier, 16 * 1024 * 1024)],
      ["right after a blob-sized event was durable", (l) => l.startsWith("durable") && isBig(l)],
      ["while writing a small event", (l) => l.startsWith("begin") && !isBig(l) && Number(l.split(" ")[1]) > 1],
      ["before it appends anything", (l) => l.startsWith("ready")],
      ["once a blob has its name in the store", blobInstalled(pier)],
      ["early in writing a blob", midBlob(pier, 1)],
    ];
    let eve = 0;
    for (const [, killAt] of cases) {
      const run = await runAndKill(pier, eve + 8, killAt);
      eve = await checkAfterKill(pier, run, eve);
    }
    expect(eve).toBeGreaterThanOrEqual(3);
    // And the pier still takes new events after all that.
    const finish = await runAndKill(pier, eve + 2, () => false);
    expect(finish.code).toBe(0);
    expect(finish.durable).toBe(eve + 2);
  }, 120_000);
});
