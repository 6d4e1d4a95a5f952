/**
 * The read view (docs/read-view.md): what a reader sees equals the kernel's peeks after random
 * events, after a restart and after a rebuild; a stale or damaged view is a typed error.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { open as openLmdb } from "lmdb";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError } from "../../src/error.ts";
import { EventLog, logPaths } from "../../src/mars/log/index.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { SnapshotStore } from "../../src/mars/log/snapshot.ts";
import { restore } from "../../src/mars/restore.ts";
import { rebuildViewIfStale } from "../../src/mars/view-rebuild.ts";
import { ViewErrorCode } from "../../src/view/errors.ts";
import { ReadView } from "../../src/view/view-reader.ts";
import { fileKey, VIEW_TABLE_DESKS, VIEW_TABLE_FILES, VIEW_TABLE_HEAD } from "../../src/view/view-format.ts";
import { Cell, cord, list } from "../../src/noun/index.ts";
import { pathNoun, removeTempPiers, tempPier, intoOvum, nowOf } from "../mars/mars-test-support.ts";
import { intoOvum as encodeIntoOvum } from "../../src/ipc/into.ts";
import { mug } from "../../src/noun/index.ts";
import type { FileStorePokeDone } from "../../src/mars/kernel/file-store.ts";
import { applyEvent, Choices, expectViewEqualsKernel, randomChanges } from "./view-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(removeTempPiers);

/** Files of at least this many bytes go to the blob store in these tests (1 MiB by default). */
const BLOB_MIN = 2048;
const DESKS = ["base", "kids"];

async function restart(pier: string) {
  const log = await EventLog.open(pier, { blobBytesMin: BLOB_MIN });
  const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
  return { log, kernel: restored.kernel, rebuilt: await rebuildViewIfStale(log, restored.kernel) };
}

async function randomPier(seed: number, events: number) {
  const pier = tempPier();
  const log = await EventLog.open(pier, { blobBytesMin: BLOB_MIN });
  const kernel = createFileStoreKernel();
  expect(await rebuildViewIfStale(log, kernel)).toBe(0);
  const c = new Choices(seed);
  for (let i = 0; i < events; i++) await applyEvent(log, kernel, randomChanges(c, BLOB_MIN), c.pick(DESKS), c.next() < 0.1);
  return { pier, log, kernel, c };
}

