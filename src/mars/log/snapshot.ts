/**
 * Snapshots: the kernel's state written out, so that start-up replays only the events after it
 * (docs/event-log.md, "Snapshots").
 *
 * File `<pier>/.urb/chk/snapshot-<eve>.plea`: a 64-byte header, then the jam of the state.
 *
 *   0   8   magic "PLEASNAP"
 *   8   u32 SNAPSHOT_FORMAT_VERSION
 *   12  u32 mug of the state
 *   16  u64 event number the state is after (two u32, low first)
 *   24  u64 jam length in bytes (two u32, low first)
 *   32  u32 CRC-32 of the jam
 *   36  u32 CRC-32 of header bytes 0..36
 *   40  24 bytes of zeros
 *
 * Written atomically: streamed to `snapshot-<eve>.tmp` (jamToSink: the state is never one jam
 * buffer), header written last, fsync, rename, fsync of the directory. A crash leaves the old
 * snapshots and at most a `.tmp` file, which the next start removes. The newest
 * SNAPSHOTS_KEPT are kept, so a damaged newest one falls back to the one before instead of a
 * replay from event 1.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { cueFromChunks, jamToSink } from "../../noun/index.ts";
import type { Noun } from "../../noun/noun.ts";
import { makePrivateDir } from "../../pier/private-mode.ts";
import { ChecksummedChunks } from "./blob-reader.ts";
import { logPaths } from "./layout.ts";
import { LogError, LogErrorCode } from "./log-error.ts";
import { crc32, fsyncDirectory, LOG_JAM_CHUNK_BYTES, renameDurably, StreamedFile } from "./streamed-file.ts";

export const SNAPSHOT_MAGIC = "PLEASNAP";
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 64;
/** Snapshots kept on disk: the newest and the one before it (a fallback if the newest is bad). */
export const SNAPSHOTS_KEPT = 2;

const TWO_32 = 4294967296;

export interface SnapshotHeader {
  readonly eve: number;
  readonly mug: number;
  readonly jamBytes: number;
  readonly crc: number;
}

export interface LoadedSnapshot extends SnapshotHeader {
  readonly state: Noun;
  readonly path: string;
}

/** A snapshot's file name. */
export function snapshotFileName(eve: number): string {
  return `snapshot-${eve}.plea`;
}

function parseSnapshotName(name: string): number | undefined {
  const m = /^snapshot-(0|[1-9][0-9]{0,15})\.plea$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(12, h.mug >>> 0, true);
  view.setUint32(16, h.eve % TWO_32, true);
  view.setUint32(20, Math.floor(h.eve / TWO_32), true);
  view.setUint32(24, h.jamBytes % TWO_32, true);
  view.setUint32(28, Math.floor(h.jamBytes / TWO_32), true);
  view.setUint32(32, h.crc >>> 0, true);
  view.setUint32(36, crc32(bytes.subarray(0, 36)), true);
  return bytes;
}

/** Parses a header; returns the reason it is not valid instead of throwing (a bad one is skipped). */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader | string {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return `its header is ${bytes.length} bytes, not ${SNAPSHOT_HEADER_BYTES}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SNAPSHOT_HEADER_BYTES);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) return "it does not start with PLEASNAP";
  if (view.getUint32(36, true) !== crc32(bytes.subarray(0, 36))) return "its header checksum is wrong";
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) return `it is snapshot format ${version}; this build reads ${SNAPSHOT_FORMAT_VERSION}`;
  return {
    mug: view.getUint32(12, true),
    eve: view.getUint32(16, true) + view.getUint32(20, true) * TWO_32,
    jamBytes: view.getUint32(24, true) + view.getUint32(28, true) * TWO_32,
    crc: view.getUint32(32, true),
  };
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
   */
  async save(eve: number, mug: number, state: Noun): Promise<SnapshotHeader & { path: string }> {
    makePrivateDir(this.dir);
    const tmp = join(this.dir, `snapshot-${eve}.tmp`);
    const path = join(this.dir, snapshotFileName(eve));
    const file = new StreamedFile(tmp, `the snapshot of event ${eve}`, SNAPSHOT_HEADER_BYTES);
    let header: SnapshotHeader;
    try {
      const jamBytes = await jamToSink(state, file, LOG_JAM_CHUNK_BYTES);
      header = { eve, mug, jamBytes, crc: file.crc };
      await file.finish(encodeSnapshotHeader(header));
    } catch (e) {
      await file.abort();
      if (e instanceof LogError) throw e;
      throw new LogError(LogErrorCode.snapshot, `Cannot write the snapshot of event ${eve}: ${(e as Error)?.message ?? String(e)}`, { eve, cause: e });
    }
    renameDurably(tmp, path, this.dir);
    const old = this.list().slice(SNAPSHOTS_KEPT);
    for (const s of old) unlinkSync(s.path);
    if (old.length > 0) fsyncDirectory(this.dir);
    return { ...header, path };
  }
}

/**
 * Loads one snapshot file, or returns why it is not usable (never throws for bad bytes: a bad
 * snapshot is skipped, not fatal). `accept` checks the header against the log before the state is
 * read (event in range, mug equal to the record's).
 */
export async function loadSnapshotFile(path: string, eve: number, accept: (h: SnapshotHeader) => string | undefined): Promise<LoadedSnapshot | string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    return `it cannot be opened (${(e as Error).message})`;
  }
  try {
    const headerBytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
    const got = readSync(fd, headerBytes, 0, SNAPSHOT_HEADER_BYTES, 0);
    const header = decodeSnapshotHeader(headerBytes.subarray(0, got));
    if (typeof header === "string") return header;
    if (header.eve !== eve) return `its header says event ${header.eve}, its name event ${eve}`;
    const size = fstatSync(fd).size;
    if (size !== SNAPSHOT_HEADER_BYTES + header.jamBytes) {
      return `it is ${size} bytes; its header says ${SNAPSHOT_HEADER_BYTES + header.jamBytes} (torn)`;
    }
    const refusal = accept(header);
    if (refusal !== undefined) return refusal;
    const chunks = new ChecksummedChunks(fd, SNAPSHOT_HEADER_BYTES, header.jamBytes, `the snapshot "${path}"`);
    let state: Noun | undefined;
    let cueFailure: unknown;
    try {
      state = await cueFromChunks(chunks, { inputBytes: header.jamBytes });
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
    return { ...header, state, path };
  } finally {
    closeSync(fd);
  }
}
