/**
 * Where mars keeps its log and snapshots inside a pier (docs/event-log.md, "On-disk layout"):
 *
 *   <pier>/.urb/log/          LMDB environment (data.mdb, lock.mdb): EVENTS, INFO, BLOBS, META
 *   <pier>/.urb/blob/         one file per large event: <eve>-<crc32 hex>.jam, the raw jam bytes
 *   <pier>/.urb/chk/          snapshots: snapshot-<eve>.plea (header + jam of the state)
 *
 * Names of blobs are derived from the record (event number and checksum), so a record names its
 * blob without storing a file name, and a stray file is recognisable as an orphan.
 */
import { join } from "node:path";

export interface LogPaths {
  /** `<pier>/.urb` */
  readonly urb: string;
  /** `<pier>/.urb/log`: the LMDB environment. */
  readonly log: string;
  /** `<pier>/.urb/blob`: large events' jams. */
  readonly blob: string;
  /** `<pier>/.urb/chk`: snapshots. */
  readonly chk: string;
}

export function logPaths(pier: string): LogPaths {
  const urb = join(pier, ".urb");
  return { urb, log: join(urb, "log"), blob: join(urb, "blob"), chk: join(urb, "chk") };
}

/** The blob file of event `eve` whose bytes have CRC-32 `crc`. */
export function blobFileName(eve: number, crc: number): string {
  return `${eve}-${(crc >>> 0).toString(16).padStart(8, "0")}.jam`;
}

/** The name a blob is written under until it is complete and synced. */
export function partialBlobFileName(eve: number): string {
  return `${eve}.partial`;
}

/** Parses a complete blob's name; undefined for anything else (which start-up removes). */
export function parseBlobFileName(name: string): { eve: number; crc: number } | undefined {
  const m = /^([1-9][0-9]{0,15})-([0-9a-f]{8})\.jam$/.exec(name);
  if (!m) return undefined;
  const eve = Number(m[1]);
  if (!Number.isSafeInteger(eve)) return undefined;
  return { eve, crc: parseInt(m[2], 16) >>> 0 };
}
