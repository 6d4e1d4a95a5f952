/**
 * A byte range made of one or more windows, addressed by one position.
 *
 * One typed array (and one `toArrayBuffer` view of a mapping) holds at most 4 GiB
 * (../shared/reference/bun-platform.md), so a segment above that is several windows laid end to
 * end. Every window but the last must be a multiple of 8 bytes long: then every u64 field of the
 * format, being 8-byte aligned, lies inside one window, and only atom words can cross a border.
 * The cursor (`view`, `base`, `end`) caches the window last used, because the writer and the
 * reader both move forward through the range.
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
  /** Position of each window's first byte. */
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
    let i = this.index;
    while (pos >= this.starts[i] + this.windows[i].length) i++;
    while (pos < this.starts[i]) i--;
    this.index = i;
    this.bytes = this.windows[i];
    this.view = this.views[i];
    this.base = this.starts[i];
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

  /** Copies `src` to [pos, pos + src.length): one `set` per window it touches. */
  copyIn(pos: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      this.seek(pos + done);
      const at = pos + done - this.base;
      const n = Math.min(src.length - done, this.bytes.length - at);
      this.bytes.set(n === src.length ? src : src.subarray(done, done + n), at);
      done += n;
    }
  }

  /** Copies [pos, pos + dst.length) into `dst`. */
  copyOut(pos: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      this.seek(pos + done);
      const at = pos + done - this.base;
      const n = Math.min(dst.length - done, this.bytes.length - at);
      dst.set(this.bytes.subarray(at, at + n), done);
      done += n;
    }
  }

  /** Zeroes [pos, pos + length). */
  fillZero(pos: number, length: number): void {
    let done = 0;
    while (done < length) {
      this.seek(pos + done);
      const at = pos + done - this.base;
      const n = Math.min(length - done, this.bytes.length - at);
      this.bytes.fill(0, at, at + n);
      done += n;
    }
  }

  /** The range [pos, pos + length) as one view when it lies in one window, else undefined. */
  viewOf(pos: number, length: number): Uint8Array | undefined {
    if (length === 0) return new Uint8Array(0);
    this.seek(pos);
    if (pos + length > this.end) return this.spanner?.(pos, length);
    return this.bytes.subarray(pos - this.base, pos - this.base + length);
  }

  /** The byte at `pos`. */
  byte(pos: number): number {
    if (pos < this.base || pos >= this.end) this.seek(pos);
    return this.bytes[pos - this.base];
  }
}
