/**
 * A file staged into the blob store by urth (docs/blob-store.md, "Staged by urth") survives a
 * SIGKILL of either process at each step of the crash table there: the next start sweeps what was
 * left in `bob/stg/` and any blob no event names, the commit is made again and reads back byte
 * for byte, and `urth verify` finds every blob intact. Real urth and mars processes throughout.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, linkSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isBlobName } from "../../src/blob/index.ts";
import { processStartTime } from "../../src/ffi/index.ts";
import { catSha256, childrenOf, cleanUp, fileSha256, holdProcess, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth, waitFor, type RunningUrth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const MIB = 1024 * 1024;

function staging(pier: string): string[] {
  return readdirSync(join(pier, ".urb/bob/stg"));
}

function blobs(pier: string): string[] {
  return readdirSync(join(pier, ".urb/bob")).filter(isBlobName);
}

/** Writes the file elsewhere and renames it in, so the watcher sees it whole. */
function place(dir: string, dest: string, bytes: Uint8Array): void {
  const tmp = join(dir, "placing.tmp");
  writeFileSync(tmp, bytes);
  renameSync(tmp, dest);
}

/** After a kill: a fresh `urth commit` commits the file, `stg/` is empty, and the file reads back. */
async function recovers(pier: string, mount: string, rel: string): Promise<void> {
  const c = await urth(["commit", "--pier", pier]);
  expect({ code: c.code, stdout: c.stdout, stderr: c.stderr }).toMatchObject({ code: 0, stdout: expect.stringMatching(/^event 1: 1 added, /) });
  expect(staging(pier)).toEqual([]);
  expect(blobs(pier)).toHaveLength(1);
  const cat = await catSha256(pier, rel);
  expect(cat.code).toBe(0);
  expect(cat.sha256).toBe(await fileSha256(join(mount, rel)));
  const v = await urth(["verify", "--pier", pier]);
  expect(v.code).toBe(0);
}

/**
 * A `run` whose mars is stopped (SIGSTOP) before a file of `seed`'s bytes lands in the mount: urth
 * stages it, sends the reference and waits for an answer that never comes. Returns once the staged
 * blob is in `stg/`, with the run and the stopped mars's pid.
 */
async function stagedWhileMarsStopped(seed: number): Promise<{ pier: string; mount: string; run: RunningUrth; mars: number }> {
  const { dir, pier, mount } = tempPier();
  const run = await startRun(pier, ["--debounce", "50"]);
  let mars: number | undefined;
  await waitFor(() => (mars = childrenOf(run.proc.pid)[0]) !== undefined, "urth run's mars");
  holdProcess(mars!);
  process.kill(mars!, "SIGSTOP");
  place(dir, join(mount, "big.bin"), pseudoRandomBytes(8 * MIB, seed));
  await waitFor(() => staging(pier).some((n) => n.endsWith(".staged")), "the staged blob");
  return { pier, mount, run, mars: mars! };
}

/** SIGKILLs the run and its stopped mars, and waits until both are gone. */
async function killBoth(run: RunningUrth, mars: number): Promise<void> {
  run.proc.kill("SIGKILL");
  await run.exited();
  process.kill(mars, "SIGKILL");
  await waitFor(() => processStartTime(mars) === undefined || readStatState(mars) === "Z", "mars to die");
}

describe("SIGKILL while a file is staged", () => {
  test("urth killed while it copies the file: its partial tmp is swept at the next start, and the commit is made again", async () => {
    const { dir, pier, mount } = tempPier();
    const run = await startRun(pier, ["--debounce", "50"]);
    place(dir, join(mount, "big.bin"), pseudoRandomBytes(256 * MIB, 3));
    // The copy of 256 MiB takes 100 ms or more: poll tightly for its tmp, then kill.
    const deadline = Date.now() + 60_000;
    while (!staging(pier).some((n) => n.endsWith(".tmp"))) {
      if (Date.now() > deadline || run.proc.exitCode !== null) throw new Error(`no staging tmp appeared:\n${run.stderrLines.join("\n")}`);
      await Bun.sleep(1);
    }
    run.proc.kill("SIGKILL");
    await run.exited();
    expect(staging(pier).some((n) => n.endsWith(".tmp") || n.endsWith(".staged"))).toBe(true);
    expect(blobs(pier)).toEqual([]);
    await recovers(pier, mount, "big.bin");
  }, 120_000);

  test("both killed after urth finished the staged blob and before mars installed it: swept, and committed again", async () => {
    const { pier, mount, run, mars } = await stagedWhileMarsStopped(4);
    await killBoth(run, mars);
    expect(blobs(pier)).toEqual([]);
    await recovers(pier, mount, "big.bin");
  }, 120_000);

  test("mars killed after it linked the staged blob into the store, before the record: the orphan is swept, and committed again", async () => {
    const { pier, mount, run, mars } = await stagedWhileMarsStopped(5);
    // What install leaves when it is killed between its link(2) and the record's commit: the blob
    // under its name in bob/ too. The stopped mars cannot get further; make that state, then kill.
    const staged = staging(pier).find((n) => n.endsWith(".staged"))!;
    linkSync(join(pier, ".urb/bob/stg", staged), join(pier, ".urb/bob", staged.slice(0, 64)));
    await killBoth(run, mars);
    expect(blobs(pier)).toHaveLength(1);
    // The next start sweeps both names (the record never committed), then the commit stages again.
    await recovers(pier, mount, "big.bin");
    expect(existsSync(join(pier, ".urb/bob/stg", staged))).toBe(false);
  }, 120_000);
});

/** The state letter of /proc/<pid>/stat ("Z" for a zombie not yet reaped), or undefined. */
function readStatState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}
