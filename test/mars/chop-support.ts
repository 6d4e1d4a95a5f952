/**
 * Shared pieces of the chop tests (docs/event-log.md, "Retention"): a pier whose events write,
 * replace and delete files large enough to be blobs (the threshold lowered to CHOP_BLOB_MIN), with
 * snapshots along the way, applied as mars applies them (the kernel, the log, then the atoms
 * moved to their blobs), and the checks every test makes after a chop or a crash in one.
 */
import { expect } from "bun:test";
import { cardTag } from "../../src/ipc/into.ts";
import { createFileStoreKernel, type FileStoreKernel } from "../../src/mars/kernel/index.ts";
import type { FileStorePokeDone } from "../../src/mars/kernel/file-store.ts";
import { EventLog, SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { liveBlobNames } from "../../src/mars/retention.ts";
import { readSnapshotRefs } from "../../src/mars/log/snapshot.ts";
import { settleEvent } from "../../src/mars/settle.ts";
import { mug } from "../../src/noun/index.ts";
import { intoOvum, nowOf, pseudoRandomBytes, type FileChange } from "./mars-test-support.ts";

/** Atoms of at least this many bytes are blobs in these tests. */
export const CHOP_BLOB_MIN = 4096;
/** Jams above this many bytes are spill files in these tests (1 MiB by default). */
export const CHOP_INLINE_MAX = 16 * 1024;

/**
 * Event `eve`'s changes: a new 8 KiB file under big/ every event (its bytes differ per event), a
 * replacement of big/<eve % 3> (so older versions become dead once their events go), a deletion
 * now and then, and a small note.
 */
export function chopChange(eve: number): FileChange[] {
  const bytes = pseudoRandomBytes(8192, eve * 7919 + 1);
  const out: FileChange[] = [
    { path: `big/r${eve % 3}/bin`, bytes },
    { path: `notes/n${eve % 5}/txt`, bytes: `note ${eve}` },
  ];
  if (eve % 4 === 0) out.push({ path: `big/e${eve}/bin`, bytes: pseudoRandomBytes(6000, eve) });
  if (eve % 8 === 0) out.push({ path: `big/e${eve - 4}/bin`, delete: true });
  // Small files only, but a jam over CHOP_INLINE_MAX: a spill file in .urb/blob.
  if (eve % 5 === 0) for (let i = 0; i < 8; i++) out.push({ path: `many/m${i}/bin`, bytes: pseudoRandomBytes(3000, eve * 100 + i) });
  return out;
}

export function openChopLog(pier: string): Promise<EventLog> {
  return EventLog.open(pier, { blobBytesMin: CHOP_BLOB_MIN, inlineBytesMax: CHOP_INLINE_MAX });
}

/** Applies event `eve` as mars does; returns the mug after it. */
export async function applyChopEvent(log: EventLog, kernel: FileStoreKernel, eve: number, changes = chopChange(eve)): Promise<number> {
  const ovum = intoOvum(changes);
  const r = kernel.poke(nowOf(eve), ovum);
  if (!r.ok) throw new Error(`event ${eve} was rejected`);
  const stateMug = mug(r.state);
  const appended = await log.append({ eve, mug: stateMug, now: nowOf(eve), ovum, kind: cardTag(ovum), view: (r as FileStorePokeDone).view });
  kernel.commit(r);
  settleEvent([], appended.stored);
  return stateMug;
}

/** Snapshot of the kernel's state at the log's last event, as mars takes it. */
export async function saveSnapshot(log: EventLog, snapshots: SnapshotStore, kernel: FileStoreKernel): Promise<void> {
  await snapshots.save(log.eve, kernel.mug(), kernel.state, { store: log.store, bytesMin: CHOP_BLOB_MIN });
}

/**
 * A pier with events 1..last and snapshots at `snapAt`; returns the mug after each event. The log
 * is closed.
 */
export async function buildChopPier(pier: string, last: number, snapAt: readonly number[]): Promise<Map<number, number>> {
  const log = await openChopLog(pier);
  const snapshots = new SnapshotStore(pier);
  const kernel = createFileStoreKernel();
  const mugs = new Map<number, number>();
  try {
    for (let eve = 1; eve <= last; eve++) {
      mugs.set(eve, await applyChopEvent(log, kernel, eve));
      if (snapAt.includes(eve)) await saveSnapshot(log, snapshots, kernel);
    }
  } finally {
    await log.close();
  }
  return mugs;
}

/** The mug after events 1..eve on a fresh kernel. */
export function freshChopMug(eve: number): number {
  const kernel = createFileStoreKernel();
  for (let e = 1; e <= eve; e++) {
    const r = kernel.poke(nowOf(e), intoOvum(chopChange(e)));
    if (!r.ok) throw new Error("rejected");
    kernel.commit(r);
  }
  return kernel.mug();
}

/**
 * After a chop (whole or killed): the log opens and restores to `expectedMug` at `last`; every kept
 * event replays with its mug (checked by restore from the oldest kept snapshot, and here event by
 * event from it); every blob the state, a kept event or a kept snapshot names is in the store and
 * intact. Returns the log, open.
 */
export async function checkChoppedPier(pier: string, last: number, expectedMug: number): Promise<EventLog> {
  const log = await openChopLog(pier);
  const snapshots = new SnapshotStore(pier);
  const restored = await restore({ log, snapshots, createKernel: createFileStoreKernel });
  expect(restored.eve).toBe(last);
  expect(restored.mug).toBe(expectedMug);
  const first = log.first;
  // Every kept event replays with its mug: from the oldest snapshot a start may use (first - 1 or later).
  const base = snapshots.list().filter((s) => s.eve >= first - 1).at(-1);
  if (first > 1) expect(base).toBeDefined();
  const baseEve = base?.eve ?? 0;
  const from = await restore({ log: proxyFrom(log, baseEve) as EventLog, snapshots: onlySnapshot(snapshots, baseEve), createKernel: createFileStoreKernel });
  expect(from.mug).toBe(expectedMug);
  expect(from.snapshotEve).toBe(baseEve);
  expect(from.replayed).toBe(last - baseEve);
  // Every blob something kept names is there and whole.
  const named = new Set<string>(await liveBlobNames(restored.kernel.state));
  for (let eve = first; eve <= last; eve++) for (const r of log.record(eve).refs) named.add(r.name);
  for (const s of snapshots.list()) {
    const refs = readSnapshotRefs(s.path);
    if (typeof refs !== "string") for (const r of refs) named.add(r.name);
  }
  for (const name of named) {
    const check = log.store.verifyOne(name);
    expect(check.problem?.message).toBeUndefined();
  }
  return log;
}

/** The log, seen with its warnings and sweep suppressed (a second restore over the same log). */
function proxyFrom(log: EventLog, _from: number): object {
  return new Proxy(log, {
    get(target, key) {
      if (key === "warnings") return [];
      if (key === "readOnly") return true;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A snapshot store that lists only the snapshot of `eve`. */
function onlySnapshot(snapshots: SnapshotStore, eve: number): SnapshotStore {
  return new Proxy(snapshots, {
    get(target, key) {
      if (key === "list") return () => target.list().filter((s) => s.eve === eve);
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
