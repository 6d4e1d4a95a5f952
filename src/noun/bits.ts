/**
 * Bit-level reading shared by cue, mug and equality: 32-bit windows at any bit offset and
 * word-at-a-time shifted copies out of byte arrays of any alignment.
 *
 * Bit order is vere's (docs/nouns.md): bit i of an atom is bit (i mod 8) of byte floor(i / 8),
 * bytes little-endian. On a little-endian host a Uint32Array over the same memory therefore
 * holds the atom's 32-bit words in order, which is what makes word-at-a-time shifting possible.
 * A byte-at-a-time shifting copy runs at about 0.35 GB/s here, the word loop at about
 * 4 GB/s (docs/platform.md; bench/noun.ts).
 *
 * Unaligned sources: a Uint8Array may start at any byte of its ArrayBuffer. Instead of DataView
 * (0.6 GB/s here) we view the whole ArrayBuffer as words and shift by the misalignment; the
 * bits read from outside the array's own range are always masked off or discarded by callers.
 */
/** Plea reads atoms' words through Uint32Array: that needs a little-endian host (x86, ARM). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
if (!HOST_LITTLE_ENDIAN) throw new Error("Plea needs a little-endian host (x86-64 or little-endian ARM)");

const TWO_32 = 4294967296;

/** Count of trailing zero bits of a nonzero 32-bit value. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * The whole ArrayBuffer under `bytes` as 32-bit words (word i covers buffer bytes 4i..4i+3).
 * A trailing 1-3 bytes of the buffer are not covered; callers read those bytewise.
 */
export function bufferWords(bytes: Uint8Array): Uint32Array {
  const buffer = bytes.buffer;
  return new Uint32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
}

/** The 32 bits of `bytes` starting at bit `bit` (LSB first, unsigned); bits past the end read as 0. */
export function readBits32(bytes: Uint8Array, bit: number): number {
  const i = Math.floor(bit / 8);
  const shift = bit - i * 8;
  const n = bytes.length;
  let lo: number;
  let b4: number;
  if (i + 5 <= n) {
    lo = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    b4 = bytes[i + 4];
  } else {
    lo = 0;
    for (let k = 0; k < 4; k++) if (i + k < n) lo |= bytes[i + k] << (8 * k);
    b4 = i + 4 < n ? bytes[i + 4] : 0;
  }
  if (shift === 0) return lo >>> 0;
  return ((lo >>> shift) | (b4 << (32 - shift))) >>> 0;
}

/** The `n` bits (0..53) of `bytes` at bit `bit` as a number; bits past the end read as 0. */
export function readBitsNumber(bytes: Uint8Array, bit: number, n: number): number {
  if (n === 0) return 0;
  const lo = readBits32(bytes, bit);
  if (n < 32) return lo & ((1 << n) - 1);
  if (n === 32) return lo;
  const hi = readBits32(bytes, bit + 32) & ((1 << (n - 32)) - 1);
  return hi * TWO_32 + lo;
}

/**
 * Copies `nWords` 32-bit words starting at bit `srcBit` of `src` into `dst[dstWord..]`.
 * The caller guarantees the source bits lie inside `src` (bits past its end would read as 0).
 */
export function copyBitsToWords(src: Uint8Array, srcBit: number, dst: Uint32Array, dstWord: number, nWords: number): void {
  if (nWords <= 0) return;
  if (srcBit % 8 === 0) {
    // Byte-aligned: a plain memcpy (about 7.5 GB/s here), whatever the word alignment.
    const start = srcBit / 8;
    const want = nWords * 4;
    const avail = Math.min(want, src.length - start);
    const dstBytes = new Uint8Array(dst.buffer, dst.byteOffset + dstWord * 4, want);
    dstBytes.set(src.subarray(start, start + avail));
    if (avail < want) dstBytes.fill(0, avail);
    return;
  }
  const words = bufferWords(src);
  const abs = src.byteOffset * 8 + srcBit;
  const w0 = Math.floor(abs / 32);
  const shift = abs - w0 * 32;
  const back = 32 - shift;
  // Word w0 + k + 1 must exist in the buffer view; the last few words go the careful way.
  const fast = Math.max(0, Math.min(nWords, words.length - w0 - 1));
  let prev = words[w0];
  for (let k = 0; k < fast; k++) {
    const next = words[w0 + k + 1];
    dst[dstWord + k] = (prev >>> shift) | (next << back);
    prev = next;
  }
  for (let k = fast; k < nWords; k++) dst[dstWord + k] = readBits32(src, srcBit + 32 * k);
}

/** Rounds a byte count up to whole 32-bit words' worth of bytes. */
export function roundUpToWord(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
