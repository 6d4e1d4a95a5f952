/** mug: vere's values (vectors.test.ts has the tables), caching, and every representation. */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, BigAtom, Cell, cell, FileAtom, mug, toBytes } from "../../src/noun/index.ts";
import { mugBytes, mugNumber } from "../../src/noun/mug.ts";
import { Rng } from "./random-nouns.ts";
import { TempFiles } from "./temp-files.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Heavy tests get room on a loaded machine (bun test's default is 5 s); none asserts a time. */
const SLOW_TEST_TIMEOUT_MS = 60_000;

const files = new TempFiles();
afterEach(() => files.removeAll());

describe("mug of atoms", () => {
  test("a direct atom's mug is the mug of its minimal bytes, at every byte length up to 2^53-1", () => {
    const rng = new Rng(21);
    for (let bits = 0; bits <= 53; bits++) {
      for (let k = 0; k < 20; k++) {
        const n = bits === 0 ? 0 : 2 ** (bits - 1) + (((rng.next() & 0x1fffff) * 4294967296 + rng.next()) % 2 ** (bits - 1));
        expect(mugNumber(n)).toBe(mugBytes(toBytes(n)));
      }
    }
    expect(mugNumber(Number.MAX_SAFE_INTEGER)).toBe(mugBytes(toBytes(Number.MAX_SAFE_INTEGER)));
  });

  test("a big atom's mug is cached on it and is never 0", () => {
    const a = atomFromBytes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)) as BigAtom;
    expect(a.mug).toBe(0);
    const m = mug(a);
    expect(m).not.toBe(0);
    expect(m).toBeLessThan(2 ** 31);
    expect(a.mug).toBe(m);
  });
});

describe("mug of cells", () => {
  test("mugs are cached on every cell walked, and a cached mug is trusted", () => {
    const inner = cell(1, 2);
    const outer = cell(inner, 3);
    const m = mug(outer);
    expect(inner.mug).not.toBe(0);
    expect(outer.mug).toBe(m);
    // A cell built over an already-mugged one reuses its cache rather than walking into it.
    const fake = new Cell(5, 6);
    fake.mug = 12345;
    const top = cell(fake, 0);
    const withFake = mug(top);
    const honest = mug(cell(cell(5, 6), 0));
    expect(withFake).not.toBe(honest);
  });
});

describe("mug of file-backed atoms", () => {
  test("equals the mug of the same bytes in memory, for lengths around word and chunk edges", () => {
    const rng = new Rng(22);
    for (const length of [1, 3, 4, 7, 8, 9, 255, 4096, 4099, (1 << 20) + 3, (2 << 20) + 8]) {
      const bytes = rng.bytes(length);
      bytes[length - 1] |= 1;
      const f = new FileAtom(files.write(bytes));
      const want = mug(atomFromBytes(bytes.slice()));
      expect(mug(f)).toBe(want);
      expect(f.mug).toBe(want);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("ignores trailing zero bytes of the file, as the atom does", () => {
    const bytes = new Uint8Array(5000);
    bytes[10] = 7;
    const f = new FileAtom(files.write(bytes));
    expect(mug(f)).toBe(mug(atomFromBytes(bytes.slice(0, 11))));
    expect(mug(new FileAtom(files.write(new Uint8Array(100))))).toBe(mug(0));
  });

  test("a cell over a file-backed atom has the mug of the same cell over the bytes", () => {
    const bytes = new Rng(23).bytes(10000);
    bytes[9999] = 1;
    const f = new FileAtom(files.write(bytes));
    expect(mug(cell(f, cell(1, f)))).toBe(mug(cell(atomFromBytes(bytes), cell(1, atomFromBytes(bytes)))));
  });
});
