/**
 * `readShm`: decodes a noun from the flat noun format (docs/shm-format.md).
 *
 * The buffer comes from another process and is treated as hostile. Two linear passes, no walk on
 * the noun's shape (so no recursion and no stack proportional to depth):
 * 1. the layout pass steps from entry to entry by their word counts, checking each against the
 *    data section, and counts the entries (at most data bytes / 24);
 * 2. the decode pass re-reads and checks every field and builds each entry's noun. Post-order
 *    means a valid value names an entry already built: anything else (a later entry, the entry
 *    itself, the middle of an entry, an entry of the other kind) is an error, which also rules
 *    out cycles. The entry count from pass 1 bounds every array, so nothing is allocated beyond
 *    a constant multiple of the buffer's size, whatever its bytes say.
 * The two passes also catch a peer that changes the bytes while they are read (`shm_changed`).
 */
import { ATOM_BYTES_MAX, BigAtom, atomFromBytes, type Atom } from "../atom.ts";
import { Cell } from "../cell.ts";
import type { Noun } from "../noun.ts";
import { NounErrorCode, ShmFormatError } from "../errors.ts";
import {
  SHM_ATOM_ALIGN_BYTES,
  SHM_ATOM_ENTRY_HEADER_BYTES,
  SHM_ATOM_WORDS_MAX,
  SHM_CELL_ENTRY_BYTES,
  SHM_DATA_BYTES_AT,
  SHM_DIRECT_HI_LIMIT,
  SHM_FLAGS_AT,
  SHM_FORMAT_VERSION,
  SHM_HEADER_BYTES,
  SHM_HEADER_BYTES_AT,
  SHM_MAGIC,
  SHM_MAGIC_AT,
  SHM_MUG_MAX,
  SHM_NUMBER_HI_LIMIT,
  SHM_RESERVED_AT,
  SHM_REF_ENTRY_BYTES,
  SHM_REF_MARK,
  SHM_REF_NAME_BYTES,
  SHM_ROOT_AT,
  SHM_TAG_CELL,
  SHM_TAG_REF,
  SHM_TAG_DIRECT,
  SHM_TAG_INVALID,
  SHM_VERSION_AT,
  TWO_32,
  shmWordsGap,
  type ShmRef,
} from "./layout.ts";
import { ByteWindows, type ByteWindowsSource } from "../../byte-windows.ts";

/**
 * Offsets resolve through a dense index (one Int32 per 8 data bytes) while it costs at most this
 * many slots per entry (64 bytes: less than the nouns it indexes), else by binary search over
 * the sorted entry offsets. Measured on 1,000,000 entries: 30-70 ns per dense lookup against
 * about 300 ns per binary search and 400-500 ns per Map lookup. Data sections with few, large
 * entries (one 1 GiB atom) take the binary search and skip a 512 MiB index.
 */
const SHM_INDEX_SLOTS_PER_ENTRY_MAX = 16;
/** The dense index is at most 2^28 slots (1 GiB, for a 2 GiB data section); above, binary search. */
const SHM_INDEX_SLOTS_MAX = 2 ** 28;

