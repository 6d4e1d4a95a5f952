/**
 * What urth last committed from the mount: per Clay path, the Unix path, size, mtime and inode
 * it had. With it a commit reads only the files that changed (vere compares mugs of every file's
 * bytes, which means reading the whole mount on every scan).
 *
 * The cache is a hint, never the truth: mars's state is. urth reconciles the two at start (a
 * path mars does not hold is dropped from the cache; a path mars holds that the cache does not
 * know is re-sent if it is on disk, deleted if not), so a crash between mars's durable commit and
 * the cache write costs at most a re-send of identical bytes.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { PIER_FILE_MODE } from "../pier/private-mode.ts";
import { clayKey, clayPathOf, type MountFile } from "./mount-scan.ts";

export interface CachedFile {
  rel: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export type MountCache = Map<string, CachedFile>;

/**
 * Reads the cache. It is a hint: a missing one, or one that does not parse, is empty, and an
 * entry that is not a well-formed record of the file its key names is dropped. What the cache
 * does not vouch for is sent again (identical bytes) and the next commit writes the cache anew.
 * A damaged cache (`{"files":{"/s1/txt":null}}`) once failed every commit with a TypeError.
 */
export function readMountCache(file: string): MountCache {
  const cache: MountCache = new Map();
  if (!existsSync(file)) return cache;
  let files: unknown;
  try {
    files = (JSON.parse(readFileSync(file, "utf8")) as { files?: unknown } | null)?.files;
  } catch {
    return cache;
  }
  if (typeof files !== "object" || files === null || Array.isArray(files)) return cache;
  for (const [key, entry] of Object.entries(files)) if (isCachedFile(key, entry)) cache.set(key, { rel: entry.rel, size: entry.size, mtimeMs: entry.mtimeMs, ino: entry.ino });
  return cache;
}

/** Whether `entry` is a record of the mount file whose Clay path is `key`. */
function isCachedFile(key: string, entry: unknown): entry is CachedFile {
  if (typeof entry !== "object" || entry === null) return false;
  const e = entry as Record<string, unknown>;
  if (typeof e.rel !== "string" || e.rel === "" || clayKey(clayPathOf(e.rel)) !== key) return false;
  return isWhole(e.size) && typeof e.mtimeMs === "number" && Number.isFinite(e.mtimeMs) && isWhole(e.ino);
}

function isWhole(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Writes the cache atomically (temp file, rename). */
export function writeMountCache(file: string, cache: MountCache): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ files: Object.fromEntries(cache) }), { mode: PIER_FILE_MODE });
  renameSync(tmp, file);
}

export function cachedOf(f: MountFile): CachedFile {
  return { rel: f.rel, size: f.size, mtimeMs: f.mtimeMs, ino: f.ino };
}

/** Whether a scanned file is the one the cache recorded (same size, mtime and inode). */
export function unchanged(f: MountFile, c: CachedFile | undefined): boolean {
  return c !== undefined && c.size === f.size && c.mtimeMs === f.mtimeMs && c.ino === f.ino;
}
