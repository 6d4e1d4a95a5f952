/**
 * Where segment objects live, and the calls that name them: create, open, unlink, free space.
 *
 * Normally that is /dev/shm through `shm_open`/`shm_unlink`. Tests (and only tests) may put them
 * in another tmpfs directory, for example a small tmpfs they mount, so that a full filesystem and
 * Docker's 64 MiB /dev/shm are exercised for real: pass `dir`, or set PLEA_SHM_DIR so that child
 * processes (mars spawned by urth) follow. There the calls are open(2)/unlink(2) on
 * `<dir>/<name without its slash>`, which is exactly what glibc's shm_open does under /dev/shm.
 */
import { constants, openSync, statfsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { shmOpen, shmUnlink } from "./libc.ts";
import { Errno, SysError, sysErrorFromNode } from "./sys-error.ts";

/** Where glibc's shm_open puts objects on Linux. */
export const SHM_DIR_DEFAULT = "/dev/shm";

/**
 * Test-only: a tmpfs directory to use instead of /dev/shm (for every segment of the process and
 * of the children that inherit the environment). Never set it in production.
 */
export const SHM_DIR_ENV = "PLEA_SHM_DIR";

/** The directory segments live in: `dir`, else $PLEA_SHM_DIR, else /dev/shm. */
export function shmDirectory(dir?: string): string {
  return dir ?? process.env[SHM_DIR_ENV] ?? SHM_DIR_DEFAULT;
}

/** True when segments in `dir` go through shm_open rather than open(2). */
function usesShmOpen(dir: string): boolean {
  return dir === SHM_DIR_DEFAULT;
}

/** The file behind a segment name, for stat and listing. */
export function segmentPath(name: string, dir?: string): string {
  return join(shmDirectory(dir), name.replace(/^\//, ""));
}

/** Opens (or with O_CREAT|O_EXCL creates) the object named `name`; returns its descriptor. */
export function openObject(name: string, flags: number, mode: number, dir: string | undefined, subject: string): number {
  const where = shmDirectory(dir);
  if (usesShmOpen(where)) return shmOpen(name, flags, mode, subject);
  try {
    // open(2) as glibc's shm_open does it: never follow a symlink planted under the name.
    return openSync(segmentPath(name, where), flags | constants.O_NOFOLLOW, mode);
  } catch (cause) {
    throw sysErrorFromNode("open", subject, cause);
  }
}

/** Removes the name. Returns false when it was already gone (ENOENT), true when removed. */
export function unlinkObject(name: string, dir: string | undefined, subject: string): boolean {
  const where = shmDirectory(dir);
  if (usesShmOpen(where)) return shmUnlink(name, subject);
  try {
    unlinkSync(segmentPath(name, where));
    return true;
  } catch (cause) {
    const error = sysErrorFromNode("unlink", subject, cause);
    if (error instanceof SysError && error.errno === Errno.ENOENT) return false;
    throw error;
  }
}

export interface ShmSpace {
  dir: string;
  /** Bytes an unprivileged process may still allocate there. */
  freeBytes: number;
  /** The filesystem's size. */
  totalBytes: number;
}

/** Free and total bytes of the filesystem holding segments. */
export function shmSpace(dir?: string): ShmSpace {
  const where = shmDirectory(dir);
  let st;
  try {
    st = statfsSync(where);
  } catch (cause) {
    throw sysErrorFromNode("statfs", `Cannot measure the free space of ${where}`, cause);
  }
  return { dir: where, freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
}

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;
}

/** The sentence that tells an operator how to get room for `length` bytes. */
export function noSpaceAdvice(length: number, space: ShmSpace): string {
  const needed = Math.max(length, space.totalBytes - space.freeBytes + length);
  const suggestion = Math.ceil((needed * 1.25) / (1024 * MIB));
  return (
    `${space.dir} has ${mib(space.freeBytes)} free of ${mib(space.totalBytes)}. ` +
    `Free space there (remove files nobody uses) or enlarge it: in Docker run the container with ` +
    `\`--shm-size=${suggestion}g\` (Docker's default is 64 MiB), in Kubernetes mount an emptyDir with ` +
    `medium Memory at /dev/shm, on a host \`mount -o remount,size=${suggestion}G /dev/shm\``
  );
}

/**
 * Fails with ENOSPC, before anything is created, when `length` bytes do not fit in the
 * filesystem. fallocate still catches a race with another process filling it meanwhile.
 */
export function checkSpace(name: string, length: number, dir?: string): void {
  const space = shmSpace(dir);
  if (space.freeBytes >= length) return;
  throw new SysError("statfs", Errno.ENOSPC, `Cannot create segment "${name}" of ${length} bytes (${mib(length)})`, {
    finding: `not enough shared memory (ENOSPC, found by the free-space check; nothing was created)`,
    advice: noSpaceAdvice(length, space),
  });
}
