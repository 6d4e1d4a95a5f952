/**
 * Retention (issue 17, docs/event-log.md "Retention"): where `.urb` puts its bytes (`du`) and
 * `chop`, which removes the events, snapshots and blobs nothing kept names.
 *
 * What a chop keeps: the newest snapshot (taken first when it is behind the last event) and
 * `keep` older ones; the events after the oldest kept snapshot (the log's new `first` is its
 * event + 1, never beyond the last event: the log always holds its last event, whose mug the
 * head marker checks); every blob the current state names (live), or a kept event or a kept
 * snapshot names (retained). Everything else in `.urb/bob` is dead.
 *
 * A chop runs inside mars beside new events: its work is cut into slices of at most
 * CHOP_SLICE_MS of synchronous work, with a yield to mars's task loop between them, and every LMDB
 * write is its own short transaction. The order of its steps, and what a crash after each
 * leaves, are in docs/event-log.md, "Retention".
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { open as openFile, unlink as unlinkNow } from "node:fs/promises";
import { join } from "node:path";
import { BlobSource, isBlobName } from "../blob/index.ts";
import { Cell } from "../noun/cell.ts";
import { BigAtom } from "../noun/atom.ts";
import type { Noun } from "../noun/noun.ts";
import { allocatedBytes, LOG_COMPACT_DIR, type CompactResult, type EventLog } from "./log/event-log.ts";
import { parseBlobFileName } from "./log/layout.ts";
import { LogError, LogErrorCode } from "./log/log-error.ts";
import { decodeSnapshotHeader, decodeSnapshotRefTable, readSnapshotRefs, SNAPSHOT_HEADER_BYTES, type SnapshotStore } from "./log/snapshot.ts";
import { crc32, fsyncDirectory } from "./log/streamed-file.ts";

/** Older snapshots a chop keeps beside the newest by default (`urth chop --keep N`). */
/**
 * A removed file's blocks are given back this much at a time (truncating from the end) before its
 * unlink. Unlinking a 1 GiB blob frees all its extents in one file-system operation, and the
 * commits beside the chop wait behind it in the journal for their fsyncs: 8 such unlinks held
 * commits for up to 328 ms (bench/retention.ts, against 4 ms without a chop). Freed in 64 MiB
 * steps, each journal operation is short and commits get between them.
 */
export const CHOP_FREE_STEP_BYTES = 64 * 1024 * 1024;

/** Pause between two of those steps, so a commit's fsync waits behind at most one. */
const CHOP_FREE_PAUSE_MS = 2;

/**
 * Removes a file the chop no longer keeps (already out of every name a start reads, or named only
 * by what was dropped): truncated from the end in CHOP_FREE_STEP_BYTES steps, then unlinked, all
 * on the runtime's I/O threads. A crash midway leaves a shorter file that the next chop or the
 * start-up sweep removes, as it would the whole one.
 */
async function unlink(path: string): Promise<void> {
  let handle;
  try {
    handle = await openFile(path, "r+");
  } catch {
    return unlinkNow(path);
  }
  try {
    let size = (await handle.stat()).size;
    while (size > CHOP_FREE_STEP_BYTES) {
      size -= CHOP_FREE_STEP_BYTES;
      await handle.truncate(size);
      await Bun.sleep(CHOP_FREE_PAUSE_MS);
    }
  } finally {
    await handle.close();
  }
  await unlinkNow(path);
}

export const CHOP_KEEP_DEFAULT = 1;
/**
 * Synchronous work a chop does before it yields to mars's task loop. Each slice also waits for
 * one short LMDB commit at most, so an event that arrives meanwhile waits well under the 100 ms
 * the issue allows (the measured longest slice is in the chop's report).
 */
export const CHOP_SLICE_MS = 20;
/**
 * Events removed from EVENTS, INFO and BLOBS in the first transaction. Later ones are sized to
 * take about CHOP_EVENT_BATCH_MS each (doubled when one took less than half, halved when one took
 * more than twice), between CHOP_EVENT_BATCH_KEYS_MIN and _MAX: small events go by many per
 * commit, 1 MiB ones by few.
 */