export interface ReadShmOptions {
  /**
   * Large atoms become views into `source` instead of copies (read-only by contract). The caller
   * must then keep the memory valid while any returned noun refers to it; each view's BigAtom
   * carries `owner` so that this can be tracked. An atom crossing a window border is copied.
   */
  zeroCopy?: boolean;
  /** Set as `BigAtom.owner` of zero-copy views; defaults to `source`. */
  owner?: unknown;
  /**
   * With `zeroCopy`, atoms shorter than this many bytes are copied to the heap instead of viewed:
   * a small atom is not worth pinning its mapping (mars copies small file atoms off the segment
   * anyway, docs/kernel.md "Mapping lifetime"). They are packed into shared heap chunks of
   * SHM_ARENA_CHUNK_BYTES, not sliced one by one: 100,000 slices of 1 KiB cost about 0.4-0.8 s in
   * Bun (an ArrayBuffer and its GC bookkeeping each), the packed copies a few tens of ms. Default
   * 0: every atom a view.
   */
  zeroCopyBytesMin?: number;
  /**
   * Called with each zero-copy view made (`zeroCopy`): the caller learns every atom that refers to
   * `source` without walking the noun again (mars settles an event's views this way).
   */
  onView?: (a: BigAtom) => void;
  /**
   * Restore the mugs the writer stored into `Cell.mug` and `BigAtom.mug`. Off by default: a mug
   * is a cache the peer could get wrong, and a wrong cached mug would make equality and state
   * mugs wrong. Nonzero mug fields are range-checked either way.
   */
  trustMugs?: boolean;
  /**
   * The atom a blob-reference entry stands for (docs/shm-format.md, "Blob references"), e.g. a
   * sourced atom of the pier's blob store; it may throw to refuse the reference. Without it a
   * buffer holding a blob reference is refused (shm_bad_value), as version 1 refused tag 01.
   */
  resolveRef?: (ref: ShmRef) => Atom;
}

/**
 * Heap chunk that small copied atoms are packed into (`zeroCopyBytesMin`): 1 MiB, so that a live
 * small atom keeps at most 1 MiB of its neighbours' bytes alive after they are dropped, and an
 * event of 100 MiB of small files is about 100 allocations.
 */
export const SHM_ARENA_CHUNK_BYTES = 1024 * 1024;

/** Copies small atoms into shared heap chunks, each copy 8-byte aligned as the segment's views are. */
class HeapArena {
  private chunk = new Uint8Array(0);
  private used = 0;

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > SHM_ARENA_CHUNK_BYTES / 4) return bytes.slice();
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(SHM_ARENA_CHUNK_BYTES);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    out.set(bytes);
    this.used += (n + 7) & ~7;
    return out;
  }
}

/**
 * Decodes the raw noun in `source` (a buffer, windows in order, or a segment's `{ windows }`).
 * Throws `ShmFormatError` naming the byte offset of the first violation; never reads outside
 * `source`, never loops more than once per entry.
 */
