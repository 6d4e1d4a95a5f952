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
import type { MountFile } from "./mount-scan.ts";

export interface CachedFile {
  rel: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export type MountCache = Map<string, CachedFile>;

/** Reads the cache; a missing or unreadable one is empty (everything is re-sent). */
export function readMountCache(file: string): MountCache {
  if (!existsSync(file)) return new Map();
  try {
    const obj = JSON.parse(readFileSync(file, "utf8")) as { files?: Record<string, CachedFile> };
    return new Map(Object.entries(obj.files ?? {}));
  } catch {
    return new Map();
  }
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
