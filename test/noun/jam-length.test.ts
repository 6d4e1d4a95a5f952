/** jamLength counts what jam would write, without writing it. */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, cell, FileAtom, jam, jamLength, jamToSink, measureJam, type Noun } from "../../src/noun/index.ts";
import { longList, randomNoun, Rng } from "./random-nouns.ts";
import { TempFiles } from "./temp-files.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const files = new TempFiles();
afterEach(() => files.removeAll());

describe("jamLength", () => {
  test("equals the length of jam on random nouns with sharing, big atoms, long lists and deep trees", () => {
    const rng = new Rng(2024);
    const nouns: Noun[] = [0, 1, 2 ** 53 - 1, cell(0, 0), longList(100_000)];
    for (let i = 0; i < 300; i++) nouns.push(randomNoun(rng, 1 + rng.int(200)));
    let deep: Noun = 0;
    for (let i = 0; i < 100_000; i++) deep = cell(deep, i);
    nouns.push(deep);
    for (const n of nouns) expect(jamLength(n)).toBe(jam(n).length);
  });

  test("counts file-backed atoms as jam writes them, trailing zeros and all", () => {
    const rng = new Rng(7);
    for (const size of [1, 7, 8, 100, 5000, 300_000]) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = rng.int(256);
      bytes[size - 1] = 0; // a trailing zero: not part of the atom
      const path = files.write(bytes);
      const n = cell(new FileAtom(path), cell(new FileAtom(path), atomFromBytes(bytes.slice())));
      expect(jamLength(n)).toBe(jam(n).length);
    }
  });

  test("a plan recorded by measureJam replays into jamToSink as the very bytes of jam", async () => {
    const rng = new Rng(99);
    const nouns: Noun[] = [0, cell(1, 2), longList(50_000, (i) => atomFromBytes(Uint8Array.from([i & 255, 1, 2, 3, 4, 5, 6, 7, (i >> 8) + 1])))];
    for (let i = 0; i < 200; i++) nouns.push(randomNoun(rng, 1 + rng.int(300)));
    for (const n of nouns) {
      const { bytes, plan } = measureJam(n);
      expect(plan).toBeDefined();
      const parts: Uint8Array[] = [];
      const total = await jamToSink(n, { write: (c) => void parts.push(c.slice()) }, 1 + rng.int(4096), plan);
      expect(total).toBe(bytes);
      expect(Buffer.concat(parts)).toEqual(Buffer.from(jam(n)));
    }
  });
});
