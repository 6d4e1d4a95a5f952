/**
 * The cue decoder: vere's cue as a push state machine over chunks of input, shared by `cue`
 * (one chunk, then the end) and `cueFromChunks`.
 *
 * Format (docs/nouns.md, "cue"): tag `0` = atom (rub),
 * `1 0` = cell (head, then tail), `1 1` = backreference (rub of the offset). Every atom and
 * cell is recorded at the bit offset of its tag; backreferences are not recorded. Like vere we
 * accept non-minimal atom lengths, atoms written out again instead of referenced, and bits after
 * the root. Unlike vere, input that ends before the noun does is an error (vere reads zeros).
 *
 * Bounds, so that hostile input fails fast and small:
 * - every token consumes at least one bit, so decoding ends within 8 steps per input byte;
 * - an atom's length is checked against the input left (or, streaming, against ATOM_BYTES_MAX)
 *   before anything is allocated, and while streaming its buffer grows only as its bytes arrive;
 * - length prefixes of 64 or more zeros are refused (vere's limit), as are backreferences to
 *   offsets where no finished noun starts (which includes the cells being decoded);
 * - all walks are loops over explicit stacks.
 * Memory beyond the decoded noun: the dictionary (offset and noun per atom and cell), the stack
 * of unfinished cells, and at most 22 bytes carried between chunks (CUE_TOKEN_BITS_MAX); chunks
 * are not retained after `push` returns.
 */
import { assert } from "../error.ts";
import { ATOM_BYTES_MAX, atomFromBytes, type Atom } from "./atom.ts";
import { copyBitsToWords, ctz32, readBits32, readBitsNumber, roundUpToWord } from "./bits.ts";
import { Cell } from "./cell.ts";
import { CueError, NounErrorCode } from "./errors.ts";
import type { Noun } from "./noun.ts";

/**
 * Most bits a token can need in hand before it is decoded or refused: a 2-bit tag, a length
 * prefix of up to 53 zeros, a 1 and 52 length bits (a longer one is refused at once), and a value
 * of up to 53 bits (longer ones are copied as they come). A suspended token therefore leaves at
 * most ceil(161 / 8) + 1 = 22 bytes unread.
 */
const CUE_TOKEN_BITS_MAX = 2 + 53 + 1 + 52 + 53;
/** Bytes of a new chunk joined to the carried tail to decode across the seam. */
const CUE_BRIDGE_BYTES = 64;
assert(CUE_BRIDGE_BYTES * 8 >= CUE_TOKEN_BITS_MAX, "the cue bridge must hold a whole token");
/** First buffer for a large atom arriving in chunks; it doubles as its bytes arrive. */
const CUE_ATOM_BUFFER_BYTES_MIN = 64 * 1024;
/** Initial dictionary capacity (entries). */
const CUE_DICTIONARY_ENTRIES_INITIAL = 1024;
/** Atoms of up to this many bits are read straight into a number. */
const DIRECT_ATOM_BITS_MAX = 53;
/** Largest atom in bits. */
const ATOM_BITS_MAX = ATOM_BYTES_MAX * 8;

const EMPTY = new Uint8Array(0);

/** A large atom whose bits are being copied out of the input. */
interface AtomBody {
  /** Bit offset of its tag (for messages). */
  tagBit: number;
  /** Dictionary entry to fill when it is complete. */
  entry: number;
  /** Bits claimed. */
  bits: number;
  /** Bits copied so far (a multiple of 32 until the last step). */
  done: number;
  dest: Uint8Array;
  destWords: Uint32Array;
}

export interface CueDecoderOptions {
  /**
   * The input's total length in bytes, when known in advance (a newt frame's length, a blob
   * file's size). A large atom's claimed length is then checked against the input that remains
   * and its buffer allocated once, whole: no doubling, no copies, 1x the atom in memory.
   */
  inputBytes?: number;
  /**
   * Jam with refs (docs/nouns.md, "Jam with refs"): bit offset -> the atom to return there. Each
   * offset must hold an atom-0 placeholder, which decodes as the given atom (and is recorded at
   * that offset, so later backrefs to it return it too). An offset where the jam holds anything
   * else, or that decoding never reaches, is a CueError (cue_ref_unmatched).
   */
  substitute?: ReadonlyMap<number, Atom>;
}