export function readShm(source: ByteWindowsSource, options: ReadShmOptions = {}): Noun {
  const w = new ByteWindows(source);
  const total = w.total;
  if (total < SHM_HEADER_BYTES) {
    throw new ShmFormatError(NounErrorCode.flat.truncated, total, `the buffer is ${total} bytes, shorter than the ${SHM_HEADER_BYTES}-byte header`);
  }
  const magic = w.u32(SHM_MAGIC_AT);
  if (magic !== SHM_MAGIC) {
    throw new ShmFormatError(NounErrorCode.flat.badMagic, SHM_MAGIC_AT, `it starts with ${hex(magic)}, not "PLEA" (${hex(SHM_MAGIC)}); this is not a Plea raw noun, or it was never finished`);
  }
  const versionWord = w.u32(SHM_VERSION_AT);
  const version = versionWord & 0xffff;
  if (version !== SHM_FORMAT_VERSION) {
    throw new ShmFormatError(NounErrorCode.flat.badVersion, SHM_VERSION_AT, `it was written in format version ${version}; this build reads version ${SHM_FORMAT_VERSION}. Run urth and mars from the same Plea build`);
  }
  const headerBytes = versionWord >>> 16;
  if (headerBytes !== SHM_HEADER_BYTES) {
    throw new ShmFormatError(NounErrorCode.flat.badHeader, SHM_HEADER_BYTES_AT, `the header length is ${headerBytes}; version ${SHM_FORMAT_VERSION} writes ${SHM_HEADER_BYTES}`);
  }
  const flags = w.u32(SHM_FLAGS_AT);
  if (flags !== 0) {
    throw new ShmFormatError(NounErrorCode.flat.badHeader, SHM_FLAGS_AT, `the flags are ${hex(flags)}; version ${SHM_FORMAT_VERSION} writes 0`);
  }
  const reserved = w.u32(SHM_RESERVED_AT);
  if (reserved !== 0) {
    throw new ShmFormatError(NounErrorCode.flat.badHeader, SHM_RESERVED_AT, `the reserved field is ${hex(reserved)}; version ${SHM_FORMAT_VERSION} writes 0`);
  }
  const rootLo = w.u32(SHM_ROOT_AT);
  const rootHi = w.u32(SHM_ROOT_AT + 4);
  const dataLo = w.u32(SHM_DATA_BYTES_AT);
  const dataHi = w.u32(SHM_DATA_BYTES_AT + 4);
  const room = total - SHM_HEADER_BYTES;
  // Compare in halves first: a high half at or above 2^21 is beyond any buffer (and a double).
  const dataBytes = dataHi < SHM_NUMBER_HI_LIMIT ? dataHi * TWO_32 + dataLo : Infinity;
  if (dataBytes > room) {
    throw new ShmFormatError(NounErrorCode.flat.truncated, SHM_DATA_BYTES_AT, `the data section is ${dataBytes === Infinity ? `${hex(dataHi)}${hex(dataLo).slice(2).padStart(8, "0")}` : dataBytes} bytes but only ${room} bytes follow the header`);
  }
  if (dataBytes % 8 !== 0) {
    throw new ShmFormatError(NounErrorCode.flat.badHeader, SHM_DATA_BYTES_AT, `the data section is ${dataBytes} bytes, not a whole number of 8-byte words`);
  }

  const rootTag = rootHi >>> 30;
  if (rootTag === SHM_TAG_INVALID && options.resolveRef === undefined) {
    throw new ShmFormatError(NounErrorCode.flat.badValue, SHM_ROOT_AT, `the root value ${value64(rootLo, rootHi)} has the invalid tag 01`);
  }
  if (rootTag === SHM_TAG_DIRECT) {
    if (dataBytes !== 0) {
      throw new ShmFormatError(NounErrorCode.flat.badRoot, SHM_ROOT_AT, `the root is a direct atom but the data section holds ${dataBytes} bytes; a direct root has no entries`);
    }
    return directAtom(rootLo, rootHi);
  }
  if (dataBytes === 0) {
    throw new ShmFormatError(NounErrorCode.flat.badRoot, SHM_ROOT_AT, `the root ${value64(rootLo, rootHi)} names an entry but the data section is empty`);
  }

  const end = SHM_HEADER_BYTES + dataBytes;
  const layout = { refs: 0 };
  const count = countEntries(w, end, options.resolveRef !== undefined, layout);
  const decoder = new ShmDecoder(w, end, count, dataBytes, options, source, layout.refs);
  const lastOff = decoder.decode();

  const rootOff = (rootHi & 0x3fffffff) * TWO_32 + rootLo;
  if (rootOff !== lastOff) {
    throw new ShmFormatError(NounErrorCode.flat.badRoot, SHM_ROOT_AT, `the root names data offset ${rootOff}, but the last entry (the root, in post-order) is at data offset ${lastOff}`);
  }
  const root = decoder.nouns[count - 1];
  if ((rootTag === SHM_TAG_CELL) !== root instanceof Cell || (rootTag === SHM_TAG_REF) !== decoder.isRef(count - 1)) {
    const kind = (tag: number) => (tag === SHM_TAG_CELL ? "a cell" : tag === SHM_TAG_REF ? "a blob reference" : "an atom");
    const entryKind = root instanceof Cell ? "a cell" : decoder.isRef(count - 1) ? "a blob reference" : "an atom";
    throw new ShmFormatError(NounErrorCode.flat.badRoot, SHM_ROOT_AT, `the root is tagged as ${kind(rootTag)} but its entry is ${entryKind}`);
  }
  return root;
}

/**
 * Pass 1: checks that entries tile [header, end) exactly and counts them (blob references in
 * `layout.refs`; refused at once when `refsAllowed` is false).
 */
