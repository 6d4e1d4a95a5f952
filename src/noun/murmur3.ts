/**
 * MurmurHash3_x86_32 (Austin Appleby, public domain), the hash under vere's mug
 * (docs/nouns.md, "mug"; vere ext/murmur3/vendor/murmur3.c).
 *
 * Split into block, tail and finish steps so a large atom can be hashed in chunks (a file-backed
 * atom is streamed through it, never held whole). The block loop reads 32-bit words straight
 * from the bytes' ArrayBuffer: plain TypeScript reaches about 1.6 GB/s this way, bytewise
 * about a third of that (docs/platform.md).
 */
import { bufferWords } from "./bits.ts";

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes the 32-bit blocks of `bytes[start .. start + 4 * nBlocks)` into `h`; returns the new h. */
export function murmur3Blocks(h: number, bytes: Uint8Array, start: number, nBlocks: number): number {
  if (nBlocks === 0) return h;
  const words = bufferWords(bytes);
  const abs = bytes.byteOffset + start;
  const w0 = Math.floor(abs / 4);
  const shift = (abs - w0 * 4) * 8;
  let i = 0;
  if (shift === 0) {
    const fast = Math.min(nBlocks, words.length - w0);
    for (; i < fast; i++) {
      let k = Math.imul(words[w0 + i], C1);
      k = Math.imul((k << 15) | (k >>> 17), C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  } else {
    const back = 32 - shift;
    const fast = Math.max(0, Math.min(nBlocks, words.length - w0 - 1));
    let prev = words[w0];
    for (; i < fast; i++) {
      const next = words[w0 + i + 1];
      let k = Math.imul((prev >>> shift) | (next << back), C1);
      prev = next;
      k = Math.imul((k << 15) | (k >>> 17), C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  }
  // Blocks that touch the buffer's last, partial word: read bytewise.
  for (; i < nBlocks; i++) {
    const p = start + 4 * i;
    h = murmur3Block(h, bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24));
  }
  return h;
}

/** Mixes one 32-bit block into `h`. */
export function murmur3Block(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * Mixes the 0-3 tail bytes (`tail`, little-endian in the low bytes) and finalizes, for a key of
 * `length` bytes in all. Returns the unsigned 32-bit hash.
 */
export function murmur3Finish(h: number, tail: number, tailLength: number, length: number): number {
  if (tailLength > 0) {
    let k = Math.imul(tail, C1);
    k = Math.imul((k << 15) | (k >>> 17), C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3_x86_32 of `bytes` with `seed`, unsigned. */
export function murmur3(bytes: Uint8Array, seed: number): number {
  const n = bytes.length;
  const nBlocks = Math.floor(n / 4);
  const h = murmur3Blocks(seed | 0, bytes, 0, nBlocks);
  const t = nBlocks * 4;
  const tailLength = n - t;
  let tail = 0;
  for (let i = tailLength - 1; i >= 0; i--) tail = (tail << 8) | bytes[t + i];
  return murmur3Finish(h, tail, tailLength, n);
}

/**
 * MurmurHash3_x86_32 of a key of at most 8 bytes given as two 32-bit words (`lo` = bytes 0-3,
 * `hi` = bytes 4-7, little-endian, bytes past `length` zero). No allocation: for direct atoms
 * and for the 5-8 byte buffer of a cell's mug.
 */
export function murmur3Small(lo: number, hi: number, length: number, seed: number): number {
  let h = seed | 0;
  if (length < 4) return murmur3Finish(h, lo, length, length);
  h = murmur3Block(h, lo);
  if (length === 8) return murmur3Finish(murmur3Block(h, hi), 0, 0, 8);
  return murmur3Finish(h, hi, length - 4, length);
}