export const CHOP_EVENT_BATCH_KEYS = 1024;
export const CHOP_EVENT_BATCH_KEYS_MIN = 64;
export const CHOP_EVENT_BATCH_KEYS_MAX = 32768;
export const CHOP_EVENT_BATCH_MS = 15;
/** BOBS entries rewritten or deleted per transaction. */
export const CHOP_BOBS_BATCH_KEYS = 2048;
/**
 * Catch-up rounds a compaction runs beside appends before it holds them for the last one and the
 * swap (EventLog.compact): each round copies the keys committed during the previous one, so the
 * last, held round has only the keys of the commits that came during a round.
 */
export const CHOP_COMPACT_ROUNDS = 3;
/** Bytes a snapshot's check reads at a time (its CRC is computed between reads). */
const SNAPSHOT_CHECK_READ_BYTES = 8 * 1024 * 1024;

/**
 * Counts slices of synchronous work and yields to the event loop when one is used up. An append
 * needs several turns of the event loop (its commit, the flush, the head marker's write): if it
 * had to wait a slice at each, it would wait several slices. So a yield also waits until no append
 * is in flight (`idle`): an append waits for at most the one slice it arrived in.
 */
export class Slicer {
  private start = performance.now();
  /** The longest stretch of work between two yields (synchronous work and the awaits inside it). */
  longestMs = 0;
  slices = 0;

  constructor(
    private readonly sliceMs = CHOP_SLICE_MS,
    private readonly idle?: () => Promise<void>,
  ) {}

  /** Yields if this slice is used up. */
  async tick(): Promise<void> {
    if (performance.now() - this.start >= this.sliceMs) await this.yield();
  }

  /** Ends this slice: mars's task loop runs (pokes, peeks) before the next. */
  async yield(): Promise<void> {
    this.longestMs = Math.max(this.longestMs, performance.now() - this.start);
    this.slices++;
    // A timer, not setImmediate: in Bun a chain of immediates kept timers waiting (measured).
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (this.idle !== undefined) await this.idle();
    this.start = performance.now();
  }
}

/** One snapshot file. */
export interface SnapshotEntry {
  readonly eve: number;
  readonly path: string;
  readonly bytes: number;
}

/** What a chop with `keep` would keep and remove, computed against the log, snapshots and state now. */
export interface RetentionPlan {
  readonly keep: number;
  /** The log's last event when the plan was made. */
  readonly last: number;
  /** The log's first event now, and after the chop. */
  readonly firstBefore: number;
  readonly first: number;
  /** Whether the chop takes a snapshot of `last` first (the newest is behind, or there is none). */
  readonly takesSnapshot: boolean;
  readonly keptSnapshots: SnapshotEntry[];
  readonly droppedSnapshots: SnapshotEntry[];
  /** Blobs the current state names. */
  readonly live: Set<string>;
  /** Blobs a kept event or kept snapshot names, not live: with the first kept event naming each (0: only a snapshot). */
  readonly retained: Map<string, number>;
  /** Every other blob in the store. */
  readonly dead: Set<string>;
  /** The first kept event naming each blob that kept events name (live ones included). */
  readonly firstNaming: Map<string, number>;
}

export interface RetentionInput {
  readonly log: EventLog;
  readonly snapshots: SnapshotStore;
  /** The kernel's current state (its sourced atoms are the live blobs). */
  readonly state: Noun;
}

/** The snapshot files, newest first, with their sizes. */
function snapshotEntries(snapshots: SnapshotStore): SnapshotEntry[] {
  return snapshots.list().map((s) => ({ ...s, bytes: allocatedBytes(s.path) }));
}

/**
 * The blob names `state` holds: its atoms sourced from the blob store. Iterative, every cell
 * once; it yields between slices (the state is immutable, so a walk across slices sees one state).
 */
export async function liveBlobNames(state: Noun, slicer?: Slicer): Promise<Set<string>> {
  const out = new Set<string>();
  const seen = new Set<Cell>();
  const stack: Noun[] = [state];
  let n = 0;
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x instanceof Cell) {
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(x.tail, x.head);
    } else if (x instanceof BigAtom && x.source instanceof BlobSource) {
      out.add(x.source.ref.name);
    }
    if (slicer !== undefined && (++n & 0xfff) === 0) await slicer.tick();
  }
  return out;
}

