/**
 * The head marker, `<pier>/.urb/log/head`: the number and mug of the last durable event, kept
 * outside LMDB so that damage to LMDB cannot take them along (docs/event-log.md, "The head
 * marker").
 *
 * LMDB has no checksums: one flipped bit in a meta page can make it open the previous
 * transaction as if it were the last, and the last events vanish without an error. At start the
 * log's last event must be at or after the marker's, and the event the marker names must carry
 * the marker's mug; otherwise mars refuses. The marker is written after each LMDB commit and
 * before `append` resolves, so it never names an event that is not durable, and every event
 * reported durable is covered by it.
 *
 * File: HEAD_FILE_BYTES, two slots of HEAD_SLOT_BYTES, each:
 *
 *   0   8    magic "PLEAHEAD"
 *   8   u32  marker format version (1)
 *   12  u32  mug of the state after the event
 *   16  u32  event number, low 32 bits
 *   20  u32  event number, high bits
 *   24  u32  zero
 *   28  u32  CRC-32 of bytes 0..28
 *   32  ...  zero to the end of the slot
 *
 * An update overwrites the slot that does not hold the newest record, then `fdatasync`s. A torn
 * write can damage only that slot (its CRC-32 fails) and the other still holds the previous
 * head, so a crash never loses the marker; the valid slot with the larger event wins. Slots are
 * a disk sector apart so that one sector write never touches both. A new marker is written whole
 * to a temporary file, synced and renamed into place.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { LogError, LogErrorCode } from "./log-error.ts";
import { crc32, fsyncDirectory } from "./streamed-file.ts";

/** The marker's file name in the log directory. */
export const HEAD_MARKER_FILE = "head";

/** Bumped if the record's layout changes. */
export const HEAD_MARKER_VERSION = 1;

/** One slot per disk sector. */
export const HEAD_SLOT_BYTES = 512;

/** Two slots. */
export const HEAD_FILE_BYTES = 2 * HEAD_SLOT_BYTES;

/** Bytes of a record (the rest of its slot is zero). */
const HEAD_RECORD_BYTES = 32;

/** The CRC-32 covers the record's bytes before it. */
const HEAD_CRC_OFFSET = 28;

const HEAD_MAGIC = new TextEncoder().encode("PLEAHEAD");

/** Mode of the marker file: only the pier's owner. */
const HEAD_FILE_MODE = 0o600;

export interface DurableHead {
  /** The last durable event (0: none). */
  readonly eve: number;
  /** The mug stored with it (0 for event 0). */
  readonly mug: number;
}

/** A marker read from disk: the newest valid record and the slot that holds it. */
export interface ReadHead extends DurableHead {
  readonly slot: 0 | 1;
}

/** One slot's bytes for `head`. */
export function encodeHeadRecord(head: DurableHead): Uint8Array {
  const out = new Uint8Array(HEAD_SLOT_BYTES);
  const view = new DataView(out.buffer);
  out.set(HEAD_MAGIC, 0);
  view.setUint32(8, HEAD_MARKER_VERSION, true);
  view.setUint32(12, head.mug >>> 0, true);
  view.setUint32(16, head.eve % 2 ** 32, true);
  view.setUint32(20, Math.floor(head.eve / 2 ** 32), true);
  view.setUint32(HEAD_CRC_OFFSET, crc32(out.subarray(0, HEAD_CRC_OFFSET)), true);
  return out;
}

/** The record in one slot, or undefined if the slot is not a whole, valid record. */
export function decodeHeadRecord(slot: Uint8Array): DurableHead | undefined {
  if (slot.length < HEAD_RECORD_BYTES) return undefined;
  for (let i = 0; i < HEAD_MAGIC.length; i++) if (slot[i] !== HEAD_MAGIC[i]) return undefined;
  const view = new DataView(slot.buffer, slot.byteOffset, HEAD_RECORD_BYTES);
  if (view.getUint32(HEAD_CRC_OFFSET, true) !== crc32(slot.subarray(0, HEAD_CRC_OFFSET))) return undefined;
  if (view.getUint32(8, true) !== HEAD_MARKER_VERSION || view.getUint32(24, true) !== 0) return undefined;
  const eve = view.getUint32(16, true) + view.getUint32(20, true) * 2 ** 32;
  if (!Number.isSafeInteger(eve)) return undefined;
  return { eve, mug: view.getUint32(12, true) };
}