describe("read view", () => {
  test("an empty pier's view holds nothing; a pier with no log has no view", async () => {
    const pier = tempPier();
    expect(ReadView.open(pier)).toBeUndefined();
    const log = await EventLog.open(pier);
    await rebuildViewIfStale(log, createFileStoreKernel());
    const rv = ReadView.open(pier)!;
    rv.read((v) => {
      expect(v.head()).toEqual({ eve: 0, mug: 0 });
      expect(v.desk("base")).toEqual({ files: 0, bytes: 0 });
      expect(v.list("base", [])).toEqual([]);
      expect(v.file("base", ["a"])).toBeUndefined();
      expect(v.infos(1, 10)).toEqual([]);
    });
    rv.close();
    await log.close();
  });

  for (const seed of [1, 2, 3]) {
    test(`after random events (seed ${seed}) the view equals the kernel's peeks, and after a restart`, async () => {
      const { pier, log, kernel, c } = await randomPier(seed, 0);
      for (let i = 0; i < 40; i++) {
        const eve = await applyEvent(log, kernel, randomChanges(c, BLOB_MIN), c.pick(DESKS), c.next() < 0.1);
        if (i % 5 === 4) expectViewEqualsKernel(pier, kernel, DESKS, eve);
      }
      const eve = log.eve;
      const rv = ReadView.open(pier)!;
      const infos = rv.read((v) => v.infos(1, eve));
      expect(infos).toEqual(log.info(1, eve));
      rv.close();
      await log.close();
      const again = await restart(pier);
      // Replay appends nothing: the view written with the events is current.
      expect(again.rebuilt).toBeUndefined();
      expectViewEqualsKernel(pier, again.kernel, DESKS, eve);
      await again.log.close();
    });
  }

  test("a pier whose view tables were dropped gets them back at start, equal to the kernel", async () => {
    const { pier, log, kernel } = await randomPier(7, 30);
    const eve = log.eve;
    await log.close();
    const env = openLmdb({ path: logPaths(pier).log, maxDbs: 16, overlappingSync: false });
    for (const name of [VIEW_TABLE_FILES, VIEW_TABLE_DESKS, VIEW_TABLE_HEAD]) await env.openDB({ name }).drop();
    await env.close();
    expect(ReadView.open(pier)).toBeUndefined();
    const again = await restart(pier);
    expect(again.rebuilt).toBe(countFiles(kernel));
    expect(again.rebuilt).toBeGreaterThan(0);
    expectViewEqualsKernel(pier, again.kernel, DESKS, eve);
    await again.log.close();
  });

  test("an event appended without its view changes leaves the view stale until mars rebuilds it", async () => {
    const { pier, log, kernel } = await randomPier(11, 5);
    const eve = log.eve + 1;
    const ovum = intoOvum([{ path: "late", bytes: "late" }]);
    const r = kernel.poke(nowOf(eve), ovum);
    if (!r.ok) throw new Error("rejected");
    kernel.commit(r);
    await log.append({ eve, mug: kernel.mug(), now: nowOf(eve), ovum });
    const rv = ReadView.open(pier)!;
    let caught: unknown;
    try {
      rv.read((v) => v.desk("base"));
    } catch (e) {
      caught = e;
    }
    expect(isPleaError(caught, ViewErrorCode.stale)).toBe(true);
    expect((caught as Error).message).toContain(`it shows event ${eve - 1}, and the log is at event ${eve}`);
    expect((caught as Error).message).toContain("Restart urth to rebuild it");
    rv.close();
    await log.close();
    const again = await restart(pier);
    expect(again.rebuilt).toBeGreaterThan(0);
    expectViewEqualsKernel(pier, again.kernel, DESKS, eve);
    await again.log.close();
  });

  test("a file the view cannot hold (a mime type over its limit, a path too long for a key) is committed; its desk says the view is incomplete until cleared", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier, { blobBytesMin: BLOB_MIN });
    const kernel = createFileStoreKernel();
    await rebuildViewIfStale(log, kernel);
    await applyEvent(log, kernel, [{ path: "a.txt", bytes: "old" }]);
    // The kernel takes any mime type; this one is over VIEW_TYPE_BYTES_MAX. The same path's old
    // entry must go with it, else the view would show the old version.
    const longType = list([cord("text"), cord("x".repeat(5000))]);
    const eve = log.eve + 1;
    const ovum = encodeIntoOvum("base", [{ kind: "put", path: pathNoun("a.txt"), type: longType, len: 3, data: 0x636261 }], 1);
    const r = kernel.poke(nowOf(eve), ovum);
    expect(r.ok).toBe(true);
    const done = r as FileStorePokeDone;
    await log.append({ eve, mug: mug(done.state), now: nowOf(eve), ovum, kind: "into", view: done.view });
    kernel.commit(done);
    // A path whose key is over VIEW_KEY_BYTES_MAX, in another desk: that desk only is flagged.
    await applyEvent(log, kernel, [{ path: "b.txt", bytes: "b" }], "kids");
    await applyEvent(log, kernel, [{ path: `${"d".repeat(2100)}.txt`, bytes: "long" }], "kids");
    const rv = ReadView.open(pier)!;
    rv.read((v) => {
      expect(v.head().eve).toBe(log.eve);
      expect(v.desk("base")).toEqual({ files: 1, bytes: 3 });
      for (const desk of ["base", "kids"]) {
        expect(() => v.list(desk, [])).toThrow(expect.objectContaining({ code: ViewErrorCode.incomplete }));
        expect(() => v.file(desk, ["a.txt"])).toThrow(expect.objectContaining({ code: ViewErrorCode.incomplete }));
      }
    });
    // The desk cleared (`all`) with files the view holds: complete again.
    await applyEvent(log, kernel, [{ path: "c.txt", bytes: "c" }], "base", true);
    rv.read((v) => {
      expect(v.list("base", [])).toEqual([{ path: ["c.txt"], size: 1 }]);
      expect(() => v.list("kids", [])).toThrow(expect.objectContaining({ code: ViewErrorCode.incomplete }));
    });
    rv.close();
    await log.close();
  });

  test("a damaged entry is a typed error naming it, never wrong data", async () => {
    const { pier, log } = await randomPier(5, 0);
    const kernel = createFileStoreKernel();
    await applyEvent(log, kernel, [{ path: "a/txt", bytes: "hello" }]);
    await log.close();
    const env = openLmdb({ path: logPaths(pier).log, maxDbs: 16, overlappingSync: false });
    const files = env.openDB<Buffer, Buffer>({ name: VIEW_TABLE_FILES, keyEncoding: "binary", encoding: "binary" });
    const key = fileKey("base", [new TextEncoder().encode("a"), new TextEncoder().encode("txt")]);
    const value = Buffer.from(files.get(key)!);
    value[value.length - 1] ^= 0x01;
    await files.put(key, value);
    await env.close();
    const rv = ReadView.open(pier)!;
    let caught: unknown;
    try {
      rv.read((v) => v.file("base", ["a", "txt"]));
    } catch (e) {
      caught = e;
    }
    expect(isPleaError(caught, ViewErrorCode.damaged)).toBe(true);
    expect((caught as Error).message).toContain("its checksum is wrong");
    // The desk's totals are a separate entry, still read.
    expect(rv.read((v) => v.desk("base"))).toEqual({ files: 1, bytes: 5 });
    rv.close();
  });

  test("a damaged data.mdb meta page is refused before LMDB maps it", async () => {
    const { pier, log } = await randomPier(9, 3);
    await log.close();
    const data = `${logPaths(pier).log}/data.mdb`;
    const bytes = new Uint8Array(await Bun.file(data).arrayBuffer());
    bytes[24] ^= 0xff; // meta page 0's magic
    await Bun.write(data, bytes);
    let caught: unknown;
    try {
      ReadView.open(pier);
    } catch (e) {
      caught = e;
    }
    expect(isPleaError(caught, ViewErrorCode.lmdbDamaged)).toBe(true);
    expect((caught as Error).message).toContain("meta page 0 has magic");
  });
});

