/**
 * Page-cache control for streamed writes: `sync_file_range(2)` and `posix_fadvise(2)` through
 * `bun:ffi` (node:fs has neither).
 *
 * Why: writing a multi-GiB blob or snapshot with plain `write` leaves every page dirty until the
 * final `fsync`, which then writes it all at once. Starting writeback after each chunk and dropping
 * chunks already on disk keeps the dirty set near one window and made write + fsync of 2 GiB take
 * 4.0-4.4 s instead of 5.8-8.7 s here (docs/decisions.md, "Pacing the page cache"). Neither call
 * makes anything durable: the final `fsync` of the file and of its directory does that.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { SysError } from "../../ffi/sys-error.ts";

const { i32, i64, u32, ptr } = FFIType;

const libc = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: ptr },
  sync_file_range: { args: [i32, i64, i64, u32], returns: i32 },
  posix_fadvise: { args: [i32, i64, i64, i32], returns: i32 },
}).symbols;

/** sync_file_range(2) flags (include/uapi/linux/fs.h). */
export const SYNC_FILE_RANGE_WAIT_BEFORE = 1;
export const SYNC_FILE_RANGE_WRITE = 2;
export const SYNC_FILE_RANGE_WAIT_AFTER = 4;

/** posix_fadvise(2) advice (include/uapi/linux/fadvise.h). */
export const POSIX_FADV_SEQUENTIAL = 2;
export const POSIX_FADV_DONTNEED = 4;

/** Starts writeback of [offset, offset + length) without waiting for it. */
export function startWriteback(fd: number, offset: number, length: number, what: string): void {
  syncFileRange(fd, offset, length, SYNC_FILE_RANGE_WRITE, what);
}

/**
 * Waits until [offset, offset + length) is written back, then drops those pages from the page
 * cache so a large file does not push everything else out of memory.
 */
export function writebackAndDrop(fd: number, offset: number, length: number, what: string): void {
  syncFileRange(fd, offset, length, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER, what);
  fadvise(fd, offset, length, POSIX_FADV_DONTNEED, what);
}

/** posix_fadvise(2). It returns the error number itself instead of setting errno. */
export function fadvise(fd: number, offset: number, length: number, advice: number, what: string): void {
  const rc = libc.posix_fadvise(fd, offset, length, advice);
  if (rc !== 0) throw new SysError("posix_fadvise", rc, `Cannot advise the kernel about ${what}`, { advice: ADVICE });
}

function syncFileRange(fd: number, offset: number, length: number, flags: number, what: string): void {
  if (length <= 0) return;
  const rc = libc.sync_file_range(fd, offset, length, flags);
  if (rc !== 0) {
    const errno = read.i32(libc.__errno_location() as number, 0);
    throw new SysError("sync_file_range", errno, `Cannot write back ${what}`, { advice: ADVICE });
  }
}

const ADVICE = "The disk or filesystem under the pier reported an error; check `dmesg` and free space, then start again";
