/**
 * The bit writer under jam: appends bits LSB-first into a buffer of 32-bit words.
 *
 * Pending bits wait in a 32-bit accumulator and leave it a whole word at a time, so the output
 * is always written at word-aligned positions: that is what lets a large atom's bytes be shifted
 * in a word per step (about 4 GB/s here) instead of a byte per step (about 0.35 GB/s).
 *
 * The buffer is the caller's: `jam` grows it, `jamToSink` drains it to the sink and reuses it.
 * Callers check `roomWords` before writing; writes past the end are a bug (typed arrays would
 * drop them silently, so the writers never rely on that).
 */
import { bufferWords } from "./bits.ts";

export class BitWriter {
  /** The output words; `words[0 .. index)` are complete. */
  words: Uint32Array;
  /** Byte view of `words`. */
  bytes: Uint8Array;
  /** Next word to fill. */
  index = 0;
  /** Pending bits (the low `pending` bits of it). */
  acc = 0;
  /** Number of pending bits, 0..31. */
  pending = 0;
  /** Bits already drained before `words[0]` (jamToSink); 0 for a growing buffer. */
  drainedBits = 0;

  constructor(words: Uint32Array) {
    this.words = words;
    this.bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  }

  /** Bits written so far, including drained and pending ones: the offset of the next bit. */
  get position(): number {
    return this.drainedBits + this.index * 32 + this.pending;
  }

  /** Whole words still free in the buffer. */
  get roomWords(): number {
    return this.words.length - this.index;
  }

  /** Replaces the buffer (grown copy or drained buffer); `index` is kept. */
  setBuffer(words: Uint32Array): void {
    this.words = words;
    this.bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  }

  /** Appends the low `n` bits (0..32) of `v`; `v` must be below 2^n. Needs one free word. */
  writeBits(v: number, n: number): void {
    if (n === 0) return;
    const s = this.pending;
    this.acc |= v << s;
    const t = s + n;
    if (t >= 32) {
      this.words[this.index++] = this.acc;
      const r = t - 32;
      this.acc = r === 0 ? 0 : v >>> (n - r);
      this.pending = r;
    } else {
      this.pending = t;
    }
  }

  /** Appends `n` zero bits (any count). Needs ceil((pending + n) / 32) free words. */
  writeZeros(n: number): void {
    while (n > 32) {
      this.writeBits(0, 32);
      n -= 32;
    }
    this.writeBits(0, n);
  }

  /** Appends the low `n` bits (0..53) of a natural number below 2^53. Needs two free words. */
  writeNumber(v: number, n: number): void {
    if (n <= 32) {
      this.writeBits(v, n);
    } else {
      const lo = v >>> 0;
      this.writeBits(lo, 32);
      this.writeBits((v - lo) / 4294967296, n - 32);
    }
  }

  /** Most whole bytes `writeBytes` can take now. */
  get roomBytes(): number {
    return Math.max(0, Math.floor(((this.words.length - this.index) * 32 - this.pending) / 8));
  }

  /**
   * Appends `n` whole bytes `src[start .. start + n)`, 8 bits each; `n <= roomBytes`.
   * Byte-aligned positions are a memcpy; the rest shift a word per step.
   */
  writeBytes(src: Uint8Array, start: number, n: number): void {
    if (n === 0) return;
    const s = this.pending;
    if (s % 8 === 0) {
      // Write the pending whole bytes, then copy the source right behind them.
      const at = this.index * 4 + s / 8;
      this.words[this.index] = this.acc;
      this.bytes.set(src.subarray(start, start + n), at);
      const end = at + n;
      this.index = Math.floor(end / 4);
      const r = (end - this.index * 4) * 8;
      this.pending = r;
      this.acc = r === 0 ? 0 : this.words[this.index] & ((1 << r) - 1);
      return;
    }
    // Unaligned bit position. First the source bytes up to a word boundary of its buffer.
    let i = start;
    const end = start + n;
    while (i < end && (src.byteOffset + i) % 4 !== 0) this.writeBits(src[i++], 8);
    const nWords = Math.floor((end - i) / 4);
    if (nWords > 0) {
      const srcWords = bufferWords(src);
      const w0 = (src.byteOffset + i) / 4;
      const out = this.words;
      // Whole bytes keep `pending` the same mod 8, so it is still not 0 here.
      const shift = this.pending;
      const back = 32 - shift;
      let o = this.index;
      let acc = this.acc;
      for (let k = 0; k < nWords; k++) {
        const w = srcWords[w0 + k];
        out[o++] = acc | (w << shift);
        acc = w >>> back;
      }
      this.index = o;
      this.acc = acc;
      i += nWords * 4;
    }
    while (i < end) this.writeBits(src[i++], 8);
  }

  /**
   * Writes the pending bits out as a final, zero-padded word (needs one free word when bits are
   * pending). Returns the bytes that hold bits: ceil(position / 8) less drained bytes.
   */
  finish(): number {
    const bits = this.index * 32 + this.pending;
    if (this.pending > 0) this.words[this.index] = this.acc;
    return Math.ceil(bits / 8);
  }
}