function countEntries(w: ByteWindows, end: number, refsAllowed: boolean, layout: { refs: number }): number {
  let count = 0;
  let pos = SHM_HEADER_BYTES;
  while (pos < end) {
    const lo = w.u32(pos);
    const hi = w.u32(pos + 4);
    const next = entryEnd(w, pos, lo, hi, end);
    if (next - pos === SHM_REF_ENTRY_BYTES && (lo | hi) !== 0 && w.u32(pos + 12) === SHM_REF_MARK) {
      if (!refsAllowed) {
        throw new ShmFormatError(NounErrorCode.flat.badValue, pos, `the entry is a blob reference, and this reader was given no blob store to resolve it`);
      }
      layout.refs++;
    }
    pos = next;
    count++;
  }
  return count;
}

/**
 * The end of the entry at `pos` whose first word is [lo, hi], checked against `end`. For an
 * atom this reads its gap field, which must be a whole number of words below one page.
 */
function entryEnd(w: ByteWindows, pos: number, lo: number, hi: number, end: number): number {
  if ((lo | hi) === 0) {
    if (pos + SHM_CELL_ENTRY_BYTES > end) {
      throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the cell entry runs past the end of the data section at byte ${end}`);
    }
    return pos + SHM_CELL_ENTRY_BYTES;
  }
  if (pos + SHM_ATOM_ENTRY_HEADER_BYTES > end) {
    throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the atom entry runs past the end of the data section at byte ${end}`);
  }
  const gap = w.u32(pos + 12);
  if (gap === SHM_REF_MARK) {
    // A blob reference: fixed size; its fields are checked by the decode pass.
    if (pos + SHM_REF_ENTRY_BYTES > end) {
      throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the blob-reference entry runs past the end of the data section at byte ${end}`);
    }
    return pos + SHM_REF_ENTRY_BYTES;
  }
  if (hi !== 0 || lo > SHM_ATOM_WORDS_MAX) {
    throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the atom entry claims ${value64(lo, hi)} words; an atom has at most ${SHM_ATOM_WORDS_MAX}`);
  }
  if (gap % 8 !== 0 || gap >= SHM_ATOM_ALIGN_BYTES) {
    throw new ShmFormatError(NounErrorCode.flat.badEntry, pos + 12, `the atom's gap is ${gap} bytes; a gap is a multiple of 8 below ${SHM_ATOM_ALIGN_BYTES}`);
  }
  const next = pos + SHM_ATOM_ENTRY_HEADER_BYTES + gap + lo * 8;
  if (next > end) {
    throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the atom entry of ${lo} words (gap ${gap}) runs to byte ${next}, past the end of the data section at byte ${end}`);
  }
  return next;
}

/** Pass 2: builds the nouns entry by entry. */
class ShmDecoder {
  readonly nouns: Noun[];
  /** Dense index: entry number + 1 at (data offset / 8), 0 where no entry starts. */
  private readonly index: Int32Array | undefined;
  /** Sparse index: data offsets of the entries built so far (ascending). */
  private readonly offsets: Float64Array | undefined;
  /** Entries built so far. */
  private built = 0;
  private readonly zeroCopy: boolean;
  private readonly trustMugs: boolean;
  private readonly owner: unknown;
  private readonly zeroCopyBytesMin: number;
  private readonly onView: ((a: BigAtom) => void) | undefined;
  private readonly arena = new HeapArena();
  /** Per entry, 1 for a blob reference; undefined when the buffer holds none. */
  private readonly refKinds: Uint8Array | undefined;
  private readonly resolveRef: ((ref: ShmRef) => Atom) | undefined;

  constructor(
    private readonly w: ByteWindows,
    private readonly end: number,
    private readonly count: number,
    dataBytes: number,
    options: ReadShmOptions,
    source: ByteWindowsSource,
    refs: number,
  ) {
    this.nouns = new Array(count);
    this.refKinds = refs > 0 ? new Uint8Array(count) : undefined;
    this.resolveRef = options.resolveRef;
    const slots = dataBytes / 8;
    if (slots <= count * SHM_INDEX_SLOTS_PER_ENTRY_MAX && slots <= SHM_INDEX_SLOTS_MAX) this.index = new Int32Array(slots);
    else this.offsets = new Float64Array(count);
    this.zeroCopy = options.zeroCopy === true;
    this.trustMugs = options.trustMugs === true;
    this.owner = options.owner === undefined ? source : options.owner;
    this.zeroCopyBytesMin = options.zeroCopyBytesMin ?? 0;
    this.onView = options.onView;
  }

  /** True when entry `i` is a blob reference. */
  isRef(i: number): boolean {
    return this.refKinds !== undefined && this.refKinds[i] === 1;
  }

  /** Decodes every entry; returns the data offset of the last one. */
  decode(): number {
    const w = this.w;
    const end = this.end;
    const nouns = this.nouns;
    const index = this.index;
    const offsets = this.offsets;
    const trustMugs = this.trustMugs;
    let pos = SHM_HEADER_BYTES;
    let last = 0;
    let i = 0;
    while (pos < end) {
      if (i === this.count) throw changed(pos);
      const off = pos - SHM_HEADER_BYTES;
      let lenLo: number, lenHi: number, mug: number, pad: number;
      let noun: Noun;
      if (pos >= w.base && pos + SHM_CELL_ENTRY_BYTES <= w.end && pos + SHM_CELL_ENTRY_BYTES <= end) {
        // Fast path: the whole entry head lies in the current window.
        const dv = w.view;
        const l = pos - w.base;
        lenLo = dv.getUint32(l, true);
        lenHi = dv.getUint32(l + 4, true);
        mug = dv.getUint32(l + 8, true);
        pad = dv.getUint32(l + 12, true);
        if ((lenLo | lenHi) === 0 && pad === 0 && mug <= SHM_MUG_MAX) {
          const hl = dv.getUint32(l + 16, true);
          const hh = dv.getUint32(l + 20, true);
          const tl = dv.getUint32(l + 24, true);
          const th = dv.getUint32(l + 28, true);
          const head = hh < SHM_NUMBER_HI_LIMIT ? hh * TWO_32 + hl : this.resolve(hl, hh, pos + 16, off);
          const tail = th < SHM_NUMBER_HI_LIMIT ? th * TWO_32 + tl : this.resolve(tl, th, pos + 24, off);
          const c = new Cell(head, tail);
          if (trustMugs && mug !== 0) c.mug = mug;
          nouns[i] = c;
          if (index !== undefined) index[off / 8] = i + 1;
          else offsets![i] = off;
          this.built = ++i;
          last = off;
          pos += SHM_CELL_ENTRY_BYTES;
          continue;
        }
      } else {
        lenLo = w.u32(pos);
        lenHi = w.u32(pos + 4);
        entryEnd(w, pos, lenLo, lenHi, end); // before reading on: the entry must fit
        mug = w.u32(pos + 8);
        pad = w.u32(pos + 12);
      }
      // Checked again here: the peer may have changed the bytes since the layout pass.
      const next = entryEnd(w, pos, lenLo, lenHi, end);
      const isCell = (lenLo | lenHi) === 0;
      if (!isCell && pad === SHM_REF_MARK && next - pos === SHM_REF_ENTRY_BYTES) {
        if (this.refKinds === undefined) throw changed(pos);
        nouns[i] = this.ref(pos, lenLo, lenHi, mug);
        this.refKinds[i] = 1;
        if (index !== undefined) index[off / 8] = i + 1;
        else offsets![i] = off;
        this.built = ++i;
        last = off;
        pos = next;
        continue;
      }
      if (isCell && pad !== 0) {
        throw new ShmFormatError(NounErrorCode.flat.badPadding, pos + 12, `the cell's pad field is ${hex(pad)}, not 0`);
      }
      if (mug > SHM_MUG_MAX) {
        throw new ShmFormatError(NounErrorCode.flat.badMug, pos + 8, `the mug ${hex(mug)} is above 31 bits`);
      }
      if (isCell) {
        const head = this.resolve(w.u32(pos + 16), w.u32(pos + 20), pos + 16, off);
        const tail = this.resolve(w.u32(pos + 24), w.u32(pos + 28), pos + 24, off);
        const c = new Cell(head, tail);
        if (trustMugs && mug !== 0) c.mug = mug;
        noun = c;
      } else {
        // The gap as entryEnd validated it (a re-read could differ if the peer is writing).
        noun = this.atom(pos, lenLo, mug, next - pos - SHM_ATOM_ENTRY_HEADER_BYTES - lenLo * 8);
      }
      nouns[i] = noun;
      if (index !== undefined) index[off / 8] = i + 1;
      else offsets![i] = off;
      this.built = ++i;
      last = off;
      pos = next;
    }
    if (i !== this.count) throw changed(pos);
    return last;
  }

  /** The atom a blob-reference entry at `pos` stands for, its fields checked first. */
  private ref(pos: number, lenLo: number, lenHi: number, mug: number): Atom {
    const w = this.w;
    const byteLength = lenHi < SHM_NUMBER_HI_LIMIT ? lenHi * TWO_32 + lenLo : Infinity;
    if (byteLength > ATOM_BYTES_MAX) {
      throw new ShmFormatError(NounErrorCode.flat.badEntry, pos, `the blob reference claims ${value64(lenLo, lenHi)} bytes; an atom has at most ${ATOM_BYTES_MAX}`);
    }
    if (mug === 0 || mug > SHM_MUG_MAX) {
      throw new ShmFormatError(NounErrorCode.flat.badMug, pos + 8, `the blob reference's mug is ${hex(mug)}; it must be nonzero and at most 31 bits`);
    }
    const bitLo = w.u32(pos + 16);
    const bitHi = w.u32(pos + 20);
    const bitLength = bitHi < SHM_NUMBER_HI_LIMIT ? bitHi * TWO_32 + bitLo : Infinity;
    if (bitLength <= 62 || bitLength <= (byteLength - 1) * 8 || bitLength > byteLength * 8) {
      throw new ShmFormatError(
        NounErrorCode.flat.atomNotCanonical,
        pos + 16,
        `the blob reference's bit length ${bitLength === Infinity ? value64(bitLo, bitHi) : bitLength} does not fit its ${byteLength} bytes, or is an atom that must be written direct`,
      );
    }
    const name = new Uint8Array(SHM_REF_NAME_BYTES);
    w.copyOut(pos + 24, name);
    return this.resolveRef!({ name, byteLength, bitLength, mug });
  }

  /** The atom of the entry at `pos` with `words` words after `gap` bytes (checked to fit). */
  private atom(pos: number, words: number, mug: number, gap: number): Noun {
    const w = this.w;
    const start = pos + SHM_ATOM_ENTRY_HEADER_BYTES + gap;
    const lastAt = start + (words - 1) * 8;
    const wlo = w.u32(lastAt);
    const whi = w.u32(lastAt + 4);
    if ((wlo | whi) === 0) {
      throw new ShmFormatError(NounErrorCode.flat.atomNotCanonical, lastAt, `the atom's last word is zero; atom words carry no trailing zero word`);
    }
    if (words === 1 && whi < SHM_DIRECT_HI_LIMIT) {
      throw new ShmFormatError(NounErrorCode.flat.atomNotCanonical, pos, `the atom entry holds ${value64(wlo, whi)}, which is below 2^62 and must be written as a direct value`);
    }
    const byteLength = (words - 1) * 8 + (whi !== 0 ? 8 - (Math.clz32(whi) >> 3) : 4 - (Math.clz32(wlo) >> 3));
    const expected = shmWordsGap(pos, byteLength);
    if (gap !== expected) {
      throw new ShmFormatError(NounErrorCode.flat.atomNotCanonical, pos + 12, `the gap of an atom of ${byteLength} bytes at byte ${pos} is ${expected}, not ${gap}`);
    }
    for (let i = pos + SHM_ATOM_ENTRY_HEADER_BYTES; i < start; i += 4) {
      if (w.u32(i) !== 0) throw new ShmFormatError(NounErrorCode.flat.badPadding, i, `the gap before the atom's words is not zero`);
    }
    let a: Noun;
    const view = w.viewOf(start, byteLength);
    if (view !== undefined) {
      // slice, not new + set: it skips zero-filling the copy first (measured 1.5-4x faster at
      // 256 MiB; what remains is the page faults of the fresh memory).
      if (!this.zeroCopy) a = atomFromBytes(view.slice());
      else if (byteLength < this.zeroCopyBytesMin) a = atomFromBytes(this.arena.copy(view));
      else {
        a = atomFromBytes(view, this.owner);
        if (a instanceof BigAtom) this.onView?.(a);
      }
    } else {
      const copy = new Uint8Array(byteLength);
      w.copyOut(start, copy);
      a = atomFromBytes(copy);
    }
    if (this.trustMugs && mug !== 0 && a instanceof BigAtom) a.mug = mug;
    return a;
  }

  /** The noun a value names, checked. `at` is the value's byte position, `self` the current
   * entry's data offset (a reference must be below it). */
  private resolve(lo: number, hi: number, at: number, self: number): Noun {
    const tag = hi >>> 30;
    if (tag === SHM_TAG_DIRECT) return directAtom(lo, hi);
    const refKinds = this.refKinds;
    if (tag === SHM_TAG_INVALID && refKinds === undefined) {
      throw new ShmFormatError(NounErrorCode.flat.badValue, at, `the value ${value64(lo, hi)} has the tag 01 of a blob reference, and the buffer holds none this reader can resolve`);
    }
    const off = (hi & 0x3fffffff) * TWO_32 + lo;
    if (off >= self || off % 8 !== 0) {
      throw new ShmFormatError(NounErrorCode.flat.badReference, at, `the value names data offset ${off}, which is not an entry before this one (at data offset ${self})`);
    }
    let j: number;
    if (this.index !== undefined) {
      j = this.index[off / 8] - 1;
    } else {
      j = search(this.offsets!, this.built, off);
    }
    if (j < 0) {
      throw new ShmFormatError(NounErrorCode.flat.badReference, at, `the value names data offset ${off}, which is inside an entry, not at its start`);
    }
    const n = this.nouns[j];
    if ((tag === SHM_TAG_CELL) !== n instanceof Cell || (refKinds !== undefined && (tag === SHM_TAG_REF) !== (refKinds[j] === 1))) {
      const kind = tag === SHM_TAG_CELL ? "a cell" : tag === SHM_TAG_REF ? "a blob reference" : "an atom";
      const held = n instanceof Cell ? "a cell" : refKinds !== undefined && refKinds[j] === 1 ? "a blob reference" : "an atom";
      throw new ShmFormatError(NounErrorCode.flat.badReference, at, `the value is tagged as ${kind} but data offset ${off} holds ${held}`);
    }
    return n;
  }
}

/** The index of `off` among the first `n` ascending offsets, or -1. */
function search(offsets: Float64Array, n: number, off: number): number {
  // Post-order puts a child right before its parent more often than not.
  if (n > 0 && offsets[n - 1] === off) return n - 1;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid] < off) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && offsets[lo] === off ? lo : -1;
}

/** A direct value (tag 00, below 2^62) as an atom: a number up to 2^53 - 1, else a BigAtom. */
function directAtom(lo: number, hi: number): Noun {
  if (hi < SHM_NUMBER_HI_LIMIT) return hi * TWO_32 + lo;
  const bytes = new Uint8Array(8);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, lo, true);
  dv.setUint32(4, hi, true);
  return atomFromBytes(bytes);
}

function changed(pos: number): ShmFormatError {
  return new ShmFormatError(NounErrorCode.flat.changed, pos, `the entries changed between the two passes over them; the peer must finish writing before the reader starts`);
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

function value64(lo: number, hi: number): string {
  return "0x" + hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