/** The plan of a chop with `keep` older snapshots (see the file comment). */
export async function planRetention(input: RetentionInput, keep: number, slicer = new Slicer()): Promise<RetentionPlan> {
  if (!Number.isSafeInteger(keep) || keep < 0) throw new LogError(LogErrorCode.usage, `A chop keeps 0 or more older snapshots, not ${keep}`);
  const { log, snapshots } = input;
  const last = log.eve;
  const firstBefore = log.first;
  // Snapshots beyond the log are never used (restore ignores them); those older than first - 1
  // cannot be (their events are gone).
  const all = snapshotEntries(snapshots);
  const usable = all.filter((s) => s.eve <= last && s.eve >= firstBefore - 1);
  const takesSnapshot = last > 0 && (usable.length === 0 || usable[0].eve < last);
  const keptSnapshots = takesSnapshot ? usable.slice(0, keep) : usable.slice(0, keep + 1);
  const kept = new Set(keptSnapshots.map((s) => s.path));
  const droppedSnapshots = all.filter((s) => !kept.has(s.path));
  const oldestKept = takesSnapshot ? (keptSnapshots.at(-1)?.eve ?? last) : (keptSnapshots.at(-1)?.eve ?? 0);
  const first = last === 0 ? firstBefore : Math.min(Math.max(firstBefore, oldestKept + 1), last);
  const live = await liveBlobNames(input.state, slicer);
  const firstNaming = new Map<string, number>();
  for (let eve = first; eve <= last; eve++) {
    for (const r of log.record(eve).refs) if (!firstNaming.has(r.name)) firstNaming.set(r.name, eve);
    await slicer.tick();
  }
  const retained = new Map<string, number>();
  for (const [name, eve] of firstNaming) if (!live.has(name)) retained.set(name, eve);
  for (const s of keptSnapshots) {
    const refs = readSnapshotRefs(s.path);
    if (typeof refs !== "string") for (const r of refs) if (!live.has(r.name) && !retained.has(r.name)) retained.set(r.name, 0);
    await slicer.tick();
  }
  const dead = new Set<string>();
  for (const name of log.store.list()) if (!live.has(name) && !retained.has(name)) dead.add(name);
  return { keep, last, firstBefore, first, takesSnapshot, keptSnapshots, droppedSnapshots, live, retained, dead, firstNaming };
}

/** Count and bytes. */
export interface Sized {
  count: number;
  bytes: number;
}

/** `du`'s report (the `/plea/du` peek's JSON): every byte of `.urb`, by what it is. */
export interface DuReport {
  /** Bytes are allocated blocks (st_blocks x 512), as du(1) counts, for every file and directory. */
  readonly unit: "allocated";
  readonly keep: number;
  readonly log: {
    readonly bytes: number;
    readonly dataBytes: number;
    readonly lockBytes: number;
    readonly headBytes: number;
    /** The writer lock, a compaction's copy, anything else in `.urb/log`. */
    readonly otherBytes: number;
    readonly events: { first: number; last: number; count: number };
    /** What a chop with `keep` would remove: events below `firstAfter` (records + spill files). */
    readonly chop: { events: number; bytes: number; firstAfter: number };
  };
  /** Spill files (`.urb/blob`): the jams of events over 1 MiB. */
  readonly spill: Sized & { chop: Sized };
  readonly blobs: { live: Sized; retained: Sized; dead: Sized };
  readonly snapshots: Sized & { newest: number; takesSnapshot: boolean; chop: Sized & { eves: number[] } };
  /** Staging files, temporaries, directories, urth's files: the rest of `.urb`. */
  readonly other: { bytes: number };
  /** A walk of `.urb`: the sum of every category above. */
  readonly total: { bytes: number };
}

