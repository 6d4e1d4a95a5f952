import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import {
  EventLog,
  logPaths,
  SNAPSHOT_EVENT_REPLAY_BYTES,
  SNAPSHOT_EXIT_REPLAY_BYTES_MIN,
  SnapshotPolicy,
  SnapshotStore,
  snapshotFileName,
  SNAPSHOTS_KEPT,
} from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import {
  decodeSnapshotHeader,
  encodeSnapshotHeader,
  encodeSnapshotRefTable,
  loadSnapshotFile,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_HEADER_BYTES,
} from "../../src/mars/log/snapshot.ts";
import { crc32 } from "../../src/mars/log/streamed-file.ts";
import type { RecordRef } from "../../src/mars/log/record.ts";
import { atomFromBytes, BigAtom, Cell, cell, cord, equals, jam, mug as mugOf, type Atom, type AtomBytesSource, type JamRefs } from "../../src/noun/index.ts";
import { mugBytes } from "../../src/noun/mug.ts";
import { appendEvents, removeTempPiers, smallChange, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const MiB = 1024 * 1024;

/** A pier with events 1..count and snapshots after each event in `snapshotsAt`. */
async function pierWithSnapshots(count: number, snapshotsAt: number[]): Promise<{ pier: string; mug: number }> {
  const pier = tempPier();
  const log = await EventLog.open(pier);
  const kernel = createFileStoreKernel();
  const store = new SnapshotStore(pier);
  let eve = 0;
  for (const at of [...snapshotsAt, count]) {
    await appendEvents(log, kernel, eve + 1, at, smallChange, 8);
    eve = at;
    if (at !== count || snapshotsAt.includes(count)) await store.save(eve, kernel.mug(), kernel.state);
  }
  await log.close();
  return { pier, mug: kernel.mug() };
}

async function restorePier(pier: string) {
  const log = await EventLog.open(pier);
  try {
    return await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
  } finally {
    await log.close();
  }
}

function snapshotPath(pier: string, eve: number): string {
  return join(logPaths(pier).chk, snapshotFileName(eve));
}

describe("snapshots", () => {
  test("start-up loads the newest snapshot and replays only the events after it", async () => {
    const { pier, mug } = await pierWithSnapshots(120, [50, 100]);
    const r = await restorePier(pier);
    expect(r.snapshotEve).toBe(100);
    expect(r.replayed).toBe(20);
    expect(r.mug).toBe(mug);
    expect(r.warnings).toEqual([]);
  });

  test("keeps only the newest two snapshots", async () => {
    const { pier } = await pierWithSnapshots(40, [10, 20, 30, 40]);
    expect(SNAPSHOTS_KEPT).toBe(2);
    expect(readdirSync(logPaths(pier).chk).sort()).toEqual([snapshotFileName(30), snapshotFileName(40)].sort());
  });

  test("a torn newest snapshot is ignored with a warning, and the one before it used", async () => {
    const { pier, mug } = await pierWithSnapshots(120, [50, 100]);
    truncateSync(snapshotPath(pier, 100), statSync(snapshotPath(pier, 100)).size - 3);
    const r = await restorePier(pier);
    expect(r.snapshotEve).toBe(50);
    expect(r.replayed).toBe(70);
    expect(r.mug).toBe(mug);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^Ignored snapshot .*snapshot-100\.plea": it is \d+ bytes; its header says \d+ \(torn\)\.$/);
  });

  test("damaged snapshots are ignored and the state replayed from event 1", async () => {
    const { pier, mug } = await pierWithSnapshots(60, [30, 60]);
    for (const eve of [30, 60]) {
      const bytes = readFileSync(snapshotPath(pier, eve));
      bytes[SNAPSHOT_HEADER_BYTES + 20] ^= 0x08;
      writeFileSync(snapshotPath(pier, eve), bytes);
    }
    const r = await restorePier(pier);
    expect(r.snapshotEve).toBe(0);
    expect(r.replayed).toBe(60);
    expect(r.mug).toBe(mug);
    expect(r.warnings).toHaveLength(2);
    for (const w of r.warnings) expect(w).toMatch(/(its checksum is wrong \(damaged\)|its bytes do not cue)/);
  });

  test("a damaged header, a snapshot beyond the log and one whose mug the log contradicts are all ignored", async () => {
    const { pier, mug } = await pierWithSnapshots(60, [20, 40]);
    // Header damage.
    const bytes = readFileSync(snapshotPath(pier, 40));
    bytes[3] ^= 0xff;
    writeFileSync(snapshotPath(pier, 40), bytes);
    // A snapshot after the log's last event, and one whose mug is not the log's at its event,
    // made elsewhere and copied in (saving here would prune the older ones).
    const elsewhere = tempPier();
    const kernel = createFileStoreKernel();
    for (const eve of [90, 50]) {
      const saved = await new SnapshotStore(elsewhere).save(eve, kernel.mug(), kernel.state);
      copyFileSync(saved.path, snapshotPath(pier, eve));
    }
    const r = await restorePier(pier);
    expect(r.snapshotEve).toBe(20);
    expect(r.mug).toBe(mug);
    expect(r.warnings.join("\n")).toMatch(/snapshot-90\.plea": it is of event 90, after the log's last event 60/);
    expect(r.warnings.join("\n")).toMatch(/snapshot-50\.plea": its mug 0x[0-9a-f]+ differs from event 50's/);
  });

  test("a snapshot of another kernel's state is ignored", async () => {
    const { pier, mug } = await pierWithSnapshots(10, []);
    const log = await EventLog.open(pier);
    const storedMug = log.mugAt(10);
    await log.close();
    await new SnapshotStore(pier).save(10, storedMug, cell(cord("arvo"), 0));
    const r = await restorePier(pier);
    expect(r.snapshotEve).toBe(0);
    expect(r.mug).toBe(mug);
    expect(r.warnings[0]).toMatch(/not a Plea file store/);
  });

  test("a snapshot interrupted before its rename leaves a .tmp file that start-up removes", async () => {
    const { pier, mug } = await pierWithSnapshots(10, [5]);
    writeFileSync(join(logPaths(pier).chk, "snapshot-10.tmp"), "half");
    const r = await restorePier(pier);
    expect(r.warnings).toEqual([`Removed "snapshot-10.tmp": a snapshot whose writing was interrupted.`]);
    expect(existsSync(join(logPaths(pier).chk, "snapshot-10.tmp"))).toBe(false);
    expect(r.snapshotEve).toBe(5);
    expect(r.mug).toBe(mug);
  });

  test("the snapshot file is a header and the jam of the state", async () => {
    const { pier } = await pierWithSnapshots(5, [5]);
    const r = await restorePier(pier);
    const bytes = readFileSync(snapshotPath(pier, 5));
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("PLEASNAP");
    expect(bytes.subarray(SNAPSHOT_HEADER_BYTES)).toEqual(Buffer.from(jam(r.kernel.state)));
  });
});

/** A blob stand-in whose bytes() throws: writing a snapshot with refs must not read the atom. */
class UnreadableSource implements AtomBytesSource {
  readonly bitLength: number;
  constructor(
    private readonly hidden: Uint8Array,
    readonly contentKey: string,
  ) {
    this.bitLength = (hidden.length - 1) * 8 + (32 - Math.clz32(hidden[hidden.length - 1]));
  }
  get byteLength(): number {
    return this.hidden.length;
  }
  bytes(): Uint8Array {
    throw new Error(`bytes() of ${this.contentKey} was read`);
  }
  readRange(offset: number, target: Uint8Array): void {
    target.set(this.hidden.subarray(offset, offset + target.length));
  }
}

describe("snapshot format 2: a ref table between the header and the jam with refs", () => {
  const bytesA = new Uint8Array(9000).map((_, i) => (i * 7 + 3) & 0xff || 1);
  const heapA = atomFromBytes(bytesA) as BigAtom;
  const name = "c0ffee".repeat(10) + "abcd";
  const sourcedA = BigAtom.fromSource(new UnreadableSource(bytesA, name), mugBytes(bytesA));
  const state = (a: Atom) => new Cell(cord("state"), new Cell(a, new Cell(a, 17)));

  /** Writes a version-2 snapshot of event 9 as the integrator will; returns its path and bytes. */
  function writeV2(): { path: string; file: Uint8Array; refs: RecordRef[] } {
    const spec: JamRefs<Omit<RecordRef, "bitOffset">> = {
      refOf: (a) => (a.source === undefined ? undefined : { name: a.source.contentKey, byteLength: a.byteLength, bitLength: a.source.bitLength, mug: a.mug }),
      table: [],
    };
    const jamBytes = jam(state(sourcedA), spec);
    const refs = spec.table.map((e) => ({ ...e.ref, bitOffset: e.bitOffset }));
    const refTable = encodeSnapshotRefTable(refs, jamBytes.length);
    const header = encodeSnapshotHeader({ eve: 9, mug: mugOf(state(heapA)), jamBytes: jamBytes.length, crc: crc32(jamBytes), refsCrc: crc32(refTable) });
    const file = Buffer.concat([header, refTable, jamBytes]);
    const path = join(tempPier(), snapshotFileName(9));
    writeFileSync(path, file);
    return { path, file, refs };
  }

  const byName = (refs: readonly RecordRef[]) => new Map(refs.map((r) => [r.bitOffset, r.name === name ? (heapA as Atom) : 0]));
  const load = (path: string, substitute: Parameters<typeof loadSnapshotFile>[3] = byName) => loadSnapshotFile(path, 9, () => undefined, substitute);

  test("round-trips: one ref for the twice-used atom, the header says version 2, the state comes back", async () => {
    const { path, file, refs } = writeV2();
    expect(refs.length).toBe(1);
    expect(refs[0]).toMatchObject({ name, byteLength: 9000, mug: sourcedA.mug });
    const header = decodeSnapshotHeader(file.subarray(0, SNAPSHOT_HEADER_BYTES));
    expect(typeof header === "string" ? header : header.refsCrc).toBeNumber();
    expect(new DataView(file.buffer, file.byteOffset).getUint32(8, true)).toBe(SNAPSHOT_FORMAT_VERSION);
    const loaded = await load(path);
    if (typeof loaded === "string") throw new Error(loaded);
    expect(equals(loaded.state, state(heapA))).toBe(true);
    expect(loaded.refs).toEqual(refs);
  });

  test("a version-1 file (what SnapshotStore.save writes today) still loads, with no refs", async () => {
    const { pier } = await pierWithSnapshots(3, [3]);
    const loaded = await loadSnapshotFile(snapshotPath(pier, 3), 3, () => undefined);
    expect(typeof loaded === "string" ? loaded : loaded.refs).toEqual([]);
  });

  test("without a way to resolve refs, or when resolving fails, the snapshot is refused", async () => {
    const { path } = writeV2();
    expect(await loadSnapshotFile(path, 9, () => undefined)).toMatch(/names 1 blobs and this reader has no blob store/);
    expect(await load(path, () => "blob c0ffee... is missing")).toBe("blob c0ffee... is missing");
  });

  test("any flipped bit of the header or the ref table is refused", async () => {
    const { path, file } = writeV2();
    const table = SNAPSHOT_HEADER_BYTES + 8 + 64;
    for (let bit = 0; bit < table * 8; bit++) {
      const damaged = Uint8Array.from(file);
      damaged[bit >> 3] ^= 1 << (bit & 7);
      writeFileSync(path, damaged);
      const r = await load(path);
      expect(typeof r).toBe("string");
    }
  }, 120_000);

  test("a ref count that disagrees with the file's length, a torn table, and a table whose offsets miss the jam's placeholders", async () => {
    const { path, file, refs } = writeV2();
    const count = Uint8Array.from(file);
    new DataView(count.buffer).setUint32(SNAPSHOT_HEADER_BYTES, 0x10000, true);
    writeFileSync(path, count);
    expect(await load(path)).toMatch(/ref table says 65536 refs, but 72 bytes lie between its header and its jam/);
    writeFileSync(path, file.subarray(0, SNAPSHOT_HEADER_BYTES + 4));
    expect(await load(path)).toMatch(/cut short|lie between/);
    // A table with a right checksum but an offset off by one: the cue finds no placeholder there.
    const jamBytes = file.subarray(SNAPSHOT_HEADER_BYTES + 72);
    const moved = encodeSnapshotRefTable([{ ...refs[0], bitOffset: refs[0].bitOffset + 1 }], jamBytes.length);
    const header = encodeSnapshotHeader({ eve: 9, mug: mugOf(state(heapA)), jamBytes: jamBytes.length, crc: crc32(jamBytes), refsCrc: crc32(moved) });
    writeFileSync(path, Buffer.concat([header, moved, jamBytes]));
    expect(await load(path)).toMatch(/do not cue .*ref table names bit/);
  });
});

describe("the snapshot policy", () => {
  const policy = (snapshotBytes: number, eventsSince: number, bytesSince: number) =>
    new SnapshotPolicy({ snapshotEve: 10, snapshotBytes, eventsSince, bytesSince });

  test("a clean exit after nothing, or after little, writes no snapshot", () => {
    expect(policy(0, 0, 0).dueOnExit()).toBe(false);
    expect(policy(0, 3, 1000).dueOnExit()).toBe(false);
    expect(policy(10 * MiB, 100, 10 * MiB).dueOnExit()).toBe(false);
  });

  test("a clean exit after much replay work on a small state writes one", () => {
    expect(policy(MiB, 1, SNAPSHOT_EXIT_REPLAY_BYTES_MIN).dueOnExit()).toBe(true);
    const events = SNAPSHOT_EXIT_REPLAY_BYTES_MIN / SNAPSHOT_EVENT_REPLAY_BYTES;
    expect(policy(MiB, events, 0).dueOnExit()).toBe(true);
    expect(policy(MiB, events - 1, 0).dueOnExit()).toBe(false);
  });

  test("a multi-GiB state is not rewritten at exit until replay costs a quarter of the rewrite", () => {
    const state = 8 * 1024 * MiB;
    expect(policy(state, 2, 256 * MiB).dueOnExit()).toBe(false);
    expect(policy(state, 5000, 100 * MiB).dueOnExit()).toBe(false);
    expect(policy(state, 2, 3 * 1024 * MiB).dueOnExit()).toBe(true);
  });

  test("a large event kept in a blob does not make an exit snapshot: replaying it costs what loading it would", () => {
    const p = policy(0, 0, 0);
    p.noteEvent(2 * 1024 * MiB, "blob");
    expect(p.dueOnExit()).toBe(false);
    // The same bytes inline would have to be replayed out of LMDB record by record: snapshot.
    const q = policy(0, 0, 0);
    q.noteEvent(2 * 1024 * MiB, "inline");
    expect(q.dueOnExit()).toBe(true);
    // Blob bytes still count in the rewrite estimate, which makes a later snapshot less eager.
    const r = policy(0, 0, 0);
    r.noteEvent(4 * 1024 * MiB, "blob");
    for (let i = 0; i < SNAPSHOT_EXIT_REPLAY_BYTES_MIN / SNAPSHOT_EVENT_REPLAY_BYTES; i++) r.noteEvent(100);
    expect(r.dueOnExit()).toBe(false);
  });

  test("%sync %save writes one whenever there is something new, and bookkeeping restarts after it", () => {
    const p = policy(MiB, 0, 0);
    expect(p.dueOnSave(10)).toBe(false);
    expect(p.dueOnSave(11)).toBe(true);
    p.noteEvent(SNAPSHOT_EXIT_REPLAY_BYTES_MIN);
    expect(p.dueOnExit()).toBe(true);
    p.noteSnapshot(11, 2 * MiB);
    expect(p.state).toEqual({ snapshotEve: 11, snapshotBytes: 2 * MiB, eventsSince: 0, bytesSince: 0, inlineBytesSince: 0 });
    expect(p.dueOnExit()).toBe(false);
  });
});