/** The files the kernel holds in all of DESKS (its `/d` totals). */
function countFiles(kernel: ReturnType<typeof createFileStoreKernel>): number {
  let n = 0;
  for (const desk of DESKS) {
    const r = kernel.peek(list([cord("d"), cord(desk)]));
    if (r.ok && r.unit instanceof Cell) n += ((r.unit.tail as Cell).tail as Cell).head as number;
  }
  return n;
}

describe("read view isolation", () => {
  test("a reader process sees each event whole while mars appends: two files changed together are never a mix", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier, { blobBytesMin: BLOB_MIN });
    const kernel = createFileStoreKernel();
    await rebuildViewIfStale(log, kernel);
    const LAST = 200;
    const reader = Bun.spawn([process.execPath, `${import.meta.dir}/reader-fixture.ts`, pier, String(LAST)], { stdout: "pipe", stderr: "pipe" });
    try {
      for (let eve = 1; eve <= LAST; eve++) {
        await applyEvent(log, kernel, [
          { path: "a", bytes: `v${eve}` },
          { path: "b", bytes: `v${eve}` },
        ]);
      }
      const [out, err, status] = await Promise.all([new Response(reader.stdout).text(), new Response(reader.stderr).text(), reader.exited]);
      expect({ status, err }).toEqual({ status: 0, err: "" });
      const result = JSON.parse(out) as { reads: number; events: number; mixed: string[] };
      expect(result.mixed).toEqual([]);
      // It read while the log moved: more than the first and the last state.
      expect(result.events).toBeGreaterThan(2);
    } finally {
      // SIGKILL: a reader spinning in its loop once outlived a SIGTERM and the test run.
      reader.kill("SIGKILL");
      await reader.exited;
      await log.close();
    }
  });
});

