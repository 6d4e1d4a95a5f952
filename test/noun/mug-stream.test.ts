/**
 * The streamed hashes urth computes while it stages a file (src/noun/mug-stream.ts,
 * src/noun/canonical-bytes.ts): fed in pieces of any length, they must give what the whole-atom
 * functions give, the trailing zeros of a file dropped as an atom drops them.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { CanonicalBytes } from "../../src/noun/canonical-bytes.ts";
import { AtomMugStream } from "../../src/noun/mug-stream.ts";
import { atomFromBytes, metBits, mug } from "../../src/noun/index.ts";
import { mugBytes } from "../../src/noun/mug.ts";
import { int, pseudoRandomBytes, rng } from "../support/prng.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Feeds `bytes` to `push` in pieces of random lengths (0 included). */
function feed(bytes: Uint8Array, push: (b: Uint8Array) => void, r: () => number): void {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, int(r, 0, 9) < 2 ? int(r, 0, 3) : int(r, 1, 70_000));
    push(bytes.subarray(at, at + n));
    at += n;
  }
}

/** `length` bytes, with runs of zeros inside and `zerosAtEnd` zeros at the end. */
function fileBytes(length: number, zerosAtEnd: number, seed: number): Uint8Array {
  const out = pseudoRandomBytes(length, seed);
  const r = rng(seed);
  for (let k = 0; k < 4 && length > 0; k++) {
    const at = int(r, 0, length - 1);
    out.fill(0, at, Math.min(length, at + int(r, 1, 9000)));
  }
  out.fill(0, Math.max(0, length - zerosAtEnd));
  return out;
}

describe("AtomMugStream and CanonicalBytes", () => {
  test("pieces of any length give the mug, length and bit length of the file's atom", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed * 7919);
      const length = int(r, 0, 300_000);
      const bytes = fileBytes(length, int(r, 0, 3) === 0 ? int(r, 0, length) : int(r, 0, 5), seed);
      const stream = new AtomMugStream();
      const canonical = new CanonicalBytes((b) => stream.update(b));
      feed(bytes, (b) => canonical.push(b), r);
      const atom = atomFromBytes(bytes);
      let last = bytes.length;
      while (last > 0 && bytes[last - 1] === 0) last--;
      expect({ seed, byteLength: canonical.byteLength, bitLength: canonical.bitLength }).toEqual({ seed, byteLength: last, bitLength: metBits(atom) });
      const streamed = stream.result();
      // The first seed folds to 0 with odds of 2^-31: never among these inputs.
      expect({ seed, mug: streamed }).toEqual({ seed, mug: mug(atom) });
    }
  });

  test("a file of zeros is the atom 0: nothing passes, bit length 0", () => {
    const seen: number[] = [];
    const c = new CanonicalBytes((b) => seen.push(b.length));
    c.push(new Uint8Array(5000));
    c.push(new Uint8Array(0));
    c.push(new Uint8Array(3));
    expect(seen).toEqual([]);
    expect(c.byteLength).toBe(0);
    expect(c.bitLength).toBe(0);
  });

  test("zeros held back are passed on when a nonzero byte follows them, even across many pieces", () => {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 7);
    bytes[0] = 1;
    bytes[bytes.length - 1] = 0x80;
    const stream = new AtomMugStream();
    const c = new CanonicalBytes((b) => stream.update(b));
    for (let at = 0; at < bytes.length; at += 1000) c.push(bytes.subarray(at, at + 1000));
    expect(c.byteLength).toBe(bytes.length);
    expect(c.bitLength).toBe(8 * bytes.length);
    expect(stream.result()).toBe(mugBytes(bytes));
  });
});
