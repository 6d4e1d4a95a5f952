/**
 * A POSIX shared-memory segment that cannot crash the process that maps it.
 *
 * The hazards, and what this file does about each (docs/shm-segments.md has the full story):
 * - A full tmpfs turns the first touch of a page into SIGBUS, which Bun cannot catch. `create`
 *   checks the free space first (an actionable error before anything exists), then reserves every
 *   page with fallocate, so a race with another process is a clean ENOSPC, never a SIGBUS later.
 * - A JS write into a PROT_READ page is an uncatchable SIGSEGV. A reader maps the object
 *   MAP_PRIVATE read/write from an O_RDONLY descriptor: a stray write lands in a private copy of
 *   that page and can reach neither the writer nor the file. Never MAP_POPULATE it (that would
 *   copy every page: twice the payload).
 * - Use after munmap is SIGSEGV. Each window is a `toArrayBuffer` view made with `munmap` itself
 *   as its deallocator, so Plea never calls munmap on memory a view can reach: `close()` detaches
 *   each window's buffer with `transfer(0)`, which detaches every view of it (a stale view then
 *   has length 0 and reads undefined) and runs the deallocator at once; a segment dropped without
 *   `close()` is unmapped when the GC collects its last view. Either way munmap runs exactly once.
 * - One JS view is at most 2^32 bytes, so a mapping is exposed as windows of at most
 *   SHM_WINDOW_BYTES_MAX bytes; `read`/`write` cross window borders (through ByteWindows,
 *   src/byte-windows.ts, the one walk across borders, which the flat noun format uses too),
 *   `subarray` does not.
 * - A peer that truncates a named object under a mapping still makes the next touch of a lost
 *   page SIGBUS. No mapping flag prevents that; it is a documented limit, not a handled case. A
 *   memfd segment (memfd.ts) is sealed against shrinking, which closes that hole.
 *
 * Do not `transfer()` a window's buffer yourself or hand it to a transfer list: the segment could
 * no longer detach the new buffer (its memory then stays mapped until that buffer is collected).
 * Do not close a segment while an asynchronous read or write into one of its views is pending.
 */
import { toArrayBuffer } from "bun:ffi";
import { ByteWindows } from "../byte-windows.ts";
import { assert, PleaError } from "../error.ts";
import {
  closeFd,
  fallocate,
  fstatSize,
  ftruncate,
  type Madvice,
  madvise,
  MAP_PRIVATE,
  MAP_SHARED,
  mmap,
  munmap,
  MUNMAP_ADDRESS,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  PAGE_BYTES,
  PROT_READ,
  PROT_WRITE,
} from "./libc.ts";
import { FfiErrorCode } from "./errors.ts";
import { checkSpace, noSpaceAdvice, openObject, shmSpace, unlinkObject } from "./shm-dir.ts";
import { isValidSegmentName } from "./shm-name.ts";

/**
 * Largest window: 2^32 bytes (4 GiB), the most one `toArrayBuffer` view or Uint8Array may span
 * in Bun (5 GiB throws RangeError). A segment of 4.5 GiB is two windows: 4 GiB and 0.5 GiB.
 */
export const SHM_WINDOW_BYTES_MAX = 2 ** 32;

/**
 * Largest segment: 2^40 bytes (1 TiB). Far above any payload; it keeps every offset an exact
 * double and stops a garbage length from a peer before it reaches mmap.
 */
export const SEGMENT_BYTES_MAX = 2 ** 40;

/** Permissions of a new segment: owner read/write only (urth and mars run as one user). */
export const SEGMENT_MODE = 0o600;

export interface SegmentOptions {
  /** Test-only: a tmpfs directory instead of /dev/shm (see shm-dir.ts; default $PLEA_SHM_DIR). */
  dir?: string;
  /** Bytes per window: a multiple of the page size, at most SHM_WINDOW_BYTES_MAX (the default). */
  windowBytes?: number;
}

export interface CreateSegmentOptions extends SegmentOptions {
  /**
   * Compare the free space of the filesystem with `length` before creating anything (default
   * true). Tests turn it off to reach the kernel's own ENOSPC from fallocate.
   */
  checkSpace?: boolean;
}

export interface OpenSegmentOptions extends SegmentOptions {
  /**
   * "write": a shared read/write mapping, for the process that fills a segment its peer created.
   * "read": a private copy-on-write mapping of a read-only descriptor; stray writes stay private.
   */
  mode: "write" | "read";
  /**
   * The length the peer announced. The object must be at least this long (else
   * `segment_too_small`) and only this much is mapped. Default: the object's size.
   */
  length?: number;
}

/** How a segment was mapped: "create" and "write" share writes with the peer, "read" does not. */
export type SegmentMode = "create" | "write" | "read";

