/** jamToSink and cueFromChunks agree with jam and cue, for any chunk sizes. */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, cell, cue, cueFromChunks, CueDecoder, CueError, equals, jam, jamToSink, type Noun } from "../../src/noun/index.ts";
import { bytesEqual } from "../../src/noun/equals.ts";
import { longList, randomNoun, Rng } from "./random-nouns.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Heavy tests get room on a loaded machine (bun test's default is 5 s); none asserts a time. */
const SLOW_TEST_TIMEOUT_MS = 60_000;

/** Collects a jamToSink run; copies each chunk since the buffer is reused. */
async function jamStreamed(n: Noun, chunkBytes: number, asyncSink = false): Promise<{ bytes: Uint8Array; sizes: number[]; total: number }> {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  const sink = {
    write(chunk: Uint8Array): void | Promise<void> {
      parts.push(chunk.slice());
      sizes.push(chunk.length);
      // Scribble on the chunk after copying it: the writer must not rely on it afterwards.
      const scribble = () => chunk.fill(0xee);
      if (asyncSink) return new Promise<void>((resolve) => setTimeout(() => (scribble(), resolve()), 0));
      scribble();
    },
  };
  const total = await jamToSink(n, sink, chunkBytes);
  return { bytes: Buffer.concat(parts), sizes, total };
}

/** Splits `bytes` at random points (sizes from `pick`), optionally reusing one buffer for every chunk. */
function* chunked(bytes: Uint8Array, pick: () => number, reuse = false): Generator<Uint8Array> {
  const shared = new Uint8Array(1 << 16);
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, Math.max(1, pick()));
    if (reuse && n <= shared.length) {
      shared.set(bytes.subarray(at, at + n));
      yield shared.subarray(0, n);
      shared.fill(0x55, 0, n); // the decoder must have finished with it
    } else {
      yield bytes.subarray(at, at + n);
    }
    at += n;
  }
}

