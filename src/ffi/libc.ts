/**
 * libc through `bun:ffi`: the few calls a shared-memory segment needs, each checked.
 *
 * Every wrapper throws a `SysError` naming the call, the errno and what to do; none returns -1.
 * Facts this file relies on (docs/platform.md, pinned by test/ffi/libc.test.ts):
 * - `dlopen("libc.so.6")` works, `"libc.so"` does not (a linker script on Debian). On glibc
 *   older than 2.34 `shm_open`/`shm_unlink` live in `librt.so.1` and `dlsym` in `libdl.so.2`.
 * - errno is read through `__errno_location` right after the failing call, in the same tick.
 *   Binding the `errno` symbol itself crashes Bun (oven-sh/bun#22212).
 * - A `ptr` result is a number, but `MAP_FAILED` arrives as the bigint 2^64-1: test
 *   `typeof p !== "number"`. Sizes stay numbers (all below 2^53).
 * - FFI calls block the JS thread (`fallocate` of 1 GiB takes about 230 ms here).
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { Errno, SysError } from "./sys-error.ts";

const { i32, i64, u32, u64, ptr: pointer } = FFIType;

if (process.platform !== "linux") {
  throw new Error(`Plea runs on Linux only (this is ${process.platform}): it needs /dev/shm, fallocate and /proc`);
}

/** open(2) flags, mmap(2) protections and flags, madvise(2) advice: the Linux values. */
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;

/** madvise(2) advice by name; `remove` frees a shared mapping's backing pages (they read as 0). */
export const MADV = {
  normal: 0,
  random: 1,
  sequential: 2,
  willneed: 3,
  dontneed: 4,
  remove: 9,
  /** Linux 5.14+: fault every page in readable, in one call, copying nothing (EINVAL before). */
  populateRead: 22,
  /** Linux 5.14+: fault every page in writable, in one call (EINVAL before). */
  populateWrite: 23,
} as const;
export type Madvice = keyof typeof MADV;