/**
 * Reads the marker in `logDir`: undefined if there is none (a new log, or one from before Plea
 * kept a marker). Throws LogError (`log_damaged`) if the file is there but holds no valid record.
 */
export function readHeadMarker(logDir: string): ReadHead | undefined {
  const path = join(logDir, HEAD_MARKER_FILE);
  if (!existsSync(path)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new LogError(LogErrorCode.damaged, `Cannot read the event log's head marker "${path}": ${(cause as Error).message}`, { cause });
  }
  const a = decodeHeadRecord(bytes.subarray(0, HEAD_SLOT_BYTES));
  const b = decodeHeadRecord(bytes.subarray(HEAD_SLOT_BYTES, HEAD_FILE_BYTES));
  if (a === undefined && b === undefined) {
    throw new LogError(
      LogErrorCode.damaged,
      `The event log's head marker "${path}" is damaged (${bytes.length} bytes, no valid record): mars cannot tell whether the log lost events. Restore the pier from a backup; if the log is known to be whole, remove the marker and start again`,
    );
  }
  if (b === undefined || (a !== undefined && a.eve >= b.eve)) return { ...a!, slot: 0 };
  return { ...b, slot: 1 };
}

export class HeadMarker {
  readonly path: string;
  private readonly handle: FileHandle;
  private durable: DurableHead;
  /** The slot holding `durable`; the next write goes to the other. */
  private slot: 0 | 1;
  /** The newest head asked for. */
  private wanted: DurableHead;
  private writing: Promise<void> | undefined;

  private constructor(handle: FileHandle, path: string, head: ReadHead) {
    this.handle = handle;
    this.path = path;
    this.durable = { eve: head.eve, mug: head.mug };
    this.wanted = this.durable;
    this.slot = head.slot;
  }

  /** Opens the marker `readHeadMarker` returned, for updates. */
  static async open(logDir: string, head: ReadHead): Promise<HeadMarker> {
    const path = join(logDir, HEAD_MARKER_FILE);
    try {
      return new HeadMarker(await open(path, "r+"), path, head);
    } catch (cause) {
      throw writeError(`Cannot open the head marker "${path}"`, cause);
    }
  }

  /** Writes a new marker holding `head` in both slots (temporary file, fsync, rename, fsync of the directory). */
  static async create(logDir: string, head: DurableHead): Promise<HeadMarker> {
    const path = join(logDir, HEAD_MARKER_FILE);
    const tmp = `${path}.tmp`;
    const bytes = new Uint8Array(HEAD_FILE_BYTES);
    const record = encodeHeadRecord(head);
    bytes.set(record, 0);
    bytes.set(record, HEAD_SLOT_BYTES);
    try {
      const fd = openSync(tmp, "w", HEAD_FILE_MODE);
      try {
        writeSync(fd, bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (cause) {
      throw writeError(`Cannot write the head marker "${path}"`, cause);
    }
    fsyncDirectory(logDir);
    return HeadMarker.open(logDir, { ...head, slot: 0 });
  }

  /** The head last made durable. */
  get head(): DurableHead {
    return this.durable;
  }

  /**
   * Records `head` (an event just committed) and resolves once a record at or after it is
   * durable. Calls made while a write is in flight share the next write: a group of events
   * committed together costs one or two marker writes, not one each.
   */
  async advance(head: DurableHead): Promise<void> {
    if (head.eve > this.wanted.eve) this.wanted = head;
    while (this.durable.eve < head.eve) {
      this.writing ??= this.writeWanted().finally(() => (this.writing = undefined));
      await this.writing;
    }
  }

  /** Waits for a write in flight (its failure is its caller's). */
  async settle(): Promise<void> {
    await this.writing?.catch(() => {});
  }

  async close(): Promise<void> {
    await this.settle();
    await this.handle.close();
  }

  private async writeWanted(): Promise<void> {
    // Let every append whose commit resolved in this turn ask first: one write covers them all.
    await null;
    const head = this.wanted;
    const slot = this.slot === 0 ? 1 : 0;
    try {
      await this.handle.write(encodeHeadRecord(head), 0, HEAD_SLOT_BYTES, slot * HEAD_SLOT_BYTES);
      await this.handle.datasync();
    } catch (cause) {
      throw writeError(`Cannot update the head marker "${this.path}" to event ${head.eve}`, cause);
    }
    this.slot = slot;
    this.durable = head;
  }
}

function writeError(subject: string, cause: unknown): LogError {
  if (cause instanceof LogError) return cause;
  return new LogError(LogErrorCode.write, `${subject}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