export class CueDecoder {
  /** Total input in bits when known (CueDecoderOptions.inputBytes), else Infinity. */
  private readonly inputBits: number;
  /** Input in hand: the carried tail, a bridge, or the current chunk. */
  private win: Uint8Array = EMPTY;
  /** Absolute bit offset of `win[0]`. */
  private winBit0 = 0;
  /** Next bit to read, within `win`. */
  private p = 0;
  private ended = false;
  // Dictionary: ascending offsets and the noun at each (undefined until finished).
  private offsets = new Float64Array(CUE_DICTIONARY_ENTRIES_INITIAL);
  private readonly nouns: (Noun | undefined)[] = [];
  private count = 0;
  // Stack of unfinished cells: dictionary entry, and head once decoded.
  private readonly entries: number[] = [];
  private readonly heads: (Noun | undefined)[] = [];
  private depth = 0;
  private body: AtomBody | null = null;
  private result: Noun | undefined = undefined;
  /** Length from the last `rub`. */
  private rubBits = 0;
  // Substitutions, by ascending offset; `nextSub` is the next one's offset (Infinity: none left).
  private readonly subOffsets: number[] = [];
  private readonly subAtoms: Atom[] = [];
  private subIndex = 0;
  private nextSub = Infinity;

  constructor(options: CueDecoderOptions = {}) {
    this.inputBits = options.inputBytes === undefined ? Infinity : options.inputBytes * 8;
    const substitute = options.substitute;
    if (substitute !== undefined && substitute.size > 0) {
      for (const offset of substitute.keys()) {
        if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`A substitution offset is a bit offset; got ${offset}`);
        this.subOffsets.push(offset);
      }
      this.subOffsets.sort((a, b) => a - b);
      for (const offset of this.subOffsets) this.subAtoms.push(substitute.get(offset)!);
      this.nextSub = this.subOffsets[0];
    }
  }

  /** True once the root noun is complete (later input is ignored, as vere ignores it). */
  get done(): boolean {
    return this.result !== undefined;
  }

  /** The decoded noun; only once `done`. */
  get noun(): Noun {
    assert(this.result !== undefined, "CueDecoder.noun read before the noun was complete");
    return this.result;
  }

  /**
   * Feeds the next chunk of input. Returns true once the noun is complete. Throws `CueError` on
   * bytes that cannot be a jam; running out of input is not an error until `end`. After a
   * CueError the decoder is spent: start a new one. The chunk is not retained: its owner may
   * reuse it once this returns.
   */
  push(chunk: Uint8Array): boolean {
    if (this.result !== undefined) return true;
    assert(!this.ended, "CueDecoder.push after end");
    if (chunk.length === 0) return false;
    const tail = this.win;
    if (tail.length === 0) {
      this.win = chunk;
      this.run();
    } else if (chunk.length <= CUE_BRIDGE_BYTES) {
      this.win = concat(tail, chunk);
      this.run();
    } else {
      // Decode across the seam from a small bridge, then switch to the chunk itself, so that a
      // large chunk is never copied.
      this.win = concat(tail, chunk.subarray(0, CUE_BRIDGE_BYTES));
      this.run();
      if (this.result === undefined) {
        const seam = tail.length * 8;
        assert(this.p >= seam, "cue bridge stopped before the seam");
        this.winBit0 += seam;
        this.p -= seam;
        this.win = chunk;
        this.run();
      }
    }
    if (this.result !== undefined) return true;
    // Keep only the unread tail (a copy: the chunk's owner may reuse it).
    const keep = Math.floor(this.p / 8);
    this.winBit0 += keep * 8;
    this.p -= keep * 8;
    this.win = this.win.slice(keep);
    return false;
  }

  /**
   * Declares the end of input (after `last`, if given) and returns the noun. Throws `CueError`
   * (cue_truncated) if the input ended before the noun did.
   */
  end(last?: Uint8Array): Noun {
    if (this.result !== undefined) return this.result;
    assert(!this.ended, "CueDecoder.end called twice");
    if (last !== undefined && last.length > 0) {
      this.win = this.win.length === 0 ? last : concat(this.win, last);
    }
    this.ended = true;
    this.run();
    assert(this.result !== undefined, "cue ran out of input without saying so");
    return this.result;
  }

  private run(): void {
    while (this.result === undefined) {
      if (this.body !== null) {
        if (!this.stepBody()) return;
      } else if (!this.token()) {
        return;
      }
    }
  }

  /**
   * Decodes one tag and what follows it (all of it but a large atom's bits). Returns false,
   * having changed nothing, when the token runs past the input in hand and more may come; once
   * the input has ended that is a `cue_truncated` error instead.
   */
  private token(): boolean {
    const win = this.win;
    const p = this.p;
    const limit = win.length * 8;
    const tagBit = this.winBit0 + p;
    if (p >= limit) return this.short(tagBit, "where a noun should start");
    if (tagBit >= this.nextSub) return this.substituteAt(tagBit);
    const x = readBits32(win, p);
    if ((x & 1) === 0) {
      const at = this.rub(p + 1, tagBit);
      if (at < 0) return false;
      const bits = this.rubBits;
      if (bits > DIRECT_ATOM_BITS_MAX) return this.startBody(tagBit, at, bits);
      if (at + bits > limit) return this.short(tagBit, `inside the ${bits}-bit atom that starts there`);
      const value = readBitsNumber(win, at, bits);
      this.p = at + bits;
      this.record(tagBit, value);
      this.deliver(value);
    } else if ((x & 2) === 0) {
      if (p + 2 > limit) return this.short(tagBit, "inside a tag");
      this.p = p + 2;
      this.entries[this.depth] = this.record(tagBit, undefined);
      this.heads[this.depth] = undefined;
      this.depth++;
    } else {
      if (p + 2 > limit) return this.short(tagBit, "inside a tag");
      const at = this.rub(p + 2, tagBit);
      if (at < 0) return false;
      const bits = this.rubBits;
      if (bits > DIRECT_ATOM_BITS_MAX) {
        throw new CueError(NounErrorCode.cue.backrefUnknown, tagBit, `Backreference at bit ${tagBit} has a ${bits}-bit offset; no input is that long`);
      }
      if (at + bits > limit) return this.short(tagBit, "inside the backreference that starts there");
      const offset = readBitsNumber(win, at, bits);
      this.p = at + bits;
      if (this.depth === 0) {
        throw new CueError(NounErrorCode.cue.backrefTopLevel, tagBit, `The noun at bit ${tagBit} is a backreference (to bit ${offset}), but it is the root: there is nothing before it to refer to`);
      }
      this.deliver(this.lookup(offset, tagBit));
    }
    return true;
  }

  /** A token at or past the next substitution's offset: its placeholder, or a damaged jam. */
  private substituteAt(tagBit: number): boolean {
    const offset = this.nextSub;
    if (tagBit > offset) {
      throw new CueError(NounErrorCode.cue.refUnmatched, offset, `The ref table names bit ${offset}, where no noun of the jam starts; the jam or its ref table is damaged`);
    }
    const p = this.p;
    if (p + 2 > this.win.length * 8) return this.short(tagBit, "inside a placeholder");
    if ((readBits32(this.win, p) & 3) !== 2) {
      throw new CueError(NounErrorCode.cue.refUnmatched, offset, `The ref table names bit ${offset}, where the jam holds something other than the atom-0 placeholder; the jam or its ref table is damaged`);
    }
    this.p = p + 2;
    const value = this.subAtoms[this.subIndex++];
    this.nextSub = this.subIndex < this.subOffsets.length ? this.subOffsets[this.subIndex] : Infinity;
    this.record(tagBit, value);
    this.deliver(value);
    return true;
  }

  /**
   * Reads a length prefix at bit `q` (vere's rub): c zeros, a 1, then the low c-1 bits of the
   * length b (whose top bit is implied). Sets `rubBits` = b and returns the bit after the prefix,
   * or -1 when the prefix runs past the input in hand (see `short`).
   */
  private rub(q: number, tagBit: number): number {
    const win = this.win;
    const limit = win.length * 8;
    const x = readBits32(win, q);
    let c: number;
    if (x !== 0) {
      c = ctz32(x);
    } else {
      const y = readBits32(win, q + 32);
      if (y === 0) {
        if (q + 64 > limit) {
          this.short(tagBit, "inside a length prefix");
          return -1;
        }
        throw new CueError(NounErrorCode.cue.lengthPrefixTooLong, tagBit, `Length prefix at bit ${q} starts with 64 or more zeros; no atom is that long`);
      }
      c = 32 + ctz32(y);
    }
    if (q + c + 1 > limit) {
      this.short(tagBit, "inside a length prefix");
      return -1;
    }
    if (c === 0) {
      this.rubBits = 0;
      return q + 1;
    }
    const k = c - 1;
    if (k > DIRECT_ATOM_BITS_MAX - 1) {
      throw new CueError(NounErrorCode.cue.atomTooLong, tagBit, `Length prefix at bit ${q} claims at least 2^${k} bits; no input is that long`);
    }
    if (q + 2 * c > limit) {
      this.short(tagBit, "inside a length prefix");
      return -1;
    }
    this.rubBits = 2 ** k + readBitsNumber(win, q + c + 1, k);
    return q + 2 * c;
  }

  /** Input in hand ends inside a token: false (wait for more), or after the end, an error. */
  private short(tagBit: number, where: string): false {
    if (!this.ended) return false;
    const end = this.winBit0 + this.win.length * 8;
    throw new CueError(NounErrorCode.cue.truncated, tagBit, `Input ends at bit ${end}, ${where} (bit ${tagBit}); the jam is cut short`);
  }

  private startBody(tagBit: number, at: number, bits: number): boolean {
    if (bits > ATOM_BITS_MAX) {
      throw new CueError(NounErrorCode.cue.atomTooLong, tagBit, `Atom at bit ${tagBit} claims ${bits} bits; an atom holds at most ${ATOM_BITS_MAX} bits (${ATOM_BYTES_MAX} bytes)`);
    }
    const left = this.win.length * 8 - at;
    if (this.ended && bits > left) {
      throw new CueError(NounErrorCode.cue.truncated, tagBit, `Atom at bit ${tagBit} claims ${bits} bits but the input ends ${Math.max(0, left)} bits later`);
    }
    const leftInInput = this.inputBits - (this.winBit0 + at);
    if (bits > leftInInput) {
      throw new CueError(NounErrorCode.cue.truncated, tagBit, `Atom at bit ${tagBit} claims ${bits} bits but the input ends ${leftInInput} bits later`);
    }
    const full = roundUpToWord(Math.ceil(bits / 8));
    // With the input's length unknown, the buffer grows only as the atom's bytes arrive, so a
    // false length cannot make us allocate more than twice what was received. With it known,
    // the claim was checked against it just above: allocate once.
    const size = this.ended || this.inputBits !== Infinity ? full : Math.min(full, Math.max(CUE_ATOM_BUFFER_BYTES_MIN, roundUpToWord(Math.ceil(left / 8))));
    const dest = new Uint8Array(size);
    this.body = { tagBit, entry: this.record(tagBit, undefined), bits, done: 0, dest, destWords: new Uint32Array(dest.buffer) };
    this.p = at;
    return true;
  }

  /** Copies what is in hand of the large atom; false when more input is needed. */
  private stepBody(): boolean {
    const body = this.body!;
    const win = this.win;
    const avail = win.length * 8 - this.p;
    const left = body.bits - body.done;
    if (left <= avail) {
      this.reserve(body, roundUpToWord(Math.ceil(body.bits / 8)));
      const nWords = Math.floor(left / 32);
      const w0 = body.done / 32;
      copyBitsToWords(win, this.p, body.destWords, w0, nWords);
      const r = left - nWords * 32;
      if (r > 0) body.destWords[w0 + nWords] = readBits32(win, this.p + nWords * 32) & ((1 << r) - 1);
      this.p += left;
      const value = atomFromBytes(body.dest.subarray(0, Math.ceil(body.bits / 8)));
      this.nouns[body.entry] = value;
      this.body = null;
      this.deliver(value);
      return true;
    }
    if (this.ended) {
      throw new CueError(NounErrorCode.cue.truncated, body.tagBit, `Atom at bit ${body.tagBit} claims ${body.bits} bits but the input ends ${body.done + avail} bits later`);
    }
    const nWords = Math.floor(avail / 32);
    if (nWords === 0) return false;
    this.reserve(body, body.done / 8 + nWords * 4);
    copyBitsToWords(win, this.p, body.destWords, body.done / 32, nWords);
    body.done += nWords * 32;
    this.p += nWords * 32;
    return true;
  }

  private reserve(body: AtomBody, bytes: number): void {
    if (body.dest.length >= bytes) return;
    const full = roundUpToWord(Math.ceil(body.bits / 8));
    const dest = new Uint8Array(Math.min(full, Math.max(bytes, body.dest.length * 2)));
    dest.set(body.dest.subarray(0, body.done / 8));
    body.dest = dest;
    body.destWords = new Uint32Array(dest.buffer);
  }

  private record(offset: number, n: Noun | undefined): number {
    if (this.count === this.offsets.length) {
      const grown = new Float64Array(this.count * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count] = offset;
    this.nouns.push(n);
    return this.count++;
  }

  /** Hands a finished noun to the innermost unfinished cell, closing cells as they complete. */
  private deliver(n: Noun): void {
    let v = n;
    while (this.depth > 0) {
      const i = this.depth - 1;
      const head = this.heads[i];
      if (head === undefined) {
        this.heads[i] = v;
        return;
      }
      v = new Cell(head, v);
      this.nouns[this.entries[i]] = v;
      this.heads[i] = undefined;
      this.depth = i;
    }
    if (this.nextSub !== Infinity) {
      throw new CueError(NounErrorCode.cue.refUnmatched, this.nextSub, `The ref table names bit ${this.nextSub}, beyond the end of the jam's noun; the jam or its ref table is damaged`);
    }
    this.result = v;
  }

  /** The noun recorded at `offset` (binary search: offsets ascend). */
  private lookup(offset: number, tagBit: number): Noun {
    const offsets = this.offsets;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const o = offsets[mid];
      if (o === offset) {
        const n = this.nouns[mid];
        if (n === undefined) {
          throw new CueError(NounErrorCode.cue.backrefUnknown, tagBit, `Backreference at bit ${tagBit} points at bit ${offset}, a cell that contains it (not finished yet)`);
        }
        return n;
      }
      if (o < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new CueError(NounErrorCode.cue.backrefUnknown, tagBit, `Backreference at bit ${tagBit} points at bit ${offset}, where no earlier noun starts`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
