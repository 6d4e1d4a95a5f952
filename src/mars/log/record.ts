/**
 * EVENTS records: the key and value of one event in LMDB (docs/event-log.md, "Records").
 *
 * Key: the event number as 8 bytes big-endian, so LMDB's byte order is numeric order (the
 * `lmdb` package has no 64-bit integer key; vere uses a native u64 with MDB_INTEGERKEY).
 *
 * Value (integers little-endian):
 *
 *   0   u32  mug of the state after the event (vere's value starts the same way)
 *   4   u8   form: 1 = inline, 2 = blob
 *   5   u8   RECORD_VERSION
 *   6   u16  zero
 *   8   u32  CRC-32 of the whole value except these four bytes
 *   12  ...  inline: jam of [now ovum]
 *            blob:   u32 jam length low, u32 jam length high, u32 CRC-32 of the blob file
 *
 * Vere's value is `mug ++ jam`; Plea adds the 8 bytes at 4..12 so that a damaged record is
 * reported instead of being cued into a wrong event (where Plea departs from vere).
 */
import { LogError, LogErrorCode } from "./log-error.ts";
import { crc32 } from "./streamed-file.ts";

export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 12;
export const RECORD_BLOB_BYTES = RECORD_HEADER_BYTES + 12;

export const RecordForm = { inline: 1, blob: 2 } as const;

/**
 * Largest jam stored inside an LMDB record: 1 MiB; a larger event goes to a blob file.
 *
 * Why 1 MiB: LMDB keeps a write transaction's dirty pages in process memory and never shrinks its
 * file, so large values cost memory while written and leave the map fragmented; above 1 MiB the
 * blob path's two extra fsyncs (a few ms) are small next to writing the bytes themselves
 * (1 MiB is about 3.5 ms at the disk's 300 MB/s), and the jam is buffered at most this much
 * before the log decides where it goes.
 */
export const LOG_INLINE_BYTES_MAX = 1024 * 1024;

const TWO_32 = 4294967296;

export type DecodedRecord =
  | { readonly mug: number; readonly form: "inline"; readonly jam: Uint8Array }
  | { readonly mug: number; readonly form: "blob"; readonly length: number; readonly crc: number };

/** The 8-byte big-endian key of event `eve`. */
export function eventKey(eve: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32BE(Math.floor(eve / TWO_32), 0);
  key.writeUInt32BE(eve % TWO_32 >>> 0, 4);
  return key;
}

/** The event number of an EVENTS key; throws LogError (gap) for a key that is not 8 bytes. */
export function eventFromKey(key: Uint8Array): number {
  if (!(key instanceof Uint8Array) || key.length !== 8) {
    throw new LogError(LogErrorCode.gap, `The event log has a key of ${key?.length} bytes; event keys are 8 bytes. The log is damaged: restore the pier from a backup`);
  }
  const view = new DataView(key.buffer, key.byteOffset, 8);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const eve = hi * TWO_32 + lo;
  if (!Number.isSafeInteger(eve)) {
    throw new LogError(LogErrorCode.gap, `The event log has event number ${hi}:${lo}, beyond 2^53. The log is damaged: restore the pier from a backup`);
  }
  return eve;
}

/**
 * An inline record around a jam that was written at offset RECORD_HEADER_BYTES of `value`
 * (the caller reserves the header so the jam is not copied again). Fills in the header.
 */
export function sealInlineRecord(value: Uint8Array, mug: number): Uint8Array {
  writeHeader(value, mug, RecordForm.inline);
  return value;
}

/** A blob record: the event's jam is `length` bytes in a blob file whose CRC-32 is `crc`. */
export function blobRecord(mug: number, length: number, crc: number): Uint8Array {
  const value = new Uint8Array(RECORD_BLOB_BYTES);
  const view = new DataView(value.buffer);
  view.setUint32(12, length % TWO_32, true);
  view.setUint32(16, Math.floor(length / TWO_32), true);
  view.setUint32(20, crc >>> 0, true);
  writeHeader(value, mug, RecordForm.blob);
  return value;
}

function writeHeader(value: Uint8Array, mug: number, form: number): void {
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  view.setUint32(0, mug >>> 0, true);
  value[4] = form;
  value[5] = RECORD_VERSION;
  value[6] = 0;
  value[7] = 0;
  view.setUint32(8, recordCrc(value), true);
}

function recordCrc(value: Uint8Array): number {
  return crc32(value.subarray(RECORD_HEADER_BYTES), crc32(value.subarray(0, 8)));
}

/** Reads the mug of a record without checking it (for status lines). */
export function recordMug(value: Uint8Array): number {
  if (value.length < 4) return 0;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
}

/**
 * Checks and splits a record. Throws LogError (record) naming `eve` for a short value, an unknown
 * form or version, or a checksum mismatch: a damaged record is never cued.
 */
export function decodeRecord(eve: number, value: Uint8Array): DecodedRecord {
  const damaged = (what: string) =>
    new LogError(
      LogErrorCode.record,
      `Event ${eve} in the event log is damaged: ${what}. Mars will not start on a damaged log; restore the pier from a backup`,
      { eve },
    );
  if (value.length < RECORD_HEADER_BYTES) throw damaged(`its record is ${value.length} bytes, below the ${RECORD_HEADER_BYTES}-byte header`);
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  const stored = view.getUint32(8, true);
  const actual = recordCrc(value);
  if (stored !== actual) {
    throw damaged(`its checksum is ${hex(actual)}, the record says ${hex(stored)}`);
  }
  if (value[5] !== RECORD_VERSION) throw damaged(`its record version is ${value[5]}, this build reads ${RECORD_VERSION}`);
  const mug = view.getUint32(0, true);
  if (value[4] === RecordForm.inline) {
    if (value.length === RECORD_HEADER_BYTES) throw damaged("its jam is empty");
    return { mug, form: "inline", jam: value.subarray(RECORD_HEADER_BYTES) };
  }
  if (value[4] === RecordForm.blob) {
    if (value.length !== RECORD_BLOB_BYTES) throw damaged(`its blob reference is ${value.length} bytes, not ${RECORD_BLOB_BYTES}`);
    const length = view.getUint32(12, true) + view.getUint32(16, true) * TWO_32;
    return { mug, form: "blob", length, crc: view.getUint32(20, true) };
  }
  throw damaged(`its form byte is ${value[4]}, neither inline (1) nor blob (2)`);
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}