/** `du`: the plan of a chop with `keep`, and a walk of `.urb` that puts every byte in one category. */
export async function diskUsage(input: RetentionInput, keep = CHOP_KEEP_DEFAULT, slicer = new Slicer()): Promise<DuReport> {
  const { log } = input;
  const plan = await planRetention(input, keep, slicer);
  const paths = log.paths;
  const sized = (): Sized => ({ count: 0, bytes: 0 });
  const blobs = { live: sized(), retained: sized(), dead: sized() };
  const spill = { ...sized(), chop: sized() };
  const snapshots = { ...sized(), newest: plan.keptSnapshots[0]?.eve ?? 0, takesSnapshot: plan.takesSnapshot, chop: { ...sized(), eves: plan.droppedSnapshots.map((s) => s.eve) } };
  const dropped = new Set(plan.droppedSnapshots.map((s) => s.path));
  const logBytes = { data: 0, lock: 0, head: 0, other: 0 };
  let other = 0;
  let total = 0;
  const store = log.store;
  // One walk of .urb, in slices (a store of 100,000 blobs is as many stats).
  for await (const { dir, name, path, st } of walkTree(paths.urb, slicer)) {
    const bytes = st.blocks * 512;
    total += bytes;
    if (st.isDirectory()) {
      other += bytes;
      continue;
    }
    if (dir === paths.log) {
      if (name === "data.mdb") logBytes.data += bytes;
      else if (name === "lock.mdb") logBytes.lock += bytes;
      else if (name === "head") logBytes.head += bytes;
      else logBytes.other += bytes;
    } else if (dir === join(paths.log, LOG_COMPACT_DIR)) {
      logBytes.other += bytes;
    } else if (dir === paths.blob && parseBlobFileName(name) !== undefined) {
      spill.count++;
      spill.bytes += bytes;
      if (parseBlobFileName(name)!.eve < plan.first) {
        spill.chop.count++;
        spill.chop.bytes += bytes;
      }
    } else if (dir === store.paths.dir && isBlobName(name)) {
      const c = plan.live.has(name) ? blobs.live : plan.retained.has(name) ? blobs.retained : blobs.dead;
      c.count++;
      c.bytes += bytes;
    } else if (dir === paths.chk && name.endsWith(".plea")) {
      snapshots.count++;
      snapshots.bytes += bytes;
      if (dropped.has(path)) {
        snapshots.chop.count++;
        snapshots.chop.bytes += bytes;
      }
    } else {
      other += bytes;
    }
  }
  // The events a chop would remove: their records (LMDB frees them once compacted) and spill files.
  let chopEvents = 0;
  let chopBytes = 0;
  for (let eve = plan.firstBefore; eve < plan.first; eve++) {
    chopEvents++;
    chopBytes += log.storedBytes(eve);
    await slicer.tick();
  }
  const last = plan.last;
  return {
    unit: "allocated",
    keep,
    log: {
      bytes: logBytes.data + logBytes.lock + logBytes.head + logBytes.other,
      dataBytes: logBytes.data,
      lockBytes: logBytes.lock,
      headBytes: logBytes.head,
      otherBytes: logBytes.other,
      events: { first: plan.firstBefore, last, count: last === 0 ? 0 : last - plan.firstBefore + 1 },
      chop: { events: chopEvents, bytes: chopBytes, firstAfter: plan.first },
    },
    spill,
    blobs,
    snapshots,
    other: { bytes: other },
    total: { bytes: total },
  };
}

/**
 * Checks that a snapshot is whole without cueing it: its header, its ref table's CRC, its length
 * and the CRC of its jam, read in pieces with a yield between (a kept snapshot must be usable
 * before anything it replaces is removed). Returns why not, or undefined.
 */