const core = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: pointer },
  ftruncate: { args: [i32, i64], returns: i32 },
  fallocate: { args: [i32, i32, i64, i64], returns: i32 },
  mmap: { args: [pointer, u64, i32, i32, i32, i64], returns: pointer },
  munmap: { args: [pointer, u64], returns: i32 },
  madvise: { args: [pointer, u64, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
  fstat: { args: [i32, pointer], returns: i32 },
  getpagesize: { args: [], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  // fcntl(2) is variadic; every command Plea uses takes one int, which the x86-64 and arm64
  // calling conventions pass exactly as a fixed third argument.
  fcntl: { args: [i32, i32, i32], returns: i32 },
}).symbols;

/** memfd_create(3) is in glibc since 2.27; without it memfd segments are simply unavailable. */
const memfdSymbols = (() => {
  try {
    return dlopen("libc.so.6", { memfd_create: { args: [pointer, u32], returns: i32 } }).symbols;
  } catch {
    return undefined;
  }
})();

const shmSymbols = {
  shm_open: { args: [pointer, i32, u32], returns: i32 },
  shm_unlink: { args: [pointer], returns: i32 },
} as const;
const dlsymSymbols = { dlsym: { args: [pointer, pointer], returns: pointer } } as const;

/** glibc 2.34 moved these into libc.so.6; older systems still have them in librt/libdl. */
function openWithFallback<T extends Record<string, { args: readonly FFIType[]; returns: FFIType }>>(
  symbols: T,
  fallback: string,
) {
  try {
    return dlopen("libc.so.6", symbols).symbols;
  } catch {
    return dlopen(fallback, symbols).symbols;
  }
}

const shm = openWithFallback(shmSymbols, "librt.so.1");
const dl = openWithFallback(dlsymSymbols, "libdl.so.2");

/** The errno of the call that just failed. Call it before anything else can run. */
export function lastErrno(): number {
  return read.i32(core.__errno_location() as number, 0);
}

/** The system page size: window sizes and madvise offsets must be multiples of it. */
export const PAGE_BYTES: number = core.getpagesize();

/** A NUL-terminated copy of a string for a `const char *` argument. */
function cString(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** Address of libc's `munmap`: the deallocator handed to `toArrayBuffer` (see shm.ts). */
export const MUNMAP_ADDRESS: number = (() => {
  const p = dl.dlsym(null, cString("munmap"));
  if (typeof p !== "number" || p === 0) throw new Error("Plea cannot find munmap in libc.so.6");
  return p;
})();

/** shm_open(3): returns a file descriptor. `subject` starts the error message. */
export function shmOpen(name: string, flags: number, mode: number, subject: string): number {
  const fd = shm.shm_open(cString(name), flags, mode);
  if (fd < 0) throw new SysError("shm_open", lastErrno(), subject);
  return fd;
}

/** shm_unlink(3). Returns false when the name was already gone (ENOENT), true when removed. */
export function shmUnlink(name: string, subject: string): boolean {
  if (shm.shm_unlink(cString(name)) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.ENOENT) return false;
  throw new SysError("shm_unlink", errno, subject);
}

/** ftruncate(2), retried on EINTR. */
export function ftruncate(fd: number, length: number, subject: string): void {
  for (;;) {
    if (core.ftruncate(fd, length) === 0) return;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SysError("ftruncate", errno, subject);
  }
}

/**
 * fallocate(2) mode 0 over [0, length): reserves every page now, so a full tmpfs is ENOSPC here
 * instead of a SIGBUS on first touch. Retried on EINTR (a signal can interrupt a long one).
 */
export function fallocate(fd: number, length: number, subject: string, noSpaceAdvice?: () => string): void {
  for (;;) {
    if (core.fallocate(fd, 0, 0, length) === 0) return;
    const errno = lastErrno();
    if (errno === Errno.EINTR) continue;
    throw new SysError("fallocate", errno, subject, { advice: errno === Errno.ENOSPC ? noSpaceAdvice?.() : undefined });
  }
}

/** mmap(2) of a whole descriptor from offset 0. Returns the address. */
export function mmap(length: number, prot: number, flags: number, fd: number, subject: string): number {
  const p = core.mmap(null, length, prot, flags, fd, 0);
  // MAP_FAILED is (void *)-1, which bun:ffi returns as a bigint; a mapping is never at 0.
  if (typeof p !== "number" || p === 0) throw new SysError("mmap", lastErrno(), subject);
  return p;
}

/** munmap(2). Only for mappings no JS view was ever made of (shm.ts hands the rest to the GC). */
export function munmap(address: number, length: number, subject: string): void {
  if (core.munmap(address, length) !== 0) throw new SysError("munmap", lastErrno(), subject);
}

/** madvise(2); `address` must be page-aligned. */
export function madvise(address: number, length: number, advice: Madvice, subject: string): void {
  if (core.madvise(address, length, MADV[advice]) !== 0) throw new SysError("madvise", lastErrno(), subject);
}

/** close(2). EINTR is not retried: on Linux the descriptor is released anyway. */
export function closeFd(fd: number, subject: string): void {
  if (core.close(fd) === 0) return;
  const errno = lastErrno();
  if (errno !== Errno.EINTR) throw new SysError("close", errno, subject);
}

/** `struct stat` is 144 bytes on x86-64 and 128 on arm64; `st_size` is at byte 48 on both. */
const STAT_BYTES = 144;
const STAT_SIZE_OFFSET = 48;
const statBuffer = new BigInt64Array(STAT_BYTES / 8);

/** fstat(2)'s `st_size`: the byte length of the object behind `fd`. */
export function fstatSize(fd: number, subject: string): number {
  if (process.arch !== "x64" && process.arch !== "arm64") {
    throw new Error(`Plea knows the layout of struct stat on x64 and arm64 only, not on ${process.arch}`);
  }
  if (core.fstat(fd, ptr(statBuffer)) !== 0) throw new SysError("fstat", lastErrno(), subject);
  return Number(statBuffer[STAT_SIZE_OFFSET / 8]);
}

/**
 * memfd_create(2) flags: close on exec (never leak into a child), allow seals to be added, and
 * (Linux 6.3 and later; EINVAL before) seal it against ever being made executable, which a kernel
 * with vm.memfd_noexec = 2 requires.
 */
export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;
export const MFD_NOEXEC_SEAL = 8;

/** fcntl(2) commands for seals, and the seals (linux/fcntl.h). */
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 1;
export const F_SEAL_SHRINK = 2;
export const F_SEAL_GROW = 4;
export const F_SEAL_WRITE = 8;
export const F_SEAL_FUTURE_WRITE = 16;
export const F_SEAL_EXEC = 32;

/**
 * memfd_create(2): an anonymous shared-memory file, not bounded by the size of /dev/shm and with
 * no name anyone can open or squat. `label` shows in /proc/<pid>/fd and /proc/<pid>/maps only.
 * ENOSYS when this C library or kernel lacks it.
 */
export function memfdCreate(label: string, flags: number, subject: string): number {
  if (memfdSymbols === undefined) throw new SysError("memfd_create", Errno.ENOSYS, subject, { advice: "This C library has no memfd_create (glibc 2.27 or later has it); Plea uses named segments instead" });
  const fd = memfdSymbols.memfd_create(cString(label), flags);
  if (fd < 0) throw new SysError("memfd_create", lastErrno(), subject);
  return fd;
}

/** fcntl(F_ADD_SEALS): EPERM once F_SEAL_SEAL is set, EINVAL for a file that cannot be sealed. */
export function addSeals(fd: number, seals: number, subject: string): void {
  if (core.fcntl(fd, F_ADD_SEALS, seals) !== 0) throw new SysError("fcntl(F_ADD_SEALS)", lastErrno(), subject);
}

/** fcntl(F_GET_SEALS): the seals of `fd`; EINVAL for a file that does not support seals (not shmem). */
export function getSeals(fd: number, subject: string): number {
  const seals = core.fcntl(fd, F_GET_SEALS, 0);
  if (seals < 0) throw new SysError("fcntl(F_GET_SEALS)", lastErrno(), subject);
  return seals;
}

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * flock(2) with LOCK_EX|LOCK_NB: takes an exclusive lock on `fd` or returns false if another open
 * file description holds it. The kernel drops the lock when the holder dies, however it dies,
 * which is why the pier lock uses it rather than a pid file.
 */
export function tryLockExclusive(fd: number, subject: string): boolean {
  if (core.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.EAGAIN) return false; // EWOULDBLOCK is EAGAIN on Linux
  throw new SysError("flock", errno, subject);
}
