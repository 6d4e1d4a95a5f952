/**
 * The word-at-a-time bit primitives against a one-bit-at-a-time reference, at every alignment
 * of source and destination.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { BitWriter } from "../../src/noun/bit-writer.ts";
import { copyBitsToWords, readBits32, readBitsNumber } from "../../src/noun/bits.ts";
import { murmur3 } from "../../src/noun/murmur3.ts";
import { Rng } from "./random-nouns.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3] >> (i & 7)) & 1;
}

describe("reading bits", () => {
  test("readBits32 and readBitsNumber agree with bit-by-bit reading, zeros past the end", () => {
    const rng = new Rng(1);
    const bytes = rng.bytes(64);
    for (let bit = 0; bit < 64 * 8 + 40; bit++) {
      let want = 0;
      for (let k = 31; k >= 0; k--) want = want * 2 + (bit + k < 512 ? bitAt(bytes, bit + k) : 0);
      expect(readBits32(bytes, bit)).toBe(want);
      const n = bit % 54;
      let wantN = 0;
      for (let k = n - 1; k >= 0; k--) wantN = wantN * 2 + (bit + k < 512 ? bitAt(bytes, bit + k) : 0);
      expect(readBitsNumber(bytes, bit, n)).toBe(wantN);
    }
  });

  test("copyBitsToWords copies from any bit of any view, up to the buffer's last byte", () => {
    const rng = new Rng(2);
    // A buffer whose length is not a multiple of 4, so the view's end meets the buffer's end.
    const raw = rng.bytes(203);
    for (let off = 0; off < 6; off++) {
      const src = raw.subarray(off);
      for (let bit = 0; bit < 70; bit++) {
        const nWords = Math.floor((src.length * 8 - bit) / 32);
        const dst = new Uint32Array(nWords + 2).fill(0xdeadbeef);
        copyBitsToWords(src, bit, dst, 1, nWords);
        expect(dst[0]).toBe(0xdeadbeef);
        expect(dst[nWords + 1]).toBe(0xdeadbeef);
        for (let k = 0; k < nWords; k++) expect(dst[1 + k]).toBe(readBits32(src, bit + 32 * k));
      }
    }
  });
});

describe("BitWriter", () => {
  test("writeBits, writeNumber and writeBytes from unaligned views produce the reference bit string", () => {
    const rng = new Rng(3);
    const raw = rng.bytes(400);
    for (let round = 0; round < 300; round++) {
      const w = new BitWriter(new Uint32Array(600));
      const ref: number[] = [];
      for (let step = 0; step < 12; step++) {
        const kind = rng.int(3);
        if (kind === 0) {
          const n = rng.int(33);
          const v = n === 32 ? rng.next() : rng.next() % 2 ** n;
          w.writeBits(v, n);
          for (let k = 0; k < n; k++) ref.push(Math.floor(v / 2 ** k) % 2);
        } else if (kind === 1) {
          const n = rng.int(54);
          const v = ((rng.next() & 0x1fffff) * 4294967296 + rng.next()) % 2 ** n;
          w.writeNumber(v, n);
          for (let k = 0; k < n; k++) ref.push(Math.floor(v / 2 ** k) % 2);
        } else {
          const off = rng.int(9);
          const n = rng.int(80);
          const src = raw.subarray(off, off + 100);
          const start = rng.int(10);
          w.writeBytes(src, start, n);
          for (let i = 0; i < n * 8; i++) ref.push(bitAt(src.subarray(start), i));
        }
      }
      const bytes = w.finish();
      expect(bytes).toBe(Math.ceil(ref.length / 8));
      expect(w.position).toBe(ref.length);
      const out = w.bytes.subarray(0, bytes);
      for (let i = 0; i < ref.length; i++) if (bitAt(out, i) !== ref[i]) expect(`bit ${i} of round ${round}`).toBe(`${ref[i]}`);
      for (let i = ref.length; i < bytes * 8; i++) expect(bitAt(out, i)).toBe(0);
    }
  });

  test("a reused buffer with old bytes in it does not leak them into the output", () => {
    const words = new Uint32Array(8).fill(0xffffffff);
    const w = new BitWriter(words);
    w.writeBits(1, 8);
    w.writeBytes(Uint8Array.of(2, 3, 4), 0, 3);
    w.writeBits(1, 3);
    const n = w.finish();
    expect(Array.from(w.bytes.subarray(0, n))).toEqual([1, 2, 3, 4, 1]);
  });
});

describe("murmur3", () => {
  test("matches the published MurmurHash3_x86_32 values and any view alignment", () => {
    const enc = new TextEncoder();
    // Reference values from the SMHasher verification set / common test tables.
    expect(murmur3(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3(Uint8Array.of(0, 0, 0, 0), 0)).toBe(0x2362f9de);
    expect(murmur3(enc.encode("Hello, world!"), 1234)).toBe(0xfaf6cdb3);
    expect(murmur3(enc.encode("The quick brown fox jumps over the lazy dog"), 0x9747b28c)).toBe(0x2fa826cd);
    const rng = new Rng(4);
    const raw = rng.bytes(1031);
    const want = murmur3(raw.slice(3, 1030), 77);
    for (let off = 0; off < 4; off++) {
      const copy = new Uint8Array(1040);
      copy.set(raw.subarray(3, 1030), off);
      expect(murmur3(copy.subarray(off, off + 1027), 77)).toBe(want);
    }
    // A view that ends at its buffer's end, unaligned.
    expect(murmur3(raw.subarray(4), 5)).toBe(murmur3(raw.slice(4), 5));
  });
});
