/**
 * The log and snapshots with the blob store (docs/blob-store.md, "In the log"): large atoms are
 * stored once and referred to, replay and snapshot loads read none of their bytes, an older
 * pier's large atoms move to the store with its first snapshot, and restore sweeps what a crash
 * left in the store.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlobStore } from "../../src/blob/index.ts";
import { peekPath } from "../../src/ipc/peek-path.ts";
import { createFileStoreKernel, type FileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog, SnapshotStore } from "../../src/mars/log/index.ts";
import { readSnapshotRefs } from "../../src/mars/log/snapshot.ts";
import { restore } from "../../src/mars/restore.ts";
import { BigAtom, Cell, equals, atomFromBytes, mug, type Noun } from "../../src/noun/index.ts";
import { appendEvents, pseudoRandomBytes, removeTempPiers, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const MIB = 1024 * 1024;
const big = pseudoRandomBytes(2 * MIB, 41);

/** The file's data atom in the kernel's state. */
function dataOf(k: FileStoreKernel, path: string): Noun {
  const r = k.peek(peekPath("x", "base", path.split("/")));
  if (!r.ok || r.unit === 0) throw new Error(`no file ${path}`);
  const mime = ((r.unit as Cell).tail as Cell).tail as Cell;
  return (mime.tail as Cell).tail;
}

test("a large atom is stored once, named by the log, and replays as an atom sourced from its blob", async () => {
  const pier = tempPier();
  let log = await EventLog.open(pier);
  const kernel = createFileStoreKernel();
  // The same bytes under two names and in two events: one blob.
  await appendEvents(log, kernel, 1, 2, (eve) => [{ path: `big/${eve}/bin`, bytes: big }, { path: "small/txt", bytes: `event ${eve}` }]);
  const rec = log.record(1);
  expect(rec.version).toBe(2);
  expect(rec.refs).toHaveLength(1);
  expect(rec.form).toBe("inline");
  const store = new BlobStore(pier);
  expect(store.list()).toEqual([rec.refs[0].name]);
  expect([...log.blobNames()]).toEqual([rec.refs[0].name]);
  const expectedMug = kernel.mug();
  await log.close();

  log = await EventLog.open(pier);
  try {
    const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    expect(restored.mug).toBe(expectedMug);
    const data = dataOf(restored.kernel, "big/2/bin") as BigAtom;
    expect(data).toBeInstanceOf(BigAtom);
    expect(data.source?.contentKey).toBe(rec.refs[0].name);
    expect(data.mug).toBe(mug(atomFromBytes(big)));
    expect(equals(data, atomFromBytes(big))).toBe(true);
  } finally {
    await log.close();
  }
});

test("an older pier's large atoms move to the store with its first snapshot, which then loads without them", async () => {
  const pier = tempPier();
  // Records of version 1: what Plea wrote before the store (no atom reaches this threshold).
  let log = await EventLog.open(pier, { blobBytesMin: Number.POSITIVE_INFINITY });
  await appendEvents(log, createFileStoreKernel(), 1, 1, () => [{ path: "big/bin", bytes: big }]);
  expect(log.record(1).version).toBe(1);
  await log.close();
  expect(new BlobStore(pier).list()).toEqual([]);

  log = await EventLog.open(pier);
  const snapshots = new SnapshotStore(pier);
  try {
    const restored = await restore({ log, snapshots, createKernel: createFileStoreKernel });
    const held = dataOf(restored.kernel, "big/bin") as BigAtom;
    expect(held.source).toBeUndefined();
    const saved = await snapshots.save(restored.eve, restored.mug, restored.kernel.state, { store: log.store, bytesMin: MIB });
    expect(saved.stored.size).toBe(1);
    const refs = readSnapshotRefs(saved.path);
    if (typeof refs === "string") throw new Error(refs);
    expect(refs.map((r) => r.name)).toEqual(log.store.list());
    expect(saved.jamBytes).toBeLessThan(64 * 1024);
  } finally {
    await log.close();
  }

  log = await EventLog.open(pier);
  try {
    const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    expect(restored.snapshotEve).toBe(1);
    expect(restored.replayed).toBe(0);
    const data = dataOf(restored.kernel, "big/bin") as BigAtom;
    expect(data.source).toBeDefined();
    expect(equals(data, atomFromBytes(big))).toBe(true);
  } finally {
    await log.close();
  }
});

test("restore sweeps staging files and blobs nothing names, and keeps those a snapshot names", async () => {
  const pier = tempPier();
  let log = await EventLog.open(pier);
  const kernel = createFileStoreKernel();
  await appendEvents(log, kernel, 1, 1, () => [{ path: "big/bin", bytes: big }]);
  const named = log.store.list();
  // A blob only a snapshot names (the snapshot took a heap atom to the store), an orphan blob and
  // a staging file, as crashes leave them.
  const snapshotOnly = await log.store.put(pseudoRandomBytes(MIB + 5, 42), 0x1234);
  const orphan = await log.store.put(pseudoRandomBytes(MIB + 7, 43), 0x4321);
  await log.close();
  const fake = new SnapshotStore(pier);
  const state = new Cell(1, BigAtom.fromSource(new BlobStore(pier).source(snapshotOnly.ref), snapshotOnly.ref.mug));
  await fake.save(1, 0, state, { store: new BlobStore(pier), bytesMin: MIB });
  mkdirSync(join(pier, ".urb/bob/stg"), { recursive: true });
  writeFileSync(join(pier, ".urb/bob/stg/abc.tmp"), "half a blob");

  log = await EventLog.open(pier);
  try {
    const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    expect(restored.warnings.some((w) => w.includes(orphan.ref.name))).toBe(true);
    expect(log.store.list()).toEqual([...named, snapshotOnly.ref.name].sort());
    expect(readdirSync(join(pier, ".urb/bob/stg"))).toEqual([]);
    expect(restored.warnings.some((w) => w.includes("abc.tmp"))).toBe(true);
  } finally {
    await log.close();
  }
});
