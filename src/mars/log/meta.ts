/**
 * The META table: what the pier is (vere's keys) and which Plea log format it is written in.
 *
 * Keys are strings; values are little-endian bytes with trailing zeros stripped, as vere writes
 * them (`who = 0` is therefore an empty value):
 *
 *   version       %plea as a 4-byte atom. Vere's readers know 1..3; any vere that opens a Plea
 *                 log refuses it instead of misreading records that carry a Plea header.
 *   who           @p of the ship (16 bytes max); 0 = ~zod for a pier with no ship
 *   fake          loobean, %.y = 0 (a fake ship)
 *   life          number of lifecycle events (0: Plea boots no Arvo)
 *   plea-format   LOG_FORMAT_VERSION
 *   first         the first event the log holds (absent = 1): `chop` removes the events before it
 *                 (docs/event-log.md, "Retention")
 */
import { LogError, LogErrorCode } from "./log-error.ts";

/** Bumped whenever records, blobs, INFO or snapshots change incompatibly. */
export const LOG_FORMAT_VERSION = 1;

/** META `version`: the mote %plea (0x61656c70), never one of vere's disk versions. */
export const LOG_META_VERSION = 0x61656c70;

export interface LogMeta {
  readonly version: number;
  /** @p of the ship as little-endian bytes (empty for ~zod). */
  readonly who: Uint8Array;
  readonly fake: boolean;
  readonly life: number;
  readonly pleaFormat: number;
}

/** A pier with no ship (docs/decisions.md): ~zod, fake, no lifecycle events. */
export const DEFAULT_META: LogMeta = {
  version: LOG_META_VERSION,
  who: new Uint8Array(0),
  fake: true,
  life: 0,
  pleaFormat: LOG_FORMAT_VERSION,
};

/** The META entries for `meta`, vere-style (little-endian, trailing zeros stripped). */
export function metaEntries(meta: LogMeta): [string, Buffer][] {
  return [
    ["version", uintBytes(meta.version)],
    ["who", strip(Buffer.from(meta.who))],
    ["fake", uintBytes(meta.fake ? 0 : 1)],
    ["life", uintBytes(meta.life)],
    ["plea-format", uintBytes(meta.pleaFormat)],
  ];
}

/** Reads META from `get` (a key lookup); throws LogError (format) when it is not Plea's. */
export function readMeta(get: (key: string) => Uint8Array | undefined, where: string): LogMeta {
  const version = get("version");
  const format = get("plea-format");
  if (version === undefined || format === undefined) {
    throw new LogError(LogErrorCode.format, `The event log at "${where}" has no Plea META (version, plea-format): it was not written by Plea. Use a new pier`);
  }
  const meta: LogMeta = {
    version: uintOf(version),
    who: Uint8Array.from(get("who") ?? []),
    fake: uintOf(get("fake") ?? new Uint8Array(0)) === 0,
    life: uintOf(get("life") ?? new Uint8Array(0)),
    pleaFormat: uintOf(format),
  };
  if (meta.version !== LOG_META_VERSION) {
    throw new LogError(LogErrorCode.format, `The event log at "${where}" has META version ${meta.version}, not Plea's (${LOG_META_VERSION}): it was written by vere or another tool. Use a new pier`);
  }
  if (meta.pleaFormat !== LOG_FORMAT_VERSION) {
    throw new LogError(
      LogErrorCode.format,
      `The event log at "${where}" is in Plea log format ${meta.pleaFormat}; this build reads format ${LOG_FORMAT_VERSION}. Use the Plea version that wrote it`,
    );
  }
  return meta;
}

/** META key of the first event the log holds (docs/event-log.md, "Retention"). */
export const META_FIRST_KEY = "first";

/** META `first`'s value: u64 little-endian, trailing zeros stripped (as vere writes its values). */
export function firstValue(first: number): Buffer {
  if (!Number.isSafeInteger(first) || first < 1) throw new RangeError(`The log's first event is 1 or more, not ${first}`);
  const b = Buffer.alloc(8);
  b.writeUInt32LE(first % 4294967296 >>> 0, 0);
  b.writeUInt32LE(Math.floor(first / 4294967296), 4);
  return strip(b);
}

/** META `first` read back: 1 when absent (a log never chopped). Throws LogError for a bad value. */
export function readFirst(value: Uint8Array | undefined, where: string): number {
  if (value === undefined) return 1;
  // Six bytes hold every safe integer's event number (2^48 events).
  const first = value.length > 6 ? 0 : uintOf(value);
  if (first < 1) {
    throw new LogError(LogErrorCode.format, `The event log at "${where}" has a META first of ${value.length} bytes (${Buffer.from(value).toString("hex") || "zero"}), which names no event. The log is damaged; restore the pier from a backup`);
  }
  return first;
}

function uintBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return strip(b);
}

function uintOf(bytes: Uint8Array): number {
  let v = 0;
  for (let i = Math.min(bytes.length, 6) - 1; i >= 0; i--) v = v * 256 + bytes[i];
  return v;
}

function strip(b: Buffer): Buffer {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, n);
}
