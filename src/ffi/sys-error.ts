/**
 * `SysError`: a libc call that failed, with its errno, the errno's name and a sentence an
 * operator can act on.
 *
 * The `code` is the errno name (`ENOSPC`, `EEXIST`, ...), so callers match on the condition, not on
 * the message. The advice table covers the errors a shared-memory segment can run into; any other
 * errno still gets its name (from the platform's table) and the C library's own description.
 */
import { constants } from "node:os";
import { PleaError } from "../error.ts";

/** The errnos Plea explains, with the numbers Linux uses on every architecture Bun runs on. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

export type ErrnoName = keyof typeof Errno;

/**
 * What an operator can do about each errno, in the context of a shared-memory segment. Each ends
 * the message, so none ends with a period.
 */
const ADVICE: Record<ErrnoName, string> = {
  EPERM: "The operation is not permitted: the object may be sealed, or a security policy (seccomp, AppArmor) forbids it",
  ENOENT: "No such segment: the peer has not created it yet or has already removed it",
  EINTR: "The call was interrupted by a signal; retrying is safe",
  EIO: "The kernel reported an I/O error on the shared-memory filesystem",
  EBADF: "The file descriptor is not open: this is a Plea bug, please report it with this message",
  EAGAIN: "The resource is temporarily unavailable (locked memory limit?); retry, or raise `ulimit -l`",
  ENOMEM:
    "Out of memory or address space: free memory, use a smaller payload, or raise `ulimit -v` and vm.max_map_count",
  EACCES:
    "Permission denied: the segment belongs to another user or has other permissions; run urth and mars as the same user",
  EFAULT: "An address was invalid: this is a Plea bug, please report it with this message",
  EBUSY: "The resource is busy; retry later",
  EEXIST:
    "A segment with this name already exists: another process is using it, or a crashed one left it behind. Start urth again (it sweeps orphans of its pier) or remove the file from /dev/shm",
  EXDEV: "The two files are on different filesystems, which this kernel cannot copy between in one call",
  ENODEV: "The filesystem does not support memory mapping; segments must live on a tmpfs such as /dev/shm",
  EINVAL: "An argument was invalid for this kernel or filesystem: this is likely a Plea bug, please report it with this message",
  ENFILE: "The system-wide limit of open files is reached: close other programs or raise fs.file-max",
  EMFILE: "This process has too many open files: raise the limit with `ulimit -n`",
  EFBIG: "The segment is larger than this process may create: raise `ulimit -f`",
  ENOSPC:
    "The shared-memory filesystem is full: free space in /dev/shm or enlarge it (Docker: `docker run --shm-size=8g`; Kubernetes: an emptyDir with medium Memory mounted at /dev/shm)",
  ENAMETOOLONG: "The segment name is too long: this is a Plea bug, please report it with this message",
  ENOSYS: "The kernel lacks this system call; Plea needs Linux 3.5 or later",
  EOPNOTSUPP:
    "The filesystem cannot reserve space (fallocate); segments must live on a tmpfs such as /dev/shm",
};

let errnoNames: Map<number, string> | undefined;

/** The name of an errno number (`28` -> `"ENOSPC"`), or `"E<number>"` if the platform has none. */
export function errnoName(errno: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(Errno)) errnoNames.set(value, name);
    for (const [name, value] of Object.entries(constants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The advice sentence for an errno, or undefined when Plea has none. */
export function errnoAdvice(errno: number): string | undefined {
  const name = errnoName(errno);
  return name in ADVICE ? ADVICE[name as ErrnoName] : undefined;
}

export class SysError extends PleaError {
  /** The libc call that failed (`shm_open`, `fallocate`, ...), or `statfs` for the free-space check. */
  readonly call: string;
  /** The errno number as the kernel returned it. */
  readonly errno: number;

  /**
   * @param call the libc call that failed
   * @param errno its errno, read right after the call
   * @param subject what it was done to, in sentence case: `Cannot create segment "/plea-..." (1048576 bytes)`
   * @param options.advice replaces the table's sentence when the caller knows better
   * @param options.finding replaces "<call> failed with <code> (errno <n>)" when no call failed
   *   but a check found the condition (the free-space check before creating a segment)
   */
  constructor(call: string, errno: number, subject: string, options?: { advice?: string; finding?: string; cause?: unknown }) {
    const name = errnoName(errno);
    const advice = options?.advice ?? errnoAdvice(errno) ?? "";
    const finding = options?.finding ?? `${call} failed with ${name} (errno ${errno})`;
    super(name, advice === "" ? `${subject}: ${finding}` : `${subject}: ${finding}. ${advice}`, options);
    this.call = call;
    this.errno = errno;
  }
}

/**
 * Turns an error thrown by `node:fs` into a `SysError` (the test-only directory and the orphan
 * sweep use `node:fs`); anything that is not a system error is returned unchanged.
 */
export function sysErrorFromNode(call: string, subject: string, cause: unknown): unknown {
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return cause;
  const errno = (constants.errno as Record<string, number>)[code];
  if (errno === undefined) return cause;
  return new SysError(call, errno, subject, { cause });
}
