/**
 * The state after a retained event (src/mars/history.ts): built from the newest usable snapshot at
 * or before it and the events after it, checked, kept for the next read, and refused outside the
 * log's retained range.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isPleaError } from "../../src/error.ts";
import { peekPath } from "../../src/ipc/peek-path.ts";
import { MarsErrorCode } from "../../src/mars/errors.ts";
import { History, type HistoryBuild } from "../../src/mars/history.ts";
import { createFileStoreKernel, type FileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog, logPaths, snapshotFileName, SnapshotStore } from "../../src/mars/log/index.ts";
import { BigAtom, Cell, toBytes, type Noun } from "../../src/noun/index.ts";
import { appendEvents, pseudoRandomBytes, removeTempPiers, tempPier, type FileChange } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const opened: EventLog[] = [];
afterEach(async () => {
  while (opened.length > 0) await opened.pop()!.close();
  removeTempPiers();
});

/** Atoms of this many bytes or more go to the blob store in these tests (the default is 1 MiB). */
const BLOB_MIN = 4096;
const big = pseudoRandomBytes(3 * BLOB_MIN, 7);

/** Event `eve`: `a/txt` says which event wrote it; every 4th also writes a large `big/bin`; event 6 deletes `b/txt`. */
function changeOf(eve: number): FileChange[] {
  const out: FileChange[] = [{ path: "a/txt", bytes: `a after ${eve}` }];
  if (eve <= 5) out.push({ path: `b/txt`, bytes: `b ${eve}` });
  if (eve === 6) out.push({ path: "b/txt", delete: true });
  if (eve % 4 === 0) {
    const bytes = big.slice();
    bytes[0] = eve;
    out.push({ path: "big/bin", bytes });
  }
  return out;
}

/** A pier with events 1..count (snapshots after `snapshotsAt`), its log open, and each event's mug. */
async function pier(count: number, snapshotsAt: number[]): Promise<{ dir: string; log: EventLog; snapshots: SnapshotStore; mugs: Map<number, number>; live: FileStoreKernel }> {
  const dir = tempPier();
  const log = await EventLog.open(dir, { blobBytesMin: BLOB_MIN });
  opened.push(log);
  const snapshots = new SnapshotStore(dir);
  const live = createFileStoreKernel();
  const mugs = new Map<number, number>();
  let eve = 0;
  for (const at of [...snapshotsAt, count]) {
    for (const [e, m] of await appendEvents(log, live, eve + 1, at, changeOf)) mugs.set(e, m);
    eve = at;
    if (snapshotsAt.includes(at)) await snapshots.save(at, live.mug(), live.state, { store: log.store, bytesMin: BLOB_MIN });
  }
  return { dir, log, snapshots, mugs, live };
}

function history(p: { log: EventLog; snapshots: SnapshotStore }, builds: HistoryBuild[] = [], idleMs?: number): History<FileStoreKernel> {
  return new History({ log: p.log, snapshots: p.snapshots, createKernel: createFileStoreKernel, onBuilt: (b) => builds.push(b), ...(idleMs !== undefined ? { idleMs } : {}) });
}

