/**
 * `urth du` and `urth chop` with real urth and mars processes (docs/urth.md, "Commands";
 * docs/event-log.md, "Retention"): alone on an idle pier and beside a `run`.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { cleanUp, pseudoRandomBytes, startRun, tempPier, urth, urthBytes, waitFor } from "./urth-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(cleanUp);

/** Above the blob threshold (1 MiB): each version is a blob of its own. */
const BIG_BYTES = 1_300_000;

interface Du {
  total: { bytes: number };
  log: { bytes: number; events: { first: number; last: number } };
  spill: { bytes: number };
  blobs: { live: { count: number; bytes: number }; retained: { count: number; bytes: number }; dead: { count: number; bytes: number } };
  snapshots: { bytes: number };
  other: { bytes: number };
  mount: { files: number; bytes: number };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await urth([...args, "--json"]);
  if (r.code !== 0) throw new Error(`urth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function blobFiles(pier: string): string[] {
  return readdirSync(join(pier, ".urb", "bob")).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

describe("urth du and urth chop", () => {
  test("on an idle pier: du puts every byte of .urb in one category; chop drops dead versions and keeps what the state names", async () => {
    const { pier, mount } = tempPier();
    const versions = [1, 2, 3].map((v) => pseudoRandomBytes(BIG_BYTES, v));
    let note = "";
    for (const bytes of versions) {
      writeFileSync(join(mount, "big.bin"), bytes);
      note = `version ${bytes[0]}`;
      writeFileSync(join(mount, "note.txt"), note);
      expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    }
    const du = await json<Du>(["du", "--pier", pier]);
    expect(du.blobs.live.count).toBe(1);
    expect(du.blobs.live.bytes).toBeGreaterThanOrEqual(BIG_BYTES);
    expect(du.blobs.dead.count + du.blobs.retained.count).toBe(2);
    const sum = du.log.bytes + du.spill.bytes + du.blobs.live.bytes + du.blobs.retained.bytes + du.blobs.dead.bytes + du.snapshots.bytes + du.other.bytes;
    expect(sum).toBe(du.total.bytes);
    expect(du.mount).toEqual({ files: 2, bytes: BIG_BYTES + note.length });
    expect(du.log.events).toMatchObject({ first: 1, last: 3 });
    expect(blobFiles(pier).length).toBe(3);

    const chop = await json<{ report: Record<string, unknown>; du: Du }>(["chop", "--pier", pier, "--keep", "0"]);
    expect(chop.du.blobs.dead.count).toBe(0);
    expect(chop.du.blobs.retained.count).toBe(0);
    expect(chop.du.blobs.live.count).toBe(1);
    expect(chop.du.total.bytes).toBeLessThan(du.total.bytes);
    expect(blobFiles(pier).length).toBe(1);
    // The state is whole, and the next start (a snapshot, no event before it) reads it back.
    const cat = await urthBytes(["cat", "big.bin", "--pier", pier]);
    expect(cat.code).toBe(0);
    expect(Buffer.compare(Buffer.from(cat.stdout), Buffer.from(versions[2]))).toBe(0);
    const status = await json<{ eve: number; du: Du }>(["status", "--pier", pier]);
    expect(status.eve).toBe(3);
    expect(status.du.blobs.live.count).toBe(1);
    // A second chop finds nothing more to drop, and a commit after it goes on from event 4.
    const again = await json<{ du: Du }>(["chop", "--pier", pier]);
    expect(again.du.blobs.live.count).toBe(1);
    writeFileSync(join(mount, "note.txt"), "after the chop");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    expect((await urth(["cat", "note.txt", "--pier", pier])).stdout).toBe("after the chop");
    expect((await json<{ eve: number }>(["status", "--pier", pier])).eve).toBe(4);
  });

  test("beside a run: du and chop go through its socket, and commits go on during and after the chop", async () => {
    const { pier, mount } = tempPier();
    const run = await startRun(pier, ["--debounce", "50"]);
    let eve = 0;
    const commit = async (name: string, bytes: Uint8Array) => {
      writeFileSync(join(mount, name), bytes);
      eve++;
      await waitFor(async () => (await json<{ eve: number }>(["status", "--pier", pier])).eve >= eve, `event ${eve}`);
    };
    for (let v = 1; v <= 3; v++) await commit("big.bin", pseudoRandomBytes(BIG_BYTES, 10 + v));
    const du = await json<Du>(["du", "--pier", pier]);
    expect(du.blobs.live.count).toBe(1);
    expect(du.log.events.last).toBe(3);
    const chop = urth(["chop", "--pier", pier, "--json"]);
    await commit("small.txt", new TextEncoder().encode("during"));
    const done = await chop;
    expect(done.code).toBe(0);
    const after = JSON.parse(done.stdout) as { du: Du };
    expect(after.du.blobs.live.count).toBe(1);
    await commit("small.txt", new TextEncoder().encode("after"));
    expect((await urth(["cat", "small.txt", "--pier", pier])).stdout).toBe("after");
    const cat = await urthBytes(["cat", "big.bin", "--pier", pier]);
    expect(Buffer.compare(Buffer.from(cat.stdout), Buffer.from(pseudoRandomBytes(BIG_BYTES, 13)))).toBe(0);
    expect((await urth(["stop", "--pier", pier])).code).toBe(0);
    expect(await run.exited()).toBe(0);
    // The next start replays from the kept snapshot.
    expect((await json<{ eve: number }>(["status", "--pier", pier])).eve).toBe(eve);
  });

  test("bad --keep values are usage errors, and nothing is chopped", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    for (const keep of ["-1", "x", "1.5", "1001", ""]) {
      const r = await urth(["chop", "--pier", pier, `--keep=${keep}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^urth: /);
    }
  });
});