describe("jamToSink", () => {
  test("writes the bytes of jam in chunks of at most chunkBytes, for chunk sizes from 1 byte up", async () => {
    const rng = new Rng(41);
    for (let i = 0; i < 60; i++) {
      const n = randomNoun(rng, 1 + rng.int(300));
      const want = jam(n);
      const chunkBytes = [1, 2, 3, 5, 64, 100, 1 << 20][i % 7] + (i % 7 === 6 ? 0 : rng.int(40));
      const got = await jamStreamed(n, chunkBytes, i % 5 === 0);
      expect(bytesEqual(got.bytes, want)).toBe(true);
      expect(got.total).toBe(want.length);
      for (const s of got.sizes) expect(s).toBeLessThanOrEqual(chunkBytes);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("streams a 3 MiB atom at an odd bit offset in 64 KiB chunks", async () => {
    const bytes = new Rng(42).bytes(3 << 20);
    bytes[bytes.length - 1] = 0x81;
    const n = cell(5, cell(atomFromBytes(bytes), 77));
    const got = await jamStreamed(n, 1 << 16);
    expect(bytesEqual(got.bytes, jam(n))).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);

  test("streams a 1,000,000-item list", async () => {
    const n = longList(1_000_000);
    const got = await jamStreamed(n, 1 << 16);
    expect(bytesEqual(got.bytes, jam(n))).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);

  test("rejects a chunk size that is not a positive integer", async () => {
    await expect(jamToSink(0, { write() {} }, 0)).rejects.toThrow(RangeError);
    await expect(jamToSink(0, { write() {} }, 1.5)).rejects.toThrow(RangeError);
  });
});

describe("cueFromChunks", () => {
  test("decodes random nouns split into random chunks, 1 byte included, from sync and async sources", async () => {
    const rng = new Rng(43);
    for (let i = 0; i < 80; i++) {
      const n = randomNoun(rng, 1 + rng.int(300));
      const j = jam(n);
      const pick = [() => 1, () => 1 + rng.int(4), () => 1 + rng.int(100), () => 1 + rng.int(5000)][i % 4];
      const source = chunked(j, pick, i % 3 === 0);
      const got = i % 2 === 0 ? await cueFromChunks(source) : await cueFromChunks((async function* () { yield* source; })());
      expect(equals(got, n)).toBe(true);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("assembles big atoms that span many chunks, at every alignment", async () => {
    const rng = new Rng(44);
    for (let prefix = 0; prefix < 12; prefix++) {
      const bytes = rng.bytes(200_000 + prefix);
      bytes[bytes.length - 1] |= 0x10;
      const n = cell(2 ** prefix, atomFromBytes(bytes));
      const j = jam(n);
      const got = await cueFromChunks(chunked(j, () => 1 + rng.int(70_000), prefix % 2 === 0));
      expect(equals(got, n)).toBe(true);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("decodes a 1 MiB atom fed one byte at a time", async () => {
    const bytes = new Rng(45).bytes(1 << 20);
    bytes[bytes.length - 1] = 1;
    const n = atomFromBytes(bytes);
    const j = jam(n);
    expect(equals(await cueFromChunks(chunked(j, () => 1)), n)).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);

  test("decodes a 1,000,000-item list in 4 KiB chunks", async () => {
    const n = longList(1_000_000);
    const j = jam(n);
    expect(equals(await cueFromChunks(chunked(j, () => 4096)), n)).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);

  test("with inputBytes known, decodes the same nouns at every alignment", async () => {
    const rng = new Rng(97);
    for (const bits of [60, 200, 4097, 70_000]) {
      const bytes = new Uint8Array(Math.ceil(bits / 8));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      bytes[bytes.length - 1] |= 0x80;
      for (let pad = 0; pad < 9; pad++) {
        const n = cell(pad === 0 ? 0 : 2 ** pad, atomFromBytes(bytes.slice()));
        const j = jam(n);
        expect(equals(await cueFromChunks(chunked(j, () => 1 + rng.int(5000)), { inputBytes: j.length }), n)).toBe(true);
      }
    }
  });

  test("with inputBytes known, an atom claiming more bits than the input holds fails at once, before any allocation", () => {
    // tag 0, then mat of a 2^33-bit (1 GiB) length: 34 zero bits, a 1, 33 low bits of b (zero).
    const prefix = new Uint8Array(16);
    new DataView(prefix.buffer).setUint32(4, 0b1000, true); // absolute bit 35: the 1 after 34 zeros
    // Without the length, the decoder must wait for more input: the claim might be true.
    expect(new CueDecoder().push(prefix)).toBe(false);
    // With it, the claim is a lie as soon as it is read.
    const before = process.memoryUsage.rss();
    let err: unknown;
    try {
      new CueDecoder({ inputBytes: prefix.length }).push(prefix);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CueError);
    expect((err as CueError).code).toBe("cue_truncated");
    expect(process.memoryUsage.rss() - before).toBeLessThan(256 * 1024 * 1024);
  });

  test("stops at the end of the noun and ignores what follows", async () => {
    const j = jam(cell(1, 2));
    let pulled = 0;
    function* source() {
      pulled++;
      yield j;
      pulled++;
      yield Uint8Array.of(0xff, 0xff);
    }
    expect(equals(await cueFromChunks(source()), cell(1, 2))).toBe(true);
    expect(pulled).toBe(1);
  });

  test("the push decoder skips empty chunks and reports completion as soon as the last bit arrives", () => {
    const d = new CueDecoder();
    const j = jam(cell(300, 400));
    expect(d.push(new Uint8Array(0))).toBe(false);
    expect(d.push(j.subarray(0, 2))).toBe(false);
    expect(d.done).toBe(false);
    expect(d.push(j.subarray(2))).toBe(true); // complete as soon as the root's last bit is in
    expect(d.done).toBe(true);
    expect(equals(d.noun, cue(j))).toBe(true);
    expect(equals(d.end(), cue(j))).toBe(true);
  });
});
