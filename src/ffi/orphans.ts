/**
 * Listing segments and sweeping orphans: the segments a SIGKILLed or crashed process left in
 * /dev/shm, the most reported shared-memory bug of every comparable project.
 *
 * A segment's name carries its creator's pid and start time (shm-name.ts). The creator is gone
 * when /proc/<pid> is missing, when that pid is a zombie, or when it now belongs to a process
 * that started at another time (a reused pid). A creator whose /proc entry cannot be read counts
 * as alive: the sweep never removes what might still be in use.
 *
 * Only objects owned by this process's user are listed or swept. /dev/shm is writable by every
 * local user, so a file under a Plea name may be anyone's (a squatter's, to make the sweep fail or
 * to have root delete it): another user's object is not ours to report, and never ours to remove.
 */
import { lstatSync, readdirSync } from "node:fs";
import { unlinkObject, segmentPath, shmDirectory } from "./shm-dir.ts";
import { parseSegmentName, processStartTime, SEGMENT_NAME_PREFIX, type SegmentNameParts } from "./shm-name.ts";
import { Errno, sysErrorFromNode, SysError } from "./sys-error.ts";

/** Whether a segment's creator still runs: "alive", or why it is gone. */
export type CreatorState = "alive" | "exited" | "pid-reused";

export interface SegmentInfo extends SegmentNameParts {
  /** The name as shm_open takes it, with its leading slash. */
  name: string;
  /** The object's size in bytes. */
  bytes: number;
  creator: CreatorState;
}

export interface ListOptions {
  /** Test-only: the tmpfs directory to list instead of /dev/shm (default $PLEA_SHM_DIR). */
  dir?: string;
}

function creatorState(parts: SegmentNameParts): CreatorState {
  const startTime = processStartTime(parts.pid);
  if (startTime === undefined) return "exited";
  if (startTime === "unknown") return "alive";
  return startTime === parts.startTime ? "alive" : "pid-reused";
}

/** This process's effective uid: whose objects the sweep may touch. */
function ownUid(): number {
  return process.geteuid?.() ?? process.getuid!();
}

/**
 * The Plea segments in /dev/shm (or `options.dir`), of `namespace` only if given, sorted by
 * name, with their size and whether their creator still runs. For `urth status`. Only regular
 * files owned by this process's user count (lstat: a symlink under a Plea name is not followed).
 */
export function listSegments(namespace?: string, options: ListOptions = {}): SegmentInfo[] {
  const dir = shmDirectory(options.dir);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (cause) {
    throw sysErrorFromNode("readdir", `Cannot list the segments in ${dir}`, cause);
  }
  const prefix = namespace === undefined ? SEGMENT_NAME_PREFIX : `${SEGMENT_NAME_PREFIX}${namespace}-`;
  const found: SegmentInfo[] = [];
  const uid = ownUid();
  for (const entry of entries.sort()) {
    if (!entry.startsWith(prefix)) continue;
    const parts = parseSegmentName(entry);
    if (!parts || (namespace !== undefined && parts.namespace !== namespace)) continue;
    const name = `/${entry}`;
    let st;
    try {
      st = lstatSync(segmentPath(name, dir));
    } catch {
      // Removed between readdir and lstat (its peer unlinked it): nothing to report or sweep.
      continue;
    }
    if (!st.isFile() || st.uid !== uid) continue;
    found.push({ name, ...parts, bytes: st.size, creator: creatorState(parts) });
  }
  return found;
}

/**
 * Removes this user's segments of `namespace` (or of each of several) whose creator no longer
 * runs (exited, or its pid now belongs to another process) and returns them. Segments of running
 * creators, of other namespaces or other users, and files that are not Plea segments are never
 * touched. A segment its peer removes meanwhile is not an error, and neither is one the kernel
 * will not let us remove (EACCES, EPERM: another user's file took the name after it was listed):
 * it is left alone. If a removal fails otherwise (EIO), the others are still attempted and the
 * first failure is thrown afterwards.
 */
export function sweepOrphans(namespace: string | readonly string[], options: ListOptions = {}): SegmentInfo[] {
  const removed: SegmentInfo[] = [];
  let failure: SysError | undefined;
  const segments = typeof namespace === "string" ? listSegments(namespace, options) : namespace.flatMap((ns) => listSegments(ns, options));
  for (const segment of segments) {
    if (segment.creator === "alive") continue;
    try {
      const reason = segment.creator === "exited" ? "its creator exited" : "its creator's pid was reused";
      if (unlinkObject(segment.name, options.dir, `Cannot remove orphan segment "${segment.name}" (${reason})`)) {
        removed.push(segment);
      }
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      if (e.errno === Errno.EACCES || e.errno === Errno.EPERM) continue;
      failure ??= e;
    }
  }
  if (failure) throw failure;
  return removed;
}
