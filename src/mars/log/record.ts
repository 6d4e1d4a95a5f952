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
 *   12  ...  version 1: the body
 *            version 2: u32 ref count n, n 64-byte ref entries (ref-table.ts), then the body
 *   body     inline: jam of [now ovum] (version 2: a jam with refs)
 *            blob:   u32 jam length low, u32 jam length high, u32 CRC-32 of the blob file
 *
 * Version 2's ref table lists the blobs the jam's placeholders stand for (docs/event-log.md,
 * "Records"); version 1 records (no refs) are still read, and still written by `sealInlineRecord`
 * and `blobRecord` when no refs are given.
 *
 * Vere's value is `mug ++ jam`; Plea adds the 8 bytes at 4..12 so that a damaged record is
 * reported instead of being cued into a wrong event (where Plea departs from vere).
 */
import { LogError, LogErrorCode } from "./log-error.ts";
import { readRefEntries, REF_ENTRY_BYTES, writeRefEntries, type RecordRef } from "./ref-table.ts";
import { crc32 } from "./streamed-file.ts";

export type { RecordRef } from "./ref-table.ts";

/** The version written with a ref table. */
export const RECORD_VERSION = 2;
/** The version before ref tables: still read, and written for records without refs. */
export const RECORD_VERSION_REFLESS = 1;
export const RECORD_HEADER_BYTES = 12;
/** Bytes of a version-1 blob record. */
export const RECORD_BLOB_BYTES = RECORD_HEADER_BYTES + 12;
/** Bytes of a blob record's body (length and CRC of the blob file). */
const RECORD_BLOB_BODY_BYTES = 12;
/** Bytes of version 2's ref count. */
const RECORD_REF_COUNT_BYTES = 4;

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

/** A checked record; `refs` is empty for version 1. */
export type DecodedRecord =
  | { readonly mug: number; readonly version: number; readonly refs: RecordRef[]; readonly form: "inline"; readonly jam: Uint8Array }
  | { readonly mug: number; readonly version: number; readonly refs: RecordRef[]; readonly form: "blob"; readonly length: number; readonly crc: number };

/**
 * Bytes before the body of a version-2 record of `refCount` refs: where an inline record's jam
 * starts (reserve them, jam after them, then `sealInlineRecord(value, mug, refs)`).
 */
export function recordPrefixBytes(refCount: number): number {
  return RECORD_HEADER_BYTES + RECORD_REF_COUNT_BYTES + refCount * REF_ENTRY_BYTES;
}

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
 * An inline record around a jam already written in `value` (the caller reserves the room before
 * it so the jam is not copied again). Without `refs`: a version-1 record, the jam at
 * RECORD_HEADER_BYTES. With `refs` (the jam-with-refs table, maybe empty): version 2, the jam at
 * `recordPrefixBytes(refs.length)`. Fills in the header and the ref table.
 */
export function sealInlineRecord(value: Uint8Array, mug: number, refs?: readonly RecordRef[]): Uint8Array {
  const prefix = refs === undefined ? RECORD_HEADER_BYTES : recordPrefixBytes(refs.length);
  if (value.length <= prefix) throw new RangeError(`An inline record of ${refs?.length ?? 0} refs needs a jam after its ${prefix}-byte prefix; got ${value.length} bytes`);
  const jamBits = (value.length - prefix) * 8;
  if (refs !== undefined) writeRefTable(value, refs, jamBits);
  writeHeader(value, mug, RecordForm.inline, refs === undefined ? RECORD_VERSION_REFLESS : RECORD_VERSION);
  return value;
}

/**
 * A blob record: the event's jam is `length` bytes in a blob file whose CRC-32 is `crc`.
 * Version 1 without `refs`, version 2 (with its ref table) with them.
 */
export function blobRecord(mug: number, length: number, crc: number, refs?: readonly RecordRef[]): Uint8Array {
  const prefix = refs === undefined ? RECORD_HEADER_BYTES : recordPrefixBytes(refs.length);
  const value = new Uint8Array(prefix + RECORD_BLOB_BODY_BYTES);
  const view = new DataView(value.buffer);
  view.setUint32(prefix, length % TWO_32, true);
  view.setUint32(prefix + 4, Math.floor(length / TWO_32), true);
  view.setUint32(prefix + 8, crc >>> 0, true);
  if (refs !== undefined) writeRefTable(value, refs, length * 8);
  writeHeader(value, mug, RecordForm.blob, refs === undefined ? RECORD_VERSION_REFLESS : RECORD_VERSION);
  return value;
}

function writeRefTable(value: Uint8Array, refs: readonly RecordRef[], jamBits: number): void {
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  for (const r of refs) {
    if (r.bitOffset + 2 > jamBits) throw new RangeError(`A ref at bit ${r.bitOffset} lies past the jam's ${jamBits} bits`);
  }
  view.setUint32(RECORD_HEADER_BYTES, refs.length, true);
  writeRefEntries(view, RECORD_HEADER_BYTES + RECORD_REF_COUNT_BYTES, refs);
}

function writeHeader(value: Uint8Array, mug: number, form: number, version: number): void {
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  view.setUint32(0, mug >>> 0, true);
  value[4] = form;
  value[5] = version;
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
  const version = value[5];
  if (version !== RECORD_VERSION && version !== RECORD_VERSION_REFLESS) {
    throw damaged(`its record version is ${version}, this build reads ${RECORD_VERSION_REFLESS} and ${RECORD_VERSION}`);
  }
  if (value[6] !== 0 || value[7] !== 0) throw damaged("its header's reserved bytes are not zero");
  const mug = view.getUint32(0, true);
  const form = value[4];
  if (form !== RecordForm.inline && form !== RecordForm.blob) throw damaged(`its form byte is ${form}, neither inline (1) nor blob (2)`);
  let prefix = RECORD_HEADER_BYTES;
  let count = 0;
  if (version === RECORD_VERSION) {
    if (value.length < RECORD_HEADER_BYTES + RECORD_REF_COUNT_BYTES) throw damaged(`its record is ${value.length} bytes, too short for its ref count`);
    count = view.getUint32(RECORD_HEADER_BYTES, true);
    // Bounded by the value before anything is read or allocated: a hostile count fails here.
    const room = Math.floor((value.length - RECORD_HEADER_BYTES - RECORD_REF_COUNT_BYTES) / REF_ENTRY_BYTES);
    if (count > room) throw damaged(`its ref count is ${count}, but its ${value.length} bytes hold at most ${room} refs`);
    prefix = recordPrefixBytes(count);
  }
  let body: { form: "inline"; jam: Uint8Array } | { form: "blob"; length: number; crc: number };
  let jamBits: number;
  if (form === RecordForm.inline) {
    if (value.length === prefix) throw damaged("its jam is empty");
    const jam = value.subarray(prefix);
    body = { form: "inline", jam };
    jamBits = jam.length * 8;
  } else {
    if (value.length !== prefix + RECORD_BLOB_BODY_BYTES) throw damaged(`its blob reference is ${value.length - prefix} bytes, not ${RECORD_BLOB_BODY_BYTES}`);
    const length = view.getUint32(prefix, true) + view.getUint32(prefix + 4, true) * TWO_32;
    body = { form: "blob", length, crc: view.getUint32(prefix + 8, true) };
    jamBits = length * 8;
  }
  const refs = readRefEntries(view, RECORD_HEADER_BYTES + RECORD_REF_COUNT_BYTES, count, jamBits);
  if (typeof refs === "string") throw damaged(`its ref table is invalid (${refs})`);
  return { mug, version, refs, ...body };
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}
