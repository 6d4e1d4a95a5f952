/**
 * A pier's private state is its owner's alone whatever the umask (issue 12, item 8; docs/urth.md,
 * "Who can read a pier"): under umask 000, every path under `.urb` (the lock, the control
 * socket, the log and its blobs, the mount cache, the format and namespace files) is 0700 for a
 * directory and 0600 otherwise, while urth runs and after. A file committed from a 0600 original
 * must not become readable to other local users through the log.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pierPaths } from "../../src/urth/pier.ts";
import { cleanUp, leftoverSegments, pseudoRandomBytes, startRun, stderrLines, tempPier, urth, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** Every path under `.urb` (itself included) as "path mode", mount-relative to the pier. */
function urbModes(pier: string): string[] {
  const urb = pierPaths(pier).urb;
  const out: string[] = [];
  const stack = [urb];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    out.push(`${dir.slice(pier.length + 1)} ${(statSync(dir).mode & 0o777).toString(8)}`);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        stack.push(path);
        continue;
      }
      let mode: number;
      try {
        mode = statSync(path).mode & 0o777;
      } catch {
        continue; // a temporary file renamed into place meanwhile
      }
      out.push(`${path.slice(pier.length + 1)} ${mode.toString(8)}`);
    }
  }
  return out.sort();
}

/** The entries of `modes` that are not 0700 (directories) or 0600 (everything else). */
function loose(pier: string, modes: string[]): string[] {
  return modes.filter((line) => {
    const [path, mode] = line.split(" ");
    return mode !== (statSync(join(pier, path)).isDirectory() ? "700" : "600");
  });
}

test(
  "under umask 000, every path under .urb is 0700 or 0600 while run holds the pier and after it stops",
  async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "secret.txt"), "hunter2\n", { mode: 0o600 });
    // Above the blob threshold (1 MiB): kept in the blob store.
    writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(2 * 1024 * 1024, 8), { mode: 0o600 });
    const run = await startRun(pier, ["--debounce", "100", "--plea-threshold", "64K"], { umask: 0 });
    await run.waitForLine("stdout", /^event 1: 2 added, .* via plea in /, "the first commit");
    await waitFor(() => existsSync(pierPaths(pier).mountCache), "the mount cache");

    const during = urbModes(pier);
    expect(loose(pier, during)).toEqual([]);
    // What this test is about is there: the lock, the socket, the log, a blob, the mount cache.
    for (const path of [".urb", ".urb/lock", ".urb/urth.sock", ".urb/pier.json", ".urb/shm-namespace", ".urb/mount.json", ".urb/log/data.mdb", ".urb/log/lock.mdb"]) {
      expect([path, during.some((line) => line.startsWith(`${path} `))]).toEqual([path, true]);
    }
    expect(during.filter((line) => /^\.urb\/bob\/[0-9a-f]{64} /.test(line))).toHaveLength(1);

    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
    const after = urbModes(pier);
    expect(after.length).toBeGreaterThanOrEqual(during.length - 1); // the socket is gone
    expect(loose(pier, after)).toEqual([]);
  },
  60_000,
);

test(
  "an older pier whose .urb followed the umask is tightened to 0700 when urth opens it",
  async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    // As earlier versions left it under umask 022 (and 000).
    chmodSync(pierPaths(pier).urb, 0o755);
    chmodSync(join(pierPaths(pier).urb, "log"), 0o777);
    const status = await urth(["status", "--pier", pier]);
    expect({ code: status.code, stderr: stderrLines(status.stderr) }).toEqual({ code: 0, stderr: [] });
    expect(statSync(pierPaths(pier).urb).mode & 0o777).toBe(0o700);
    expect(statSync(join(pierPaths(pier).urb, "log")).mode & 0o777).toBe(0o700);
  },
  60_000,
);
