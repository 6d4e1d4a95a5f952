/**
 * A 300 MiB file through the real CLI, once by each path that carries its bytes (staging off:
 * `--stage-threshold 1T`): the plea (shared memory, the default above 256 MiB) with `urth commit
 * --json`, and the pipe when `--plea-threshold 1T` puts it out of the plea's reach. Both read back
 * through `urth cat`, compared by hash as they stream. Staged files: test/urth/bref.test.ts.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { catSha256, cleanUp, fileSha256, leftoverSegments, pseudoRandomBytes, startRun, stderrLines, tempPier, urth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const BIG_BYTES = 300 * 1024 * 1024;

/** Writes `bytes` of pseudo-random data, 1 MiB at a time, each MiB different (seeded by `seed`). */
function writeBigFile(path: string, bytes: number, seed: number): void {
  const block = pseudoRandomBytes(1024 * 1024, seed);
  const fd = openSync(path, "w");
  try {
    for (let off = 0, i = 0; off < bytes; off += block.length, i++) {
      new DataView(block.buffer).setUint32(0, i, true);
      writeSync(fd, block, 0, Math.min(block.length, bytes - off));
    }
  } finally {
    closeSync(fd);
  }
}

test("a 300 MiB file goes through the plea, another through the pipe with --plea-threshold 1T, and both read back", async () => {
  const { pier, mount } = tempPier();
  const viaPlea = join(mount, "big/plea.bin");
  const viaPipe = join(mount, "big/pipe.bin");
  await Bun.write(join(mount, "big/.keep"), "");
  writeBigFile(viaPlea, BIG_BYTES, 1);

  // Staging off: the bytes themselves go through the plea (the default above 256 MiB).
  const c = await urth(["commit", "--json", "--stage-threshold", "1T", "--pier", pier]);
  expect(c.code).toBe(0);
  const summary = JSON.parse(c.stdout);
  expect(summary).toMatchObject({ eve: 1, path: "plea", added: 1, changed: 0, deleted: 0, bytes: BIG_BYTES, skipped: [{ rel: "big/.keep", reason: "dot-file" }] });
  expect(summary.phases.fillMs).toBeGreaterThan(0);
  // Not a terminal: plain progress lines, no bar.
  expect(stderrLines(c.stderr)).toEqual([
    "commit: 300 MiB via plea: asking mars for a segment",
    "commit: 300 MiB via plea: filling the segment",
    "commit: 300 MiB via plea: waiting until durable",
  ]);

  // The pipe: a run whose threshold no event reaches commits the second file.
  writeBigFile(viaPipe, BIG_BYTES, 2);
  const run = await startRun(pier, ["--plea-threshold", "1T"]);
  const line = await run.waitForLine("stdout", /^event 2: /, "the pipe commit");
  expect(line).toMatch(/^event 2: 1 added, 0 changed, 0 deleted, 300 MiB via pipe in [0-9.]+ m?s$/);
  expect(run.stderrLines).toContain("commit: 300 MiB via pipe: sending through the pipe");

  for (const [rel, path] of [
    ["big/plea.bin", viaPlea],
    ["big/pipe.bin", viaPipe],
  ]) {
    const got = await catSha256(pier, rel);
    expect({ rel, code: got.code, bytes: got.bytes, sha256: got.sha256, stderr: got.stderr }).toEqual({ rel, code: 0, bytes: BIG_BYTES, sha256: await fileSha256(path), stderr: "" });
  }
  const log = JSON.parse((await urth(["log", "--json", "--pier", pier])).stdout) as { eve: number; path: string; jamBytes: number }[];
  expect(log.map((e) => [e.eve, e.path])).toEqual([
    [1, "plea"],
    [2, "pipe"],
  ]);
  run.proc.kill("SIGTERM");
  expect(await run.exited()).toBe(0);
}, 180_000);