export async function checkSnapshotWhole(path: string, slicer: Slicer): Promise<string | undefined> {
  let file;
  try {
    file = await openFile(path, "r");
  } catch (e) {
    return `it cannot be opened (${(e as Error).message})`;
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(SNAPSHOT_HEADER_BYTES);
    await file.read(head, 0, head.length, 0);
    const header = decodeSnapshotHeader(head);
    if (typeof header === "string") return header;
    const room = size - SNAPSHOT_HEADER_BYTES - header.jamBytes;
    if (header.refsCrc === undefined) {
      if (room !== 0) return `it is ${size} bytes; its header says ${SNAPSHOT_HEADER_BYTES + header.jamBytes} (torn)`;
    } else {
      if (room < 8) return "its ref table is cut short (torn)";
      const table = new Uint8Array(room);
      const { bytesRead } = await file.read(table, 0, room, SNAPSHOT_HEADER_BYTES);
      if (bytesRead !== room) return "its ref table could not be read whole";
      const refs = decodeSnapshotRefTable(table, header);
      if (typeof refs === "string") return refs;
    }
    const buffer = new Uint8Array(Math.min(SNAPSHOT_CHECK_READ_BYTES, Math.max(1, header.jamBytes)));
    let crc = 0;
    for (let at = 0; at < header.jamBytes; ) {
      const want = Math.min(buffer.length, header.jamBytes - at);
      const { bytesRead } = await file.read(buffer, 0, want, SNAPSHOT_HEADER_BYTES + room + at);
      if (bytesRead <= 0) return "it ends before its jam does (torn)";
      crc = crc32(buffer.subarray(0, bytesRead), crc);
      at += bytesRead;
      await slicer.tick();
    }
    if (crc !== header.crc) return "its checksum is wrong (damaged)";
    return undefined;
  } finally {
    await file.close();
  }
}

/** A step of a chop, for progress and for the kill tests: said just after the step is done. */
export type ChopStep =
  | "snapshot"
  | "checked"
  | "first"
  | "events"
  | "spill"
  | "snapshots"
  | "condemned"
  | "bobs"
  | "blob"
  | "compact-copied"
  | "compact-renamed"
  | "done";

export interface ChopInput extends RetentionInput {
  /** Takes a snapshot of the current state at the log's last event (mars's own `snapshot`). */
  readonly saveSnapshot: () => Promise<void>;
  /** The current state, read again after the snapshot (events go on during a chop). */
  readonly currentState: () => Noun;
  readonly onStep?: (step: ChopStep) => void;
  /** Skip the LMDB compaction (tests of the other steps). */
  readonly compact?: boolean;
  /** Events removed per transaction (CHOP_EVENT_BATCH_KEYS; the kill tests lower it to kill between batches). */
  readonly eventBatchKeys?: number;
}

/** What a chop did: the `%chop` gift's JSON (docs/event-log.md, "Retention"). */
export interface ChopReport {
  readonly keep: number;
  readonly first: { before: number; after: number };
  readonly last: number;
  readonly snapshot: { taken: number | null; removed: number[]; removedBytes: number };
  readonly events: { removed: number; bytes: number };
  readonly spill: { removed: number; bytes: number };
  readonly blobs: { removed: number; bytes: number; rescued: number };
  readonly bobs: { deleted: number; rewritten: number };
  readonly lmdb: { bytesBefore: number; bytesAfter: number; catchUps: number; copyMs: number; holdMs: number; holdSteps: CompactResult["holdSteps"] } | null;
  /** `.urb` before and after (allocated bytes, as `du`). */
  readonly urb: { bytesBefore: number; bytesAfter: number; freed: number };
  readonly ms: { total: number; snapshot: number; plan: number; check: number; events: number; files: number; compact: number };
  /**
   * The longest the event loop went without running a timer during the chop (a 1 ms interval
   * measures it): how long a task arriving meanwhile could wait before mars even read it.
   */
  readonly longestStallMs: number;
  /** The longest time appends were held (the compaction's swap). */
  readonly longestHoldMs: number;
}

/** Allocated bytes of everything under `root` (in slices when given a slicer). */
export async function treeBytes(root: string, slicer?: Slicer): Promise<number> {
  let total = 0;
  for await (const { st } of walkTree(root, slicer)) total += st.blocks * 512;
  return total;
}

/**
 * Every entry under `root` (directories too) with its lstat, on an explicit stack, yielding to
 * mars's task loop through `slicer` between entries. An unreadable directory, or an entry gone
 * between the listing and its stat, is skipped: du and chop count what is there.
 */
async function* walkTree(root: string, slicer?: Slicer): AsyncGenerator<{ dir: string; name: string; path: string; st: Stats }> {
  const dirs = [root];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      await slicer?.tick();
      const path = join(dir, name);
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) dirs.push(path);
      yield { dir, name, path, st };
    }
  }
}

/**
 * Chops the log to the newest snapshot and `keep` older ones (see the file comment and
 * docs/event-log.md, "Retention", for the steps and why in this order). Writer only; the caller
 * runs one chop at a time and no snapshot beside it.
 */
