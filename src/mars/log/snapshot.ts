/**
 * Snapshots: the kernel's state written out, so that start-up replays only the events after it
 * (docs/event-log.md, "Snapshots").
 *
 * File `<pier>/.urb/chk/snapshot-<eve>.plea`: a 64-byte header, (version 2) a ref table, then
 * the jam of the state (version 2: a jam with refs, docs/nouns.md).
 *
 *   0   8   magic "PLEASNAP"
 *   8   u32 format version: 1, or SNAPSHOT_FORMAT_VERSION (2)
 *   12  u32 mug of the state
 *   16  u64 event number the state is after (two u32, low first)
 *   24  u64 jam length in bytes (two u32, low first)
 *   32  u32 CRC-32 of the jam
 *   36  u32 CRC-32 of header bytes 0..36 (version 2: then of bytes 40..64 too)
 *   40  u32 version 2: CRC-32 of the ref table; version 1: zero
 *   44  20 bytes of zeros
 *   64      version 2: the ref table: u64 count n, then n 64-byte entries (ref-table.ts)
 *   ...     the jam
 *
 * Written atomically: streamed to `snapshot-<eve>.tmp` (jamToSink: the state is never one jam
 * buffer), header written last, fsync, rename, fsync of the directory. A crash leaves the old
 * snapshots and at most a `.tmp` file, which the next start removes. The newest
 * SNAPSHOTS_KEPT are kept, so a damaged newest one falls back to the one before instead of a
 * replay from event 1.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { type BlobRef, BlobSource, type BlobStore } from "../../blob/index.ts";
import { assert } from "../../error.ts";
import { type Atom, BigAtom, metBits } from "../../noun/atom.ts";
import { cueFromChunks, jamToSink, measureJam, measureJamInSteps, type JamPlan, type JamRefs, type JamSink } from "../../noun/index.ts";
import { mug as nounMug } from "../../noun/mug.ts";
import type { Noun } from "../../noun/noun.ts";
import { makePrivateDir } from "../../pier/private-mode.ts";
import { ChecksummedChunks } from "./blob-reader.ts";
import { blobJamRefs, recordRefs, sourcesOf, storeLargeAtoms } from "./blob-refs.ts";
import { logPaths } from "./layout.ts";
import { LogError, LogErrorCode } from "./log-error.ts";
import { readRefEntries, REF_ENTRY_BYTES, writeRefEntries, type RecordRef } from "./ref-table.ts";
import { crc32, fsyncDirectory, LOG_JAM_CHUNK_BYTES, renameDurably, StreamedFile } from "./streamed-file.ts";

export const SNAPSHOT_MAGIC = "PLEASNAP";
/** The version with a ref table. */
export const SNAPSHOT_FORMAT_VERSION = 2;
/** The version before ref tables: still read (and written by `save` until it writes refs). */
export const SNAPSHOT_FORMAT_VERSION_REFLESS = 1;
export const SNAPSHOT_HEADER_BYTES = 64;
/** Bytes of the ref table's count. */
const SNAPSHOT_REF_COUNT_BYTES = 8;
/** Snapshots kept on disk: the newest and the one before it (a fallback if the newest is bad). */
export const SNAPSHOTS_KEPT = 2;
/**
 * Nouns of a background snapshot's length pass between two pauses: 16,384, about a millisecond
 * of work here, like one LOG_JAM_CHUNK_BYTES chunk of its jam (docs/event-log.md, "Snapshot policy").
 */
export const SNAPSHOT_STEP_TOKENS = 16 * 1024;

const TWO_32 = 4294967296;

export interface SnapshotHeader {
  readonly eve: number;
  readonly mug: number;
  readonly jamBytes: number;
  readonly crc: number;
  /**
   * Version 2: the CRC-32 of the ref table (`encodeSnapshotRefTable`), which follows the header.
   * Undefined: a version-1 header (no ref table).
   */
  readonly refsCrc?: number;
}

export interface LoadedSnapshot extends SnapshotHeader {
  readonly state: Noun;
  readonly path: string;
  /** The ref table (empty for version 1). */
  readonly refs: RecordRef[];
}

/** Bytes of a ref table of `count` refs (what sits between the header and the jam). */
export function snapshotRefTableBytes(count: number): number {
  return SNAPSHOT_REF_COUNT_BYTES + count * REF_ENTRY_BYTES;
}

