/**
 * jam and jamToSink of nouns holding file-backed atoms: the same bytes as with the atoms in
 * memory, without reading a large file whole more than once.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, truncateSync } from "node:fs";
import { atomFromBytes, BigAtom, Cell, cell, FileAtom, FileAtomError, jam, jamToSink, list, toBytes, type Noun } from "../../src/noun/index.ts";
import { bytesEqual } from "../../src/noun/equals.ts";
import { randomNoun, Rng } from "./random-nouns.ts";
import { TempFiles } from "./temp-files.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Heavy tests get room on a loaded machine (bun test's default is 5 s); none asserts a time. */
const SLOW_TEST_TIMEOUT_MS = 60_000;

const files = new TempFiles();
afterEach(() => files.removeAll());

async function jamStreamed(n: Noun, chunkBytes: number, onChunk?: () => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await jamToSink(n, { write: (c) => (parts.push(c.slice()), onChunk?.()) }, chunkBytes);
  return Buffer.concat(parts);
}

function randomFileBytes(rng: Rng, length: number, trailingZeros = 0): Uint8Array {
  const bytes = new Uint8Array(length + trailingZeros);
  bytes.set(rng.bytes(length));
  if (length > 0) bytes[length - 1] |= 0x40;
  return bytes;
}

describe("jam of file-backed atoms", () => {
  test("equals the jam of the materialized noun, for sizes from empty to past the read size", async () => {
    const rng = new Rng(51);
    const sizes = [0, 1, 5, 7, 8, 100, 4096, 4097, 100_003, (2 << 20) + 5];
    for (const size of sizes) {
      const bytes = randomFileBytes(rng, size, size % 3 === 0 ? 17 : 0);
      const f = new FileAtom(files.write(bytes));
      const inMemory = atomFromBytes(bytes.slice());
      for (const shape of [(a: Noun) => a, (a: Noun) => cell(3, cell(a, 1))]) {
        const want = jam(shape(inMemory));
        expect(bytesEqual(jam(shape(f)), want)).toBe(true);
        expect(bytesEqual(await jamStreamed(shape(f), 64), want)).toBe(true);
        expect(bytesEqual(await jamStreamed(shape(f), 1 << 20), want)).toBe(true);
      }
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("a 7-byte file above 2^53-1 and one below both jam as their values", () => {
    const above = new FileAtom(files.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 0xff)));
    const below = new FileAtom(files.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 0x0f)));
    expect(bytesEqual(jam(cell(above, below)), jam(cell(atomFromBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 0xff)), atomFromBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 0x0f)))))).toBe(true);
  });

  test("a file equal to an in-memory atom or to another file is a backreference, as in memory", async () => {
    const rng = new Rng(52);
    const bytes = randomFileBytes(rng, 20_000);
    const sameLength = randomFileBytes(rng, 20_000);
    const f = new FileAtom(files.write(bytes));
    const g = new FileAtom(files.write(bytes));
    const h = new FileAtom(files.write(sameLength));
    const a = atomFromBytes(bytes.slice());
    const b = atomFromBytes(sameLength.slice());
    const withFiles = list([f, cell(g, 1), a, h, cell(f, 1), 9]);
    const inMemory = list([a, cell(a, 1), a, b, cell(a, 1), 9]);
    const want = jam(inMemory);
    expect(bytesEqual(jam(withFiles), want)).toBe(true);
    expect(bytesEqual(await jamStreamed(withFiles, 1000), want)).toBe(true);
  });

  test("random nouns jam the same with some of their atoms moved into files", async () => {
    const rng = new Rng(55);
    for (let i = 0; i < 25; i++) {
      const n = randomNoun(rng, 1 + rng.int(150));
      // Small nouns: a recursive rebuild is fine here.
      const swap = (x: Noun): Noun => {
        if (x instanceof Cell) return new Cell(swap(x.head), swap(x.tail));
        if (x instanceof BigAtom ? rng.chance(0.6) : rng.chance(0.05)) {
          const bytes = toBytes(x as number | BigAtom);
          return new FileAtom(files.write(rng.chance(0.3) ? Buffer.concat([bytes, new Uint8Array(3)]) : bytes));
        }
        return x;
      };
      const withFiles = swap(n);
      const want = jam(n);
      expect(bytesEqual(jam(withFiles), want)).toBe(true);
      expect(bytesEqual(await jamStreamed(withFiles, 64 + rng.int(500)), want)).toBe(true);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("a lone large file is neither mugged nor materialized, only streamed", async () => {
    const rng = new Rng(53);
    const bytes = randomFileBytes(rng, 3 << 20);
    const f = new FileAtom(files.write(bytes));
    const other = new FileAtom(files.write(randomFileBytes(rng, 5000)));
    const noun = list([cell(cord4("path"), f), cell(cord4("else"), other)]);
    const want = jam(list([cell(cord4("path"), atomFromBytes(bytes)), cell(cord4("else"), other.materialize())]));
    const original = FileAtom.prototype.materialize;
    FileAtom.prototype.materialize = function (this: FileAtom) {
      if (this.exactLength() > 7) throw new Error(`materialized ${this.path}`);
      return original.call(this);
    };
    try {
      const streamed = await jamStreamed(noun, 1 << 16);
      expect(f.mug).toBe(0);
      expect(bytesEqual(streamed, want)).toBe(true);
    } finally {
      FileAtom.prototype.materialize = original;
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("a file that shrinks while it streams fails with file_changed and leaves no descriptor open", async () => {
    const rng = new Rng(54);
    const path = files.write(randomFileBytes(rng, 1 << 20));
    const f = new FileAtom(path);
    const fdsBefore = readdirSync("/proc/self/fd").length;
    let chunks = 0;
    const run = jamStreamed(cell(1, f), 4096, () => {
      if (++chunks === 3) truncateSync(path, 1000);
    });
    await expect(run).rejects.toThrow(FileAtomError);
    await run.catch((e) => expect((e as FileAtomError).code).toBe("file_changed"));
    expect(readdirSync("/proc/self/fd").length).toBe(fdsBefore);
  }, SLOW_TEST_TIMEOUT_MS);
});

/** A short cord without going through TextEncoder (any small atom would do). */
function cord4(s: string): number {
  let v = 0;
  for (let i = s.length - 1; i >= 0; i--) v = v * 256 + s.charCodeAt(i);
  return v;
}
