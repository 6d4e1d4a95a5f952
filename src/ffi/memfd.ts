/**
 * memfd segments: an anonymous shared-memory file its creator holds open and its peer opens
 * through `/proc/<creator pid>/fd/<fd>` (docs/shm-segments.md, "memfd segments").
 *
 * Why beside the named POSIX segments of shm.ts:
 * - A memfd lives on the kernel's internal tmpfs, which has no size of its own: a container's
 *   64 MiB /dev/shm does not bound it (the machine's memory and the cgroup's limit do).
 * - It has no name in any directory: nothing to squat, nothing for an orphan sweep to find. It
 *   vanishes when the last descriptor and mapping go, which a SIGKILL does too.
 * - It can be sealed. `createMemfd` adds F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL once every page
 *   is reserved, so no process, not even one of the same user, can truncate it under a mapping
 *   (ftruncate is EPERM) and turn the next touch of a page into SIGBUS. `openPeerMemfd` refuses a
 *   memfd without F_SEAL_SHRINK before it maps anything.
 *
 * The peer opens the creator's descriptor through /proc because that needs nothing but read
 * access to a process of its own user (which Yama does not restrict and hidepid does not hide);
 * docs/shm-segments.md gives the measurements and the other ways considered.
 */
import { openSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import {
  addSeals,
  closeFd,
  fallocate,
  fstatSize,
  ftruncate,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  getSeals,
  memfdCreate,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_NOEXEC_SEAL,
  F_SEAL_EXEC,
  O_RDONLY,
  O_RDWR,
} from "./libc.ts";
import { PleaError } from "../error.ts";
import { FfiErrorCode } from "./errors.ts";
import { mapMemfd, type Segment, SEGMENT_BYTES_MAX, SHM_WINDOW_BYTES_MAX } from "./shm.ts";
import { processStartTime } from "./shm-name.ts";
import { Errno, SysError, sysErrorFromNode } from "./sys-error.ts";

/**
 * The seals a memfd segment carries: it can neither shrink nor grow, and no seal can be added or
 * removed. (Where the kernel knows MFD_NOEXEC_SEAL it also carries F_SEAL_EXEC.)
 */
export const MEMFD_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

/** A peer maps a memfd only if it carries this seal: without it, a truncation could SIGBUS the peer. */
export const MEMFD_SEALS_REQUIRED = F_SEAL_SHRINK;

/** Seals that forbid the writes a filler makes; a memfd offered for filling must carry none of them. */
const MEMFD_SEALS_UNWRITABLE = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

/** Longest memfd label: the kernel allows 249 bytes (NAME_MAX less the "memfd:" it shows in front). */
export const MEMFD_LABEL_BYTES_MAX = 249;

const LABEL_PATTERN = /^[A-Za-z0-9._-]+$/;

/** The seals as names, for messages: "shrink, grow, seal". */
export function sealNames(seals: number): string {
  const names: string[] = [];
  if (seals & F_SEAL_SEAL) names.push("seal");
  if (seals & F_SEAL_SHRINK) names.push("shrink");
  if (seals & F_SEAL_GROW) names.push("grow");
  if (seals & F_SEAL_WRITE) names.push("write");
  if (seals & F_SEAL_FUTURE_WRITE) names.push("future-write");
  if (seals & F_SEAL_EXEC) names.push("exec");
  return names.length === 0 ? "none" : names.join(", ");
}

/** The path through which another process of this user opens descriptor `fd` of process `pid`. */
export function memfdPath(pid: number, fd: number): string {
  return `/proc/${pid}/fd/${fd}`;
}

/** A sealed memfd this process created and holds: its peer opens it while this descriptor is open. */
export class Memfd implements Disposable {
  readonly label: string;
  readonly length: number;
  #fd: number;

  /** @internal Made by `createMemfd`. */
  constructor(fd: number, label: string, length: number) {
    this.#fd = fd;
    this.label = label;
    this.length = length;
  }

  /** The descriptor (what the grant names), or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Maps the whole memfd: "read" private copy-on-write (stray writes stay in this process), "write"
   * shared. The mapping stays valid after `close()`.
   */
  map(mode: "read" | "write", windowBytes = SHM_WINDOW_BYTES_MAX): Segment {
    if (this.#fd < 0) throw new PleaError(FfiErrorCode.segment.closed, `Cannot map memfd "${this.label}": it is closed`);
    return mapMemfd(this.#fd, `memfd:${this.label}`, this.length, mode, windowBytes);
  }

  /**
   * Closes the descriptor: no peer can open the memfd from now on, and once its last mapping goes
   * the memory returns to the machine. The counterpart of unlinking a named segment. Idempotent.
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeFd(fd, `Cannot close memfd "${this.label}"`);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface CreateMemfdOptions {
  /**
   * Compare `length` with the machine's MemAvailable before creating anything (default true): a
   * memfd is bounded by memory, not by a filesystem, so that is the free-space check here.
   */
  checkMemory?: boolean;
}

/**
 * Creates a memfd of `length` bytes (0 to SEGMENT_BYTES_MAX; 0 makes a probe that holds no
 * memory), reserves every page (fallocate: a lack of memory is an error now, never a fault
 * later), and seals it against shrinking, growing and further sealing. Nothing is left behind on
 * failure.
 */
export function createMemfd(label: string, length: number, options: CreateMemfdOptions = {}): Memfd {
  if (!LABEL_PATTERN.test(label) || label.length > MEMFD_LABEL_BYTES_MAX) {
    throw new PleaError(FfiErrorCode.segment.nameInvalid, `Memfd label "${label}" is invalid: it must be 1 to ${MEMFD_LABEL_BYTES_MAX} letters, digits, ".", "_" or "-"`);
  }
  if (!Number.isSafeInteger(length) || length < 0 || length > SEGMENT_BYTES_MAX) {
    throw new PleaError(FfiErrorCode.segment.lengthInvalid, `Memfd "${label}" cannot have length ${length}: a memfd segment holds 0 to ${SEGMENT_BYTES_MAX} bytes`);
  }
  const subject = `Cannot create memfd segment "${label}" of ${length} bytes`;
  if (length > 0 && options.checkMemory !== false) checkMemory(length, subject);
  const fd = createSealable(label, subject);
  try {
    if (length > 0) {
      ftruncate(fd, length, subject);
      fallocate(fd, length, subject, () => memoryAdvice(length));
    }
    addSeals(fd, MEMFD_SEALS, subject);
  } catch (e) {
    try {
      closeFd(fd, subject);
    } catch {
      // The first error is the one to report; the descriptor is released either way.
    }
    throw e;
  }
  return new Memfd(fd, label, length);
}

/** memfd_create with MFD_NOEXEC_SEAL where the kernel knows it (6.3+), without it where it does not. */
function createSealable(label: string, subject: string): number {
  try {
    return memfdCreate(label, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL, subject);
  } catch (e) {
    if (!(e instanceof SysError && e.errno === Errno.EINVAL)) throw e;
    return memfdCreate(label, MFD_CLOEXEC | MFD_ALLOW_SEALING, subject);
  }
}

/** MemAvailable from /proc/meminfo, in bytes, or undefined if it cannot be read. */
export function memAvailableBytes(): number | undefined {
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "latin1"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function memoryAdvice(length: number): string {
  const available = memAvailableBytes();
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  return `The machine${available === undefined ? "" : ` has ${gib(available)} available and`} cannot hold ${gib(length)} more in shared memory: free memory, raise the container's memory limit, or commit smaller changes.`;
}

function checkMemory(length: number, subject: string): void {
  const available = memAvailableBytes();
  if (available === undefined || available >= length) return;
  throw new SysError("meminfo", Errno.ENOMEM, subject, {
    finding: "not enough memory (ENOMEM, found by the check of MemAvailable; nothing was created)",
    advice: memoryAdvice(length),
  });
}

export interface OpenPeerMemfdOptions {
  /** "write": shared read/write, for the filler. "read": private copy-on-write. */
  mode: "write" | "read";
  /** The length the creator announced: the memfd must hold at least this much; only this much is mapped. */
  length: number;
  /**
   * The creator's start time (field 22 of /proc/<pid>/stat) when it was spawned. Checked after the
   * open: if the pid now names another process, what was opened is not the creator's and is refused.
   */
  startTime?: number;
  windowBytes?: number;
}

/**
 * The checks a peer makes on a memfd before it maps it: the creator is still the process it
 * spawned, the memfd carries F_SEAL_SHRINK (and for writing, no write seal), and it is at least
 * `length` bytes long. Throws PleaError (FfiErrorCode.segment) or SysError; returns the seals and the size.
 */
export function checkPeerMemfd(fd: number, where: string, options: { mode: "write" | "read"; length: number; pid: number; startTime?: number }): { seals: number; size: number } {
  const subject = `Cannot use ${where}`;
  if (options.startTime !== undefined && processStartTime(options.pid) !== options.startTime) {
    throw new PleaError(FfiErrorCode.segment.peerGone, `${subject}: process ${options.pid} is no longer the one that created the memfd; refusing what was opened`);
  }
  let seals: number;
  try {
    seals = getSeals(fd, subject);
  } catch (e) {
    // EINVAL: the descriptor is no shared-memory file at all (a pipe, a file on disk).
    if (!(e instanceof SysError && e.errno === Errno.EINVAL)) throw e;
    throw new PleaError(FfiErrorCode.segment.unsealed, `${subject}: it is not a memfd (it cannot carry seals); refusing to map it`, { cause: e });
  }
  if ((seals & MEMFD_SEALS_REQUIRED) === 0) {
    throw new PleaError(
      FfiErrorCode.segment.unsealed,
      `${subject}: it is not sealed against shrinking (seals: ${sealNames(seals)}), so its creator or any process of this user could truncate it under the mapping and kill this process with SIGBUS; refusing to map it`,
    );
  }
  if (options.mode === "write" && (seals & MEMFD_SEALS_UNWRITABLE) !== 0) {
    throw new PleaError(FfiErrorCode.segment.unsealed, `${subject}: it is sealed against writing (seals: ${sealNames(seals)}), so it cannot be filled`);
  }
  const size = fstatSize(fd, subject);
  if (size < options.length) {
    throw new PleaError(
      FfiErrorCode.segment.tooSmall,
      `${where} holds ${size} bytes but its creator announced ${options.length}: the creator is broken; refusing to map it (touching the missing pages would kill this process with SIGBUS)`,
    );
  }
  return { seals, size };
}

/**
 * Opens descriptor `fd` of process `pid` (a memfd it created) through /proc, checks it
 * (`checkPeerMemfd`) and maps `length` bytes of it. Opening the magic link makes a new open file
 * description of the same memfd; it is closed again before this returns (the mapping keeps the
 * memory). Fails with SysError ENOENT when the process or the descriptor is gone, EACCES when this
 * process may not read the other's descriptors.
 */
export function openPeerMemfd(pid: number, fd: number, options: OpenPeerMemfdOptions): Segment {
  if (!Number.isSafeInteger(options.length) || options.length < 1 || options.length > SEGMENT_BYTES_MAX) {
    throw new PleaError(FfiErrorCode.segment.lengthInvalid, `A memfd segment of ${options.length} bytes is invalid: it holds 1 to ${SEGMENT_BYTES_MAX} bytes`);
  }
  const where = `memfd ${fd} of process ${pid}`;
  const own = openMagicLink(pid, fd, options.mode, where);
  try {
    checkPeerMemfd(own, where, { ...options, pid });
    return mapMemfd(own, `memfd:${pid}:${fd}`, options.length, options.mode, options.windowBytes);
  } finally {
    closeFd(own, `Cannot close ${where}`);
  }
}

/**
 * The probe: can this process open descriptor `fd` of process `pid` as a sealed memfd? Returns
 * nothing and throws the reason it cannot (the same errors as `openPeerMemfd`); maps nothing.
 */
export function probePeerMemfd(pid: number, fd: number, startTime?: number): void {
  const where = `memfd ${fd} of process ${pid}`;
  const own = openMagicLink(pid, fd, "write", where);
  try {
    checkPeerMemfd(own, where, { mode: "write", length: 0, pid, startTime });
  } finally {
    closeFd(own, `Cannot close ${where}`);
  }
}

function openMagicLink(pid: number, fd: number, mode: "write" | "read", where: string): number {
  if (!Number.isSafeInteger(pid) || pid < 1 || !Number.isSafeInteger(fd) || fd < 0 || fd > 2 ** 31 - 1) {
    throw new PleaError(FfiErrorCode.segment.nameInvalid, `There is no ${where}: a pid is a positive integer and a descriptor 0 to 2^31-1`);
  }
  try {
    // A magic link: opening it follows to the memfd itself (O_NOFOLLOW would refuse it).
    return openSync(memfdPath(pid, fd), mode === "write" ? O_RDWR : O_RDONLY);
  } catch (cause) {
    throw sysErrorFromNode("open", `Cannot open ${where} through ${memfdPath(pid, fd)}`, cause);
  }
}

/** A memfd segment a live process holds, as `urth status` shows it. */
export interface MemfdInfo {
  /** `memfd:<label>`. */
  name: string;
  pid: number;
  fd: number;
  bytes: number;
}

/**
 * The memfds process `pid` holds whose label starts with `plea-<namespace>-`: the memfd segments
 * in flight (they have no name in /dev/shm to list). Empty when the process is gone or its
 * descriptors cannot be read.
 */
export function listMemfdSegments(pid: number, namespace: string): MemfdInfo[] {
  const prefix = `/memfd:plea-${namespace}-`;
  let entries: string[];
  try {
    entries = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const found: MemfdInfo[] = [];
  for (const entry of entries) {
    const path = `/proc/${pid}/fd/${entry}`;
    try {
      const target = readlinkSync(path);
      if (!target.startsWith(prefix)) continue;
      found.push({ name: target.slice(1).replace(/ \(deleted\)$/, ""), pid, fd: Number(entry), bytes: statSync(path).size });
    } catch {
      // closed meanwhile
    }
  }
  return found.sort((a, b) => a.fd - b.fd);
}
