/**
 * A byte range made of one or more windows, addressed by one position.
 *
 * One typed array (and one `toArrayBuffer` view of a mapping) holds at most 4 GiB
 * (docs/platform.md), so a range above that, such as a 5 GiB shared-memory segment, is several
 * windows laid end to end. This is the one place that walks across their borders: a segment
 * (src/ffi/shm.ts) copies in and out with it, and the flat noun format (src/noun/flat/) reads and
 * writes its fields with it. It knows neither; it depends on nothing but `assert`.
 *
 * Every window but the last must be a multiple of 8 bytes long: then every u32 or u64 at a
 * multiple of its own size lies inside one window (the flat format's fields all do), so `u32`
 * and `setU32` never straddle a border, and only bulk copies are split. The cursor (`view`,
 * `base`, `end`) caches the window last used, because writers and readers both move forward
 * through the range; hot loops read those fields directly.
 */
import { assert } from "./error.ts";

/** What `ByteWindows` accepts: a buffer, windows in order, or a segment's windows. */
export type ByteWindowsSource =
  | Uint8Array
  | readonly Uint8Array[]
  | {
      readonly windows: readonly Uint8Array[];
      /** A view of any range, window borders included (a Segment has one): zero-copy across them. */
      view?(pos: number, length: number): Uint8Array;
    };

export class ByteWindows {
  readonly windows: Uint8Array[];
  readonly views: DataView[];
  /** Position of each window's first byte (strictly increasing: empty windows are dropped). */
  readonly starts: number[];
  /** Total bytes. */
  readonly total: number;
  /** The cursor: the window holding the last position used. */
  index = 0;
  bytes: Uint8Array;
  view: DataView;
  base = 0;
  end: number;

  /** The source's own view across window borders, if it has one. */
  private readonly spanner: ((pos: number, length: number) => Uint8Array) | undefined;

  constructor(source: ByteWindowsSource) {
    const viewer = source instanceof Uint8Array || Array.isArray(source) ? undefined : (source as { view?(pos: number, length: number): Uint8Array }).view;
    this.spanner = viewer === undefined ? undefined : (pos, length) => viewer.call(source, pos, length);
    const list: readonly Uint8Array[] =
      source instanceof Uint8Array ? [source] : Array.isArray(source) ? (source as readonly Uint8Array[]) : (source as { windows: readonly Uint8Array[] }).windows;
    this.windows = list.filter((w) => w.length > 0);
    if (this.windows.length === 0) this.windows.push(new Uint8Array(0));
    this.views = [];
    this.starts = [];
    let total = 0;
    for (let i = 0; i < this.windows.length; i++) {
      const w = this.windows[i];
      if (i < this.windows.length - 1 && w.length % 8 !== 0) {
        throw new RangeError(`Window ${i} is ${w.length} bytes; every window but the last must be a multiple of 8 bytes`);
      }
      this.views.push(new DataView(w.buffer, w.byteOffset, w.byteLength));
      this.starts.push(total);
      total += w.length;
    }
    this.total = total;
    this.bytes = this.windows[0];
    this.view = this.views[0];
    this.end = this.windows[0].length;
  }

  /** Moves the cursor to the window holding `pos` (0 <= pos < total). */
  seek(pos: number): void {
    assert(pos >= 0 && pos < this.total, `position ${pos} outside ${this.total} bytes`);
    const starts = this.starts;
    let i = this.index;
    if (pos < this.base || pos >= this.end) {
      // Forward to the next window is the common move; anything else is a binary search.
      if (pos >= this.end && pos < this.endOf(i + 1)) {
        i++;
      } else {
        let lo = 0;
        let hi = starts.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >>> 1;
          if (starts[mid] <= pos) lo = mid;
          else hi = mid - 1;
        }
        i = lo;
      }
    }
    this.index = i;
    this.bytes = this.windows[i];
    this.view = this.views[i];
    this.base = starts[i];
    this.end = this.base + this.windows[i].length;
  }

  u32(pos: number): number {
    if (pos < this.base || pos >= this.end) this.seek(pos);
    return this.view.getUint32(pos - this.base, true);
  }

  setU32(pos: number, value: number): void {
    if (pos < this.base || pos >= this.end) this.seek(pos);
    this.view.setUint32(pos - this.base, value, true);
  }

  /** The byte at `pos`. */
  byte(pos: number): number {
    if (pos < this.base || pos >= this.end) this.seek(pos);
    return this.bytes[pos - this.base];
  }

  /**
   * Moves the cursor to the window holding `pos` and returns how many of the `length` bytes from
   * `pos` lie in it (at least 1 when length > 0): the one step every walk across borders takes.
   */
  run(pos: number, length: number): number {
    this.seek(pos);
    return Math.min(length, this.end - pos);
  }

  /** Copies `src` to [pos, pos + src.length): one `set` per window it touches. */
  copyIn(pos: number, src: Uint8Array): void {
    for (let done = 0, n = 0; done < src.length; done += n) {
      n = this.run(pos + done, src.length - done);
      this.bytes.set(n === src.length ? src : src.subarray(done, done + n), pos + done - this.base);
    }
  }

  /** Copies [pos, pos + dst.length) into `dst`: one `set` per window it touches. */
  copyOut(pos: number, dst: Uint8Array): void {
    for (let done = 0, n = 0; done < dst.length; done += n) {
      n = this.run(pos + done, dst.length - done);
      const at = pos + done - this.base;
      dst.set(this.bytes.subarray(at, at + n), done);
    }
  }

  /** Zeroes [pos, pos + length). */
  fillZero(pos: number, length: number): void {
    for (let done = 0, n = 0; done < length; done += n) {
      n = this.run(pos + done, length - done);
      const at = pos + done - this.base;
      this.bytes.fill(0, at, at + n);
    }
  }

  /** The range [pos, pos + length) as a subarray of its window when it lies in one, else undefined. */
  within(pos: number, length: number): Uint8Array | undefined {
    if (length === 0 && pos === this.total) {
      // An empty range at the very end is still a view of the last window, like any other.
      const last = this.windows[this.windows.length - 1];
      return last.subarray(last.length);
    }
    this.seek(pos);
    if (pos + length > this.end) return undefined;
    return this.bytes.subarray(pos - this.base, pos - this.base + length);
  }

  /**
   * The range [pos, pos + length) as one view: a subarray of its window, or across a border the
   * source's own `view` when it has one. Undefined when it crosses a border and the source has none.
   */
  viewOf(pos: number, length: number): Uint8Array | undefined {
    return this.within(pos, length) ?? this.spanner?.(pos, length);
  }

  /** Where window `i` ends (the total past the last window). */
  private endOf(i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1] : this.total;
  }
}