/**
 * What backs a segment: a named POSIX object in /dev/shm (this file), or a sealed memfd its
 * creator holds and its peer opens through /proc (memfd.ts; docs/shm-segments.md, "memfd segments").
 */
export type SegmentKind = "named" | "memfd";

function checkName(name: string): void {
  if (!isValidSegmentName(name)) {
    throw new PleaError(
      FfiErrorCode.segment.nameInvalid,
      `Segment name "${name}" is invalid: it must be "/plea-" followed by letters, digits, ".", "_" or "-", at most 255 bytes`,
    );
  }
}

function checkLength(name: string, length: number): void {
  if (!Number.isSafeInteger(length) || length < 1 || length > SEGMENT_BYTES_MAX) {
    throw new PleaError(
      FfiErrorCode.segment.lengthInvalid,
      `Segment "${name}" cannot have length ${length}: a segment holds 1 to ${SEGMENT_BYTES_MAX} bytes`,
    );
  }
}

function checkWindowBytes(windowBytes: number): void {
  if (
    !Number.isSafeInteger(windowBytes) ||
    windowBytes < PAGE_BYTES ||
    windowBytes > SHM_WINDOW_BYTES_MAX ||
    windowBytes % PAGE_BYTES !== 0
  ) {
    throw new RangeError(
      `Window size ${windowBytes} is invalid: it must be a multiple of the page size ${PAGE_BYTES}, at most ${SHM_WINDOW_BYTES_MAX}`,
    );
  }
}

/** Only this module may construct a Segment. */
const CONSTRUCT: unique symbol = Symbol("Segment");

/** An open, mapped segment. Make one with `createSegment` or `openSegment`. */
export class Segment implements Disposable {
  readonly name: string;
  readonly kind: SegmentKind;
  readonly length: number;
  readonly mode: SegmentMode;
  readonly windowBytes: number;
  /** The directory option the segment was made with (undefined: $PLEA_SHM_DIR or /dev/shm). */
  readonly dir: string | undefined;
  #address: number;
  #windows: readonly Uint8Array[];
  /** The windows as one range: every copy and view, within a window or across, goes through it. */
  #range: ByteWindows;
  /** The buffers behind the windows: detaching them detaches every view. */
  #buffers: ArrayBuffer[];
  /** Borrowed buffers made by `view` across window borders; detached by `close` first. */
  #spans: ArrayBuffer[] = [];
  #closed = false;
  #unlinked = false;

  /** @internal Takes ownership of a fresh mapping of `length` bytes at `address`. */
  constructor(
    token: typeof CONSTRUCT,
    name: string,
    length: number,
    mode: SegmentMode,
    address: number,
    windowBytes: number,
    dir: string | undefined,
    kind: SegmentKind,
  ) {
    // A Segment made from an arbitrary address would hand out views of memory nobody mapped.
    assert(token === CONSTRUCT, "a Segment is made by createSegment, openSegment or the memfd calls only");
    this.name = name;
    this.kind = kind;
    this.length = length;
    this.mode = mode;
    this.windowBytes = windowBytes;
    this.dir = dir;
    this.#address = address;
    const buffers: ArrayBuffer[] = [];
    for (let offset = 0; offset < length; offset += windowBytes) {
      try {
        buffers.push(viewOfMapping(address + offset, Math.min(windowBytes, length - offset)));
      } catch (e) {
        // Buffers already made own their ranges (transfer(0) unmaps them); unmap only the rest.
        munmap(address + offset, length - offset, `Cannot map segment "${name}"`);
        for (const buffer of buffers) buffer.transfer(0);
        throw e;
      }
    }
    this.#buffers = buffers;
    this.#windows = Object.freeze(buffers.map((buffer) => new Uint8Array(buffer)));
    this.#range = new ByteWindows(this.#windows);
  }

  /**
   * The mapping as views of at most `windowBytes` bytes each, in order: window i starts at
   * byte i * windowBytes. Empty after `close()` (and views taken before are then detached).
   */
  get windows(): readonly Uint8Array[] {
    return this.#closed ? [] : this.#windows;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get unlinked(): boolean {
    return this.#unlinked;
  }

  /** Copies `target.length` bytes from byte `pos` of the segment into `target`, across windows. */
  read(pos: number, target: Uint8Array): void {
    this.#checkRange("read", pos, target.length);
    this.#range.copyOut(pos, target);
  }

  /** Copies `source` into the segment from byte `pos`, across windows. */
  write(pos: number, source: Uint8Array): void {
    this.#checkRange("write", pos, source.length);
    this.#range.copyIn(pos, source);
  }