/**
 * The ref table of a jam with refs of `jamBytes` bytes: u64 count, then the entries. Its CRC-32
 * goes in the header (`refsCrc`). Throws RangeError for refs that would not decode.
 */
export function encodeSnapshotRefTable(refs: readonly RecordRef[], jamBytes: number): Uint8Array {
  const bytes = new Uint8Array(snapshotRefTableBytes(refs.length));
  const view = new DataView(bytes.buffer);
  for (const r of refs) {
    if (r.bitOffset + 2 > jamBytes * 8) throw new RangeError(`A ref at bit ${r.bitOffset} lies past the jam's ${jamBytes * 8} bits`);
  }
  view.setUint32(0, refs.length % TWO_32, true);
  view.setUint32(4, Math.floor(refs.length / TWO_32), true);
  writeRefEntries(view, SNAPSHOT_REF_COUNT_BYTES, refs);
  return bytes;
}

/**
 * The count of a ref table from its first 8 bytes, checked against `roomBytes` (the file's bytes
 * after the header less the jam): the number of refs, or why it is invalid. Nothing is allocated
 * from a count before this check.
 */
export function decodeSnapshotRefCount(first8: Uint8Array, roomBytes: number): number | string {
  if (first8.length < SNAPSHOT_REF_COUNT_BYTES || roomBytes < SNAPSHOT_REF_COUNT_BYTES) return "its ref table is cut short";
  const view = new DataView(first8.buffer, first8.byteOffset, SNAPSHOT_REF_COUNT_BYTES);
  const count = view.getUint32(0, true) + view.getUint32(4, true) * TWO_32;
  if (snapshotRefTableBytes(count) !== roomBytes) {
    return `its ref table says ${count} refs, but ${roomBytes} bytes lie between its header and its jam`;
  }
  return count;
}

/** Checks and reads a whole ref table (count and entries) against the header's CRC and jam. */
export function decodeSnapshotRefTable(bytes: Uint8Array, header: SnapshotHeader): RecordRef[] | string {
  const count = decodeSnapshotRefCount(bytes, bytes.length);
  if (typeof count === "string") return count;
  if (crc32(bytes) !== header.refsCrc) return "its ref table's checksum is wrong (damaged)";
  const refs = readRefEntries(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), SNAPSHOT_REF_COUNT_BYTES, count, header.jamBytes * 8);
  return typeof refs === "string" ? `its ref table is invalid (${refs})` : refs;
}

/** A snapshot's file name. */
export function snapshotFileName(eve: number): string {
  return `snapshot-${eve}.plea`;
}

function parseSnapshotName(name: string): number | undefined {
  const m = /^snapshot-(0|[1-9][0-9]{0,15})\.plea$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A version-2 header when `h.refsCrc` is given, else a version-1 header. */
export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  const v2 = h.refsCrc !== undefined;
  bytes.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, v2 ? SNAPSHOT_FORMAT_VERSION : SNAPSHOT_FORMAT_VERSION_REFLESS, true);
  view.setUint32(12, h.mug >>> 0, true);
  view.setUint32(16, h.eve % TWO_32, true);
  view.setUint32(20, Math.floor(h.eve / TWO_32), true);
  view.setUint32(24, h.jamBytes % TWO_32, true);
  view.setUint32(28, Math.floor(h.jamBytes / TWO_32), true);
  view.setUint32(32, h.crc >>> 0, true);
  if (v2) view.setUint32(40, h.refsCrc! >>> 0, true);
  view.setUint32(36, headerCrc(bytes, v2), true);
  return bytes;
}

/** Version 1 covers bytes 0..36; version 2 also 40..64 (the ref table's CRC and the zeros). */
function headerCrc(bytes: Uint8Array, v2: boolean): number {
  const first = crc32(bytes.subarray(0, 36));
  return v2 ? crc32(bytes.subarray(40, SNAPSHOT_HEADER_BYTES), first) : first;
}