export async function chop(input: ChopInput, keep = CHOP_KEEP_DEFAULT): Promise<ChopReport> {
  const { log, snapshots } = input;
  const store = log.store;
  const step = input.onStep ?? (() => {});
  const slicer = new Slicer(CHOP_SLICE_MS, () => log.idle());
  const t0 = performance.now();
  const stall = new StallMeter();
  // Names appended events commit from now on: a blob one names is never dropped or removed.
  const named = log.watchNames(true);
  try {
    const urbBefore = await treeBytes(log.paths.urb, slicer);
    // (a) The newest snapshot must be of the last event: it is what the chop keeps whole.
    let taken: number | null = null;
    const s0 = performance.now();
    const newest = snapshots.list()[0];
    if (log.eve > 0 && (newest === undefined || newest.eve < log.eve)) {
      await input.saveSnapshot();
      taken = snapshots.list()[0]?.eve ?? null;
      step("snapshot");
    }
    const snapshotMs = performance.now() - s0;
    // The plan, against the state now (events may have come since the snapshot).
    const p0 = performance.now();
    const plan = await planRetention({ log, snapshots, state: input.currentState() }, keep, slicer);
    const planMs = performance.now() - p0;
    // (b) Every kept snapshot whole, before anything is removed.
    const c0 = performance.now();
    for (const s of plan.keptSnapshots) {
      const why = await checkSnapshotWhole(s.path, slicer);
      if (why !== undefined) {
        throw new LogError(LogErrorCode.snapshot, `The chop removed nothing: the snapshot "${s.path}" it would keep is not whole (${why}). Take a new snapshot (urth snapshot) or remove that file, then chop again`, { eve: s.eve });
      }
    }
    if (plan.takesSnapshot && taken === null) throw new LogError(LogErrorCode.snapshot, "The chop removed nothing: it could not take a snapshot of the last event");
    step("checked");
    const checkMs = performance.now() - c0;
    // (c) The new first event, durably: from here a start treats what is below as removed.
    const e0 = performance.now();
    const firstBefore = log.first;
    let eventBytes = 0;
    await log.setFirst(plan.first);
    step("first");
    // (d) The events below it, in short transactions.
    let removedEvents = 0;
    let batch = input.eventBatchKeys ?? CHOP_EVENT_BATCH_KEYS;
    for (;;) {
      const b0 = performance.now();
      const { removed, bytes } = await log.removeEventsBelowFirst(batch);
      const batchMs = performance.now() - b0;
      if (input.eventBatchKeys === undefined) {
        if (batchMs < CHOP_EVENT_BATCH_MS / 2) batch = Math.min(batch * 2, CHOP_EVENT_BATCH_KEYS_MAX);
        else if (batchMs > CHOP_EVENT_BATCH_MS * 2) batch = Math.max(Math.floor(batch / 2), CHOP_EVENT_BATCH_KEYS_MIN);
      }
      if (removed === 0) break;
      removedEvents += removed;
      eventBytes += bytes;
      step("events");
      await slicer.yield();
    }
    const eventsMs = performance.now() - e0;
    // (e) Files: spill files of removed events, snapshots not kept, blobs nothing kept names.
    const f0 = performance.now();
    let spillRemoved = 0;
    let spillBytes = 0;
    for (const name of readdirSync(log.paths.blob)) {
      const parsed = parseBlobFileName(name);
      if (parsed === undefined || parsed.eve >= plan.first) continue;
      const path = join(log.paths.blob, name);
      spillBytes += allocatedBytes(path);
      await unlink(path);
      spillRemoved++;
      await slicer.tick();
    }
    fsyncDirectory(log.paths.blob);
    step("spill");
    let snapshotBytes = 0;
    for (const s of plan.droppedSnapshots) {
      snapshotBytes += allocatedBytes(s.path);
      try {
        await unlink(s.path);
      } catch {
        // removed meanwhile (a save's own pruning)
      }
    }
    fsyncDirectory(snapshots.dir);
    step("snapshots");
    // Blobs: condemned only with no append in flight (an event in flight named its blobs through
    // the store before this, and is in `named` once committed), in one synchronous step.
    for (;;) {
      await log.idle();
      if (log.isIdle) break;
    }
    const condemned = [...plan.dead].filter((name) => !named.has(name));
    store.condemn(condemned);
    step("condemned");
    // BOBS: entries of removed names deleted, entries of kept blobs whose first naming event is
    // gone rewritten; committed before any file goes. Asked inside each transaction: a name an
    // event used since is kept, with that event.
    const below = log.bobsBelowFirst().map((b) => b.name);
    let bobsDeleted = 0;
    let bobsRewritten = 0;
    for (let i = 0; i < below.length; i += CHOP_BOBS_BATCH_KEYS) {
      const batch = below.slice(i, i + CHOP_BOBS_BATCH_KEYS);
      let rewritten = 0;
      bobsDeleted += await log.rewriteBobs(batch, (name) => {
        const eve = minDefined(plan.firstNaming.get(name), named.get(name));
        if (eve !== undefined) {
          rewritten++;
          return eve;
        }
        // Named by no kept event: a condemned blob, or one only kept snapshots (and the state,
        // whose newest snapshot names it) name, which the start-up sweep keeps by their tables.
        return undefined;
      });
      bobsRewritten += rewritten;
      await slicer.yield();
    }
    step("bobs");
    let blobsRemoved = 0;
    let blobBytes = 0;
    let rescued = 0;
    for (const name of condemned) {
      const gone = store.removeCondemned(name);
      if (gone === undefined) rescued++;
      else {
        blobsRemoved++;
        blobBytes += gone.bytes;
        // Off the main thread: freeing a large file's blocks takes the file system a while.
        await unlink(gone.removed);
        step("blob");
      }
      await slicer.tick();
    }
    // A pier that never stored a blob has no bob/ to sync (nothing was removed from it either).
    if (blobsRemoved > 0) {
      fsyncDirectory(store.paths.dir);
      fsyncDirectory(store.paths.staging);
    }
    const filesMs = performance.now() - f0;
    // (f) LMDB gives its freed pages back only through a compacted copy.
    let lmdb: CompactResult | undefined;
    const k0 = performance.now();
    if (input.compact !== false) {
      lmdb = await log.compact(CHOP_COMPACT_ROUNDS, { copied: () => step("compact-copied"), renamed: () => step("compact-renamed") });
    }
    const compactMs = performance.now() - k0;
    await slicer.yield();
    const urbAfter = await treeBytes(log.paths.urb, slicer);
    step("done");
    return {
      keep,
      first: { before: firstBefore, after: plan.first },
      last: log.eve,
      snapshot: { taken, removed: plan.droppedSnapshots.map((s) => s.eve), removedBytes: snapshotBytes },
      events: { removed: removedEvents, bytes: eventBytes },
      spill: { removed: spillRemoved, bytes: spillBytes },
      blobs: { removed: blobsRemoved, bytes: blobBytes, rescued },
      bobs: { deleted: bobsDeleted, rewritten: bobsRewritten },
      lmdb: lmdb === undefined ? null : { bytesBefore: lmdb.bytesBefore, bytesAfter: lmdb.bytesAfter, catchUps: lmdb.catchUps, copyMs: round(lmdb.copyMs), holdMs: round(lmdb.holdMs), holdSteps: lmdb.holdSteps },
      urb: { bytesBefore: urbBefore, bytesAfter: urbAfter, freed: urbBefore - urbAfter },
      ms: { total: round(performance.now() - t0), snapshot: round(snapshotMs), plan: round(planMs), check: round(checkMs), events: round(eventsMs), files: round(filesMs), compact: round(compactMs) },
      longestStallMs: round(stall.longestMs),
      longestHoldMs: round(lmdb?.holdMs ?? 0),
    };
  } finally {
    stall.stop();
    store.pardonAll();
    log.watchNames(false);
  }
}

/** The longest gap between runs of a 1 ms interval timer: how long the event loop was held. */
class StallMeter {
  longestMs = 0;
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    this.longestMs = Math.max(this.longestMs, now - this.last);
    this.last = now;
  }, 1);

  stop(): void {
    clearInterval(this.timer);
    this.longestMs = Math.max(this.longestMs, performance.now() - this.last);
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