  /**
   * A view of `length` bytes from byte `pos` (no copy). It must lie within one window; use
   * `read` for a range that crosses a border. The view is detached by `close()`.
   */
  subarray(pos: number, length: number): Uint8Array {
    this.#checkRange("view", pos, length);
    const within = this.#range.within(pos, length);
    if (within === undefined) {
      throw new PleaError(
        FfiErrorCode.segment.outOfRange,
        `Cannot view bytes ${pos} to ${pos + length} of segment "${this.name}" as one array: they cross the border of its ${this.windowBytes}-byte windows at ${this.#range.end}; use read()`,
      );
    }
    return within;
  }

  /**
   * A view of `length` bytes from byte `pos`, wherever they lie: within one window it is that
   * window's subarray; across a border it is a view of its own over the contiguous mapping (one
   * view holds at most SHM_WINDOW_BYTES_MAX bytes). Either way no byte is copied, and `close()`
   * detaches it. This is what lets mars keep a 2.5 GiB atom that straddles the 4 GiB border of a
   * 5 GiB segment as a view instead of copying it.
   */
  view(pos: number, length: number): Uint8Array {
    this.#checkRange("view", pos, length);
    const within = this.#range.within(pos, length);
    if (within !== undefined) return within;
    if (length > SHM_WINDOW_BYTES_MAX) {
      throw new PleaError(FfiErrorCode.segment.outOfRange, `Cannot view ${length} bytes of segment "${this.name}" as one array: one view holds at most ${SHM_WINDOW_BYTES_MAX}`);
    }
    // Borrowed (no deallocator): the windows own the mapping and unmap it; this view only reads it.
    const span = toArrayBuffer(this.#address + pos, 0, length);
    this.#spans.push(span);
    return new Uint8Array(span);
  }

  /**
   * madvise(2) over bytes [pos, pos + length). `pos` must be a multiple of the page size.
   * "dontneed" on a reader's private mapping drops its private copies (the pages read the
   * object again); "remove" on a shared mapping frees the pages (they read as 0 after).
   */
  advise(advice: Madvice, pos = 0, length = this.length - pos): void {
    this.#checkRange("advise", pos, length);
    if (pos % PAGE_BYTES !== 0) {
      throw new PleaError(FfiErrorCode.segment.outOfRange, `Cannot advise segment "${this.name}" from byte ${pos}: not a multiple of the page size ${PAGE_BYTES}`);
    }
    if (length > 0) madvise(this.#address + pos, length, advice, `Cannot advise segment "${this.name}" (${advice})`);
  }

  /**
   * Removes the name, so no other process can open it; mappings stay valid until closed.
   * Idempotent, and a name already removed by the peer is fine. Returns whether this call
   * removed it. A memfd mapping has no name: false, and nothing happens (its creator closes the
   * descriptor instead, `Memfd.close()`).
   */
  unlink(): boolean {
    if (this.#unlinked) return false;
    if (this.kind === "memfd") {
      this.#unlinked = true;
      return false;
    }
    const removed = unlinkObject(this.name, this.dir, `Cannot remove segment "${this.name}"`);
    this.#unlinked = true;
    return removed;
  }

  /**
   * Detaches every view of the mapping (windows and anything made from them: they read as
   * empty afterwards) and unmaps it. Idempotent. Does not unlink the name.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Spans first: they borrow ranges the windows are about to unmap.
    for (const span of this.#spans) if (!span.detached) span.transfer(0);
    this.#spans = [];
    for (const buffer of this.#buffers) {
      // transfer(0) detaches every view of the buffer and runs its deallocator (munmap) now.
      // If someone else transferred it already, the new buffer owns the deallocator and the GC
      // unmaps it when that buffer dies: never unmap memory a view can still reach.
      if (!buffer.detached) {
        try {
          buffer.transfer(0);
        } catch {
          // A pinned buffer (a pending native read into it) cannot be detached: GC unmaps it later.
        }
      }
    }
    this.#windows = [];
    this.#range = new ByteWindows([]);
    this.#buffers = [];
    this.#address = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkRange(what: string, pos: number, length: number): void {
    if (this.#closed) {
      throw new PleaError(FfiErrorCode.segment.closed, `Cannot ${what} segment "${this.name}": it is closed`);
    }
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(length) || pos < 0 || length < 0 || pos + length > this.length) {
      throw new PleaError(
        FfiErrorCode.segment.outOfRange,
        `Cannot ${what} bytes ${pos} to ${pos + length} of segment "${this.name}": it holds ${this.length} bytes`,
      );
    }
  }
}

type ToArrayBufferWithDeallocator = (
  address: number,
  byteOffset: number,
  byteLength: number,
  deallocatorContext: number,
  deallocator: number,
) => ArrayBuffer;

/**
 * A view of `bytes` bytes at `address` whose deallocator is `munmap(address, bytes)`: the
 * undocumented 5-argument form of `toArrayBuffer` (docs/platform.md; JSC calls
 * `deallocator(bytes, context)`, so the context carries the length). Pinned by test/ffi/shm-lifetime.test.ts.
 */
export function viewOfMapping(address: number, bytes: number): ArrayBuffer {
  return (toArrayBuffer as unknown as ToArrayBufferWithDeallocator)(address, 0, bytes, bytes, MUNMAP_ADDRESS);
}

function mapObject(fd: number, name: string, length: number, mode: SegmentMode, windowBytes: number, dir: string | undefined, kind: SegmentKind = "named"): Segment {
  const flags = mode === "read" ? MAP_PRIVATE : MAP_SHARED;
  const address = mmap(length, PROT_READ | PROT_WRITE, flags, fd, `Cannot map segment "${name}" (${length} bytes)`);
  return new Segment(CONSTRUCT, name, length, mode, address, windowBytes, dir, kind);
}

/**
 * @internal For memfd.ts: maps `length` bytes of the memfd `fd` (which the caller still owns and
 * closes) as a Segment: "read" private copy-on-write, "write" and "create" shared.
 */
export function mapMemfd(fd: number, name: string, length: number, mode: SegmentMode, windowBytes = SHM_WINDOW_BYTES_MAX): Segment {
  checkLength(name, length);
  checkWindowBytes(windowBytes);
  return mapObject(fd, name, length, mode, windowBytes, undefined, "memfd");
}

/**
 * Creates the segment `name` of `length` bytes, reserves all of it, and maps it shared
 * read/write. Fails with SysError EEXIST if the name exists, ENOSPC (before creating anything)
 * if the filesystem lacks room. On any failure nothing is left behind.
 */
export function createSegment(name: string, length: number, options: CreateSegmentOptions = {}): Segment {
  checkName(name);
  checkLength(name, length);
  const windowBytes = options.windowBytes ?? SHM_WINDOW_BYTES_MAX;
  checkWindowBytes(windowBytes);
  const subject = `Cannot create segment "${name}" of ${length} bytes`;
  if (options.checkSpace !== false) checkSpace(name, length, options.dir);
  const fd = openObject(name, O_CREAT | O_EXCL | O_RDWR, SEGMENT_MODE, options.dir, subject);
  try {
    ftruncateAndReserve(fd, name, length, options.dir, subject);
    return mapObject(fd, name, length, "create", windowBytes, options.dir);
  } catch (e) {
    try {
      unlinkObject(name, options.dir, subject);
    } catch {
      // The first error is the one to report; a leftover name is swept as an orphan later.
    }
    throw e;
  } finally {
    // The mapping keeps the object alive; the descriptor is not needed once mapped.
    closeFd(fd, subject);
  }
}

/** Sets the size, then reserves every page, so a full tmpfs is ENOSPC now and never SIGBUS later. */
function ftruncateAndReserve(fd: number, name: string, length: number, dir: string | undefined, subject: string): void {
  ftruncate(fd, length, subject);
  fallocate(fd, length, subject, () => `Not enough shared memory for "${name}": ${noSpaceAdvice(length, shmSpace(dir))}`);
}

/**
 * Opens the segment `name` a peer created. Fails with SysError ENOENT if it does not exist, and
 * with `segment_too_small` if it is shorter than `options.length`.
 */
export function openSegment(name: string, options: OpenSegmentOptions): Segment {
  checkName(name);
  if (options.length !== undefined) checkLength(name, options.length);
  const windowBytes = options.windowBytes ?? SHM_WINDOW_BYTES_MAX;
  checkWindowBytes(windowBytes);
  const mode = options.mode;
  assert(mode === "read" || mode === "write", `openSegment mode must be "read" or "write", not ${String(mode)}`);
  const subject = `Cannot open segment "${name}" for ${mode === "read" ? "reading" : "writing"}`;
  const fd = openObject(name, mode === "read" ? O_RDONLY : O_RDWR, 0, options.dir, subject);
  try {
    const size = fstatSize(fd, subject);
    if (size === 0 && options.length === undefined) {
      throw new PleaError(
        FfiErrorCode.segment.tooSmall,
        `Segment "${name}" is empty: its creator has not sized it yet or truncated it; refusing to map it`,
      );
    }
    const length = options.length ?? size;
    if (size < length) {
      throw new PleaError(
        FfiErrorCode.segment.tooSmall,
        `Segment "${name}" holds ${size} bytes but its peer announced ${length}: the peer is broken or truncated it; refusing to map it (touching the missing pages would kill this process with SIGBUS)`,
      );
    }
    checkLength(name, length);
    return mapObject(fd, name, length, mode, windowBytes, options.dir);
  } finally {
    closeFd(fd, subject);
  }
}