/** Parses a header; returns the reason it is not valid instead of throwing (a bad one is skipped). */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader | string {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return `its header is ${bytes.length} bytes, not ${SNAPSHOT_HEADER_BYTES}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SNAPSHOT_HEADER_BYTES);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) return "it does not start with PLEASNAP";
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION && version !== SNAPSHOT_FORMAT_VERSION_REFLESS) {
    if (view.getUint32(36, true) !== crc32(bytes.subarray(0, 36)) && view.getUint32(36, true) !== headerCrc(bytes, true)) return "its header checksum is wrong";
    return `it is snapshot format ${version}; this build reads ${SNAPSHOT_FORMAT_VERSION_REFLESS} and ${SNAPSHOT_FORMAT_VERSION}`;
  }
  const v2 = version === SNAPSHOT_FORMAT_VERSION;
  if (view.getUint32(36, true) !== headerCrc(bytes, v2)) return "its header checksum is wrong";
  for (let i = v2 ? 44 : 40; i < SNAPSHOT_HEADER_BYTES; i++) if (bytes[i] !== 0) return "its header's reserved bytes are not zero";
  const header = {
    mug: view.getUint32(12, true),
    eve: view.getUint32(16, true) + view.getUint32(20, true) * TWO_32,
    jamBytes: view.getUint32(24, true) + view.getUint32(28, true) * TWO_32,
    crc: view.getUint32(32, true),
  };
  return v2 ? { ...header, refsCrc: view.getUint32(40, true) } : header;
}

export class SnapshotStore {
  readonly dir: string;

  constructor(pier: string) {
    this.dir = logPaths(pier).chk;
  }

  /** Snapshot files, newest first. */
  list(): { eve: number; path: string }[] {
    if (!existsSync(this.dir)) return [];
    const out: { eve: number; path: string }[] = [];
    for (const name of readdirSync(this.dir)) {
      const eve = parseSnapshotName(name);
      if (eve !== undefined) out.push({ eve, path: join(this.dir, name) });
    }
    return out.sort((a, b) => b.eve - a.eve);
  }

  /** Removes `.tmp` files left by a crash mid-write; returns one warning per file. */
  removeTemporaries(): string[] {
    if (!existsSync(this.dir)) return [];
    const warnings: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".tmp")) continue;
      unlinkSync(join(this.dir, name));
      warnings.push(`Removed "${name}": a snapshot whose writing was interrupted.`);
    }
    if (warnings.length > 0) fsyncDirectory(this.dir);
    return warnings;
  }

  /**
   * Writes the state after event `eve` (whose mug is `mug`) atomically, then removes snapshots
   * beyond the newest SNAPSHOTS_KEPT. Resolves to the snapshot's header once it is durable.
   *
   * With `options.pause` (a timed snapshot, written in the background): the length pass runs in
   * steps of SNAPSHOT_STEP_TOKENS nouns and the jam in chunks of LOG_JAM_CHUNK_BYTES, with
   * `pause()` awaited after each, so the caller's tasks go on meanwhile. The state is an
   * immutable noun, so it may be an older state than the caller's current one; its atoms may move
   * to the blob store or the heap meanwhile (settle.ts), which changes where their bytes are read
   * from, never their value nor whether the jam names them as refs (the refs are decided once,
   * in the length pass, for every large atom not already a blob).
   */
  async save(eve: number, mug: number, state: Noun, blobs?: SnapshotBlobs, options: SnapshotSaveOptions = {}): Promise<SavedSnapshot> {
    makePrivateDir(this.dir);
    const tmp = join(this.dir, `snapshot-${eve}.tmp`);
    const path = join(this.dir, snapshotFileName(eve));
    const pause = options.pause;
    let header: SnapshotHeader;
    let stored: ReadonlyMap<BigAtom, BlobSource> = new Map();
    let file: StreamedFile | undefined;
    try {
      // With a store: large atoms still in the heap (an older pier's, replayed from records of
      // version 1) go to the store first, and the jam refers to every blob (version 2). The ref
      // table sits before the jam, so a length pass finds it (and plans the jam that follows).
      let refs: JamRefs<BlobRef> | undefined;
      let table: Uint8Array | undefined;
      let plan: JamPlan | undefined;
      let fresh = new Map<BigAtom, BlobRef>();
      if (blobs !== undefined) {
        if (pause === undefined) {
          fresh = await storeLargeAtoms(blobs.store, state, blobs.bytesMin);
          const measured = blobJamRefs(fresh);
          const m = measureJam(state, measured);
          plan = m.plan;
          table = encodeSnapshotRefTable(recordRefs(measured.table), m.bytes);
        } else {
          // One stepped pass both measures and finds the heap atoms to store (largeAtoms marks
          // cells in place, which must not last across a pause): a heap atom stands as its own
          // placeholder, a ref of two bits like any other, until it is stored.
          const heap: BigAtom[] = [];
          const measured: JamRefs<BlobRef | BigAtom> = {
            refOf: (a) => {
              if (a.source instanceof BlobSource) return a.source.ref;
              if (a.source !== undefined || a.byteLength < blobs.bytesMin) return undefined;
              heap.push(a);
              return a;
            },
            table: [],
          };
          const m = await measureJamInSteps(state, measured, SNAPSHOT_STEP_TOKENS, pause);
          plan = m.plan;
          if (heap.length > 0) {
            const put = await blobs.store.putMany(heap.map((a) => ({ bytes: a.bytes, mug: nounMug(a), bitLength: metBits(a) })));
            heap.forEach((a, i) => fresh.set(a, put[i].ref));
          }
          const named = measured.table.map(({ bitOffset, ref }) => ({ bitOffset, ref: ref instanceof BigAtom ? fresh.get(ref)! : ref }));
          table = encodeSnapshotRefTable(recordRefs(named), m.bytes);
        }
        refs = blobJamRefs(fresh);
      }
      file = new StreamedFile(tmp, `the snapshot of event ${eve}`, SNAPSHOT_HEADER_BYTES + (table?.length ?? 0));
      const sink = file;
      const paced: JamSink =
        pause === undefined
          ? sink
          : {
              write: async (chunk) => {
                await sink.write(chunk);
                await pause();
              },
            };
      const jamBytes = await jamToSink(state, paced, LOG_JAM_CHUNK_BYTES, plan, refs);
      if (table !== undefined && refs !== undefined) {
        assert(refs.table.length === decodeSnapshotRefCount(table, table.length), "the snapshot's jam named other blobs than its length pass");
      }
      header = { eve, mug, jamBytes, crc: file.crc, ...(table !== undefined ? { refsCrc: crc32(table) } : {}) };
      const head = encodeSnapshotHeader(header);
      await file.finish(table === undefined ? head : concatBytes(head, table));
      if (blobs !== undefined) stored = sourcesOf(blobs.store, fresh);
    } catch (e) {
      await file?.abort();
      if (e instanceof LogError) throw e;
      throw new LogError(LogErrorCode.snapshot, `Cannot write the snapshot of event ${eve}: ${(e as Error)?.message ?? String(e)}`, { eve, cause: e });
    }
    renameDurably(tmp, path, this.dir);
    const old = this.list().slice(SNAPSHOTS_KEPT);
    for (const s of old) unlinkSync(s.path);
    if (old.length > 0) fsyncDirectory(this.dir);
    return { ...header, path, stored };
  }

  /**
   * The blob names the kept snapshots refer to (read from their ref tables: header and table
   * only). A snapshot whose table cannot be read names nothing: it cannot be loaded either.
   */
  blobNames(): Set<string> {
    const out = new Set<string>();
    for (const { path } of this.list()) {
      const refs = readSnapshotRefs(path);
      if (typeof refs !== "string") for (const r of refs) out.add(r.name);
    }
    return out;
  }
}

export interface SnapshotSaveOptions {
  /** Awaited between steps of the write: given, the snapshot is written in the background. */
  readonly pause?: () => Promise<void>;
}

/** With a blob store, a snapshot refers to blobs instead of holding large atoms (version 2). */
export interface SnapshotBlobs {
  readonly store: BlobStore;
  /** Atoms of at least this many bytes go to the store. */
  readonly bytesMin: number;
}

export interface SavedSnapshot extends SnapshotHeader {
  readonly path: string;
  /** Heap atoms of the state this save wrote to the store, each with its blob (mars moves them there). */
  readonly stored: ReadonlyMap<BigAtom, BlobSource>;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Opens a snapshot and reads its header: the descriptor (the caller closes it) and header, or why not. */
function openSnapshot(path: string): { fd: number; header: SnapshotHeader } | string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    return `it cannot be opened (${(e as Error).message})`;
  }
  const headerBytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  let header: SnapshotHeader | string;
  try {
    header = decodeSnapshotHeader(headerBytes.subarray(0, readSync(fd, headerBytes, 0, SNAPSHOT_HEADER_BYTES, 0)));
  } catch (e) {
    header = `its header cannot be read (${(e as Error).message})`;
  }
  if (typeof header === "string") {
    closeSync(fd);
    return header;
  }
  return { fd, header };
}

/** The ref table of the snapshot at `path` (empty for version 1), or why it cannot be read. */
export function readSnapshotRefs(path: string): RecordRef[] | string {
  const opened = openSnapshot(path);
  if (typeof opened === "string") return opened;
  const { fd, header } = opened;
  try {
    if (header.refsCrc === undefined) return [];
    const room = fstatSync(fd).size - SNAPSHOT_HEADER_BYTES - header.jamBytes;
    const first8 = new Uint8Array(8);
    readSync(fd, first8, 0, 8, SNAPSHOT_HEADER_BYTES);
    const count = decodeSnapshotRefCount(first8, room);
    if (typeof count === "string") return count;
    const table = new Uint8Array(room);
    if (readSync(fd, table, 0, room, SNAPSHOT_HEADER_BYTES) !== room) return "its ref table is cut short";
    return decodeSnapshotRefTable(table, header);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads one snapshot file, or returns why it is not usable (never throws for bad bytes: a bad
 * snapshot is skipped, not fatal). `accept` checks the header against the log before the state is
 * read (event in range, mug equal to the record's).
 */
export async function loadSnapshotFile(
  path: string,
  eve: number,
  accept: (h: SnapshotHeader) => string | undefined,
  substitute?: (refs: readonly RecordRef[]) => ReadonlyMap<number, Atom> | string,
): Promise<LoadedSnapshot | string> {
  const opened = openSnapshot(path);
  if (typeof opened === "string") return opened;
  const { fd, header } = opened;
  try {
    if (header.eve !== eve) return `its header says event ${header.eve}, its name event ${eve}`;
    const size = fstatSync(fd).size;
    let tableBytes = 0;
    let refs: RecordRef[] = [];
    if (header.refsCrc === undefined) {
      if (size !== SNAPSHOT_HEADER_BYTES + header.jamBytes) {
        return `it is ${size} bytes; its header says ${SNAPSHOT_HEADER_BYTES + header.jamBytes} (torn)`;
      }
    } else {
      const room = size - SNAPSHOT_HEADER_BYTES - header.jamBytes;
      const first8 = new Uint8Array(SNAPSHOT_REF_COUNT_BYTES);
      const count = decodeSnapshotRefCount(first8.subarray(0, readSync(fd, first8, 0, first8.length, SNAPSHOT_HEADER_BYTES)), room);
      if (typeof count === "string") return `${count} (torn or damaged)`;
      tableBytes = room;
      const table = new Uint8Array(tableBytes);
      if (readSync(fd, table, 0, tableBytes, SNAPSHOT_HEADER_BYTES) !== tableBytes) return "its ref table could not be read whole";
      const decoded = decodeSnapshotRefTable(table, header);
      if (typeof decoded === "string") return decoded;
      refs = decoded;
    }
    const refusal = accept(header);
    if (refusal !== undefined) return refusal;
    let substitution: ReadonlyMap<number, Atom> | undefined;
    if (refs.length > 0) {
      if (substitute === undefined) return `it names ${refs.length} blobs and this reader has no blob store to resolve them`;
      const s = substitute(refs);
      if (typeof s === "string") return s;
      substitution = s;
    }
    const chunks = new ChecksummedChunks(fd, SNAPSHOT_HEADER_BYTES + tableBytes, header.jamBytes, `the snapshot "${path}"`);
    let state: Noun | undefined;
    let cueFailure: unknown;
    try {
      state = await cueFromChunks(chunks, { inputBytes: header.jamBytes, substitute: substitution });
    } catch (e) {
      cueFailure = e;
    }
    try {
      chunks.drain();
    } catch (e) {
      return `it could not be read to its end (${(e as Error).message})`;
    }
    if (chunks.crc !== header.crc) return `its checksum is wrong (damaged)`;
    if (cueFailure !== undefined || state === undefined) return `its bytes do not cue (${(cueFailure as Error)?.message})`;
    return { ...header, state, path, refs };
  } finally {
    closeSync(fd);
  }
}