/** A file's bytes in a kernel's state, or undefined. */
function fileOf(k: FileStoreKernel, path: string): Uint8Array | undefined {
  const r = k.peek(peekPath("x", "base", path.split("/")));
  if (!r.ok) throw new Error("peek failed");
  if (r.unit === 0) return undefined;
  const mime = ((r.unit as Cell).tail as Cell).tail as Cell;
  const len = (((mime.tail as Cell).head) as number);
  const data = (mime.tail as Cell).tail as Noun;
  const out = new Uint8Array(len);
  out.set(toBytes(data as never).subarray(0, len));
  return out;
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe("History", () => {
  test("the state after every event has that event's stored mug and its files as they were", async () => {
    const p = await pier(12, [5, 9]);
    const h = history(p);
    // Out of order on purpose: backwards, forwards, across snapshots.
    for (const eve of [3, 12, 1, 7, 5, 6, 11, 9, 10, 2, 4, 8]) {
      const k = await h.kernelAt(eve);
      expect(k.mug()).toBe(p.mugs.get(eve)!);
      expect(text(fileOf(k, "a/txt"))).toBe(`a after ${eve}`);
      expect(text(fileOf(k, "b/txt"))).toBe(eve <= 5 ? `b ${eve}` : undefined);
      const b = fileOf(k, "big/bin");
      if (eve < 4) expect(b).toBeUndefined();
      else {
        const want = big.slice();
        want[0] = eve - (eve % 4);
        expect(Buffer.from(b!).equals(Buffer.from(want))).toBe(true);
      }
    }
  });

  test("starts from the newest snapshot at or before the event, and replays only what follows it", async () => {
    const p = await pier(12, [5, 9]);
    const builds: HistoryBuild[] = [];
    const h = history(p, builds);
    await h.kernelAt(8);
    expect(builds.at(-1)).toMatchObject({ eve: 8, from: "snapshot", startEve: 5, replayed: 3 });
    await h.kernelAt(4);
    expect(builds.at(-1)).toMatchObject({ eve: 4, from: "empty", startEve: 0, replayed: 4 });
    await h.kernelAt(9);
    expect(builds.at(-1)).toMatchObject({ eve: 9, from: "snapshot", startEve: 9, replayed: 0 });
  });

  test("the last state is kept: the same event again replays nothing, a later one replays from it", async () => {
    const p = await pier(12, [2]);
    const builds: HistoryBuild[] = [];
    const h = history(p, builds);
    const k = await h.kernelAt(6);
    expect(builds.at(-1)).toMatchObject({ from: "snapshot", startEve: 2, replayed: 4 });
    expect(await h.kernelAt(6)).toBe(k);
    expect(builds.at(-1)).toMatchObject({ from: "cache", replayed: 0 });
    expect(h.cachedEve).toBe(6);
    // Forward from the kept state (6), not from the snapshot (2).
    const k8 = await h.kernelAt(8);
    expect(builds.at(-1)).toMatchObject({ from: "replay-from-cache", startEve: 6, replayed: 2 });
    expect(k8.mug()).toBe(p.mugs.get(8)!);
    // Backwards: the kept state cannot help; the snapshot does.
    const k3 = await h.kernelAt(3);
    expect(builds.at(-1)).toMatchObject({ from: "snapshot", startEve: 2, replayed: 1 });
    expect(k3.mug()).toBe(p.mugs.get(3)!);
    expect(h.cachedEve).toBe(3);
  });

  test("a new event does not drop the kept state; the log's last event is answered by the live kernel", async () => {
    const p = await pier(6, []);
    const builds: HistoryBuild[] = [];
    const h = history(p, builds);
    const k4 = await h.kernelAt(4);
    await appendEvents(p.log, p.live, 7, 7, changeOf);
    expect(await h.kernelAt(4)).toBe(k4);
    expect(builds.at(-1)).toMatchObject({ from: "cache" });
    expect(await h.kernelAt(7, { eve: 7, kernel: p.live })).toBe(p.live);
    expect(builds.at(-1)).toMatchObject({ from: "live" });
    // The live answer leaves the kept state alone.
    expect(h.cachedEve).toBe(4);
  });

  test("the kept state is dropped after the idle limit and on drop()", async () => {
    const p = await pier(4, []);
    const h = history(p, [], 20);
    await h.kernelAt(2);
    expect(h.cachedEve).toBe(2);
    const deadline = Date.now() + 10_000;
    while (h.cachedEve !== undefined && Date.now() < deadline) await Bun.sleep(10);
    expect(h.cachedEve).toBeUndefined();
    await h.kernelAt(3);
    expect(h.cachedEve).toBe(3);
    h.drop();
    expect(h.cachedEve).toBeUndefined();
  });

  test("an event outside the retained range is refused with the range in the message", async () => {
    const p = await pier(5, []);
    const h = history(p);
    for (const eve of [0, 6, 1000]) {
      let caught: unknown;
      try {
        await h.kernelAt(eve);
      } catch (e) {
        caught = e;
      }
      expect(isPleaError(caught, MarsErrorCode.history.notRetained)).toBe(true);
      expect((caught as Error).message).toBe(`Event ${eve} is not retained: the log holds events 1 to 5`);
    }
    const empty = tempPier();
    const log = await EventLog.open(empty);
    opened.push(log);
    await expect(history({ log, snapshots: new SnapshotStore(empty) }).kernelAt(1)).rejects.toThrow("Event 1 is not retained: the log holds no events yet");
  });

  test("once the log starts later than event 1: the range is first..last, and only a snapshot from first - 1 on is a start", async () => {
    const p = await pier(10, [2, 3, 6]);
    // The log as a chopped one reads (EventLog.first is 1 until chop records META first).
    const chopped = (first: number) => new Proxy(p.log, { get: (t, k) => (k === "first" ? first : Reflect.get(t, k, t)) }) as EventLog;
    const builds: HistoryBuild[] = [];
    const h = new History({ log: chopped(4), snapshots: p.snapshots, createKernel: createFileStoreKernel, onBuilt: (b) => builds.push(b) });
    await expect(h.kernelAt(3)).rejects.toThrow("Event 3 is not retained: the log holds events 4 to 10");
    expect((await h.kernelAt(5)).mug()).toBe(p.mugs.get(5)!);
    expect(builds.at(-1)).toMatchObject({ from: "snapshot", startEve: 3, replayed: 2 });
    h.drop();
    // Snapshot 3 is below first - 1 = 4 for a log starting at 5: events 4.. are gone, and 6 is the only start.
    const later = new History({ log: chopped(5), snapshots: p.snapshots, createKernel: createFileStoreKernel });
    await expect(later.kernelAt(5)).rejects.toThrow("Event 5 is not retained: no usable snapshot lies at or before it from event 4 on, and the log holds events 5 to 10");
    expect((await later.kernelAt(8)).mug()).toBe(p.mugs.get(8)!);
  });

  test("a damaged snapshot is skipped for an older one, and said", async () => {
    const p = await pier(10, [3, 7]);
    writeFileSync(join(logPaths(p.dir).chk, snapshotFileName(7)), "not a snapshot");
    const builds: HistoryBuild[] = [];
    const h = history(p, builds);
    const k = await h.kernelAt(9);
    expect(k.mug()).toBe(p.mugs.get(9)!);
    expect(builds.at(-1)).toMatchObject({ from: "snapshot", startEve: 3, replayed: 6 });
    expect(builds.at(-1)!.warnings).toHaveLength(1);
    expect(builds.at(-1)!.warnings[0]).toContain(snapshotFileName(7));
  });

  test("a snapshot whose mug differs from its event's is not used", async () => {
    const p = await pier(6, []);
    // A snapshot of event 5 holding the state after event 6: whole, but not event 5's state.
    await p.snapshots.save(5, p.live.mug(), p.live.state, { store: p.log.store, bytesMin: BLOB_MIN });
    const builds: HistoryBuild[] = [];
    const k = await history(p, builds).kernelAt(5);
    expect(k.mug()).toBe(p.mugs.get(5)!);
    expect(builds.at(-1)).toMatchObject({ from: "empty", replayed: 5 });
    expect(builds.at(-1)!.warnings[0]).toContain("differs from event 5's");
  });

  test("large files come back as blob-backed atoms, byte-exact", async () => {
    const p = await pier(8, [4]);
    const k = await history(p).kernelAt(5);
    const r = k.peek(peekPath("x", "base", ["big", "bin"]));
    const data = ((((r as { unit: Cell }).unit.tail as Cell).tail as Cell).tail as Cell).tail;
    expect(data instanceof BigAtom && data.source !== undefined).toBe(true);
  });
});
