/**
 * A pier whose log is gone is damaged, not new (docs/event-log.md, "Start-up recovery").
 *
 * LMDB creates a fresh environment wherever it finds no data file or an empty one, and start-up
 * recovery then removes every blob as an orphan: a deleted or emptied `data.mdb` would silently
 * become "event 0" and take the blobs with it. So before anything is created, a missing log is
 * weighed against what the pier holds: blob files, snapshots, urth's mount cache (written only
 * after a committed event) or a head marker past event 0 mean events were committed, and mars
 * refuses to start, deleting nothing. A pier with none of them is new.
 */
import { isBlobName } from "../../blob/index.ts";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readHeadMarker } from "./head-marker.ts";
import type { LogPaths } from "./layout.ts";
import { LogError, LogErrorCode } from "./log-error.ts";

/** LMDB's data file in the log directory. */
export const LMDB_DATA_FILE = "data.mdb";

/** urth's mount cache in `.urb` (docs/mount.md): it exists only once an event was committed. */
const MOUNT_CACHE_FILE = "mount.json";

/** Snapshot files (docs/event-log.md, "Snapshots"). */
const SNAPSHOT_NAME = /^snapshot-[0-9]+\.plea$/;

/**
 * Throws LogError (`log_missing`) if the log directory, its data file, or the data file's bytes
 * are missing on a pier that has had events. Reads only; creates and deletes nothing.
 */
export function checkLogPresent(paths: LogPaths): void {
  const data = join(paths.log, LMDB_DATA_FILE);
  const absent = !existsSync(paths.log) ? `directory "${paths.log}" is missing` : !existsSync(data) ? `data file "${data}" is missing` : statSync(data).size === 0 ? `data file "${data}" is empty` : undefined;
  if (absent === undefined) return;
  const evidence = usedPierEvidence(paths);
  if (evidence.length === 0) return;
  throw new LogError(
    LogErrorCode.missing,
    `The event log's ${absent}, but this pier has had events (it has ${evidence.join(", ")}): they are gone from the log, and mars will not start a new log over them. Restore "${paths.log}" from a backup (nothing was deleted), or move the pier aside and start a new one`,
  );
}

/** What in the pier shows that events were committed, one phrase each. */
function usedPierEvidence(paths: LogPaths): string[] {
  const out: string[] = [];
  const blobs = listNames(paths.blob).length;
  if (blobs > 0) out.push(`${blobs} file${blobs === 1 ? "" : "s"} in "${paths.blob}"`);
  const bob = join(paths.urb, "bob");
  const stored = listNames(bob).filter(isBlobName).length;
  if (stored > 0) out.push(`${stored} blob${stored === 1 ? "" : "s"} in "${bob}"`);
  const snapshots = listNames(paths.chk).filter((n) => SNAPSHOT_NAME.test(n)).length;
  if (snapshots > 0) out.push(`${snapshots} snapshot${snapshots === 1 ? "" : "s"} in "${paths.chk}"`);
  if (existsSync(join(paths.urb, MOUNT_CACHE_FILE))) out.push(`urth's mount cache "${join(paths.urb, MOUNT_CACHE_FILE)}"`);
  const head = existsSync(paths.log) ? readHeadMarker(paths.log) : undefined;
  if (head !== undefined && head.eve > 0) out.push(`a head marker at event ${head.eve}`);
  return out;
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
