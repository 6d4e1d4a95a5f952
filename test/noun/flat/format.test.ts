/**
 * The raw shared-memory noun format: golden bytes, round trips, sizes, mugs, zero-copy views
 * and windows (docs/shm-format.md). Hostile input is in hostile.test.ts, file-backed atoms
 * in file-atom.test.ts, two processes in segment.test.ts.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atom, atomFromBytes, BigAtom, Cell, cell, type Noun } from "../../../src/noun/index.ts";
import { readShm, shmSize, writeShm, SHM_HEADER_BYTES } from "../../../src/noun/index.ts";
import {
  balancedTree,
  deepHeadTree,
  distinctCells,
  distinctObjects,
  EDGE_ATOMS,
  hexOf,
  int,
  longList,
  mugsOf,
  randomNoun,
  rng,
} from "./flat-test-support.ts";
import { equals } from "../../../src/noun/equals.ts";
import { mug } from "../../../src/noun/mug.ts";
import { TEST_TIMEOUT_MS } from "../../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** bunfig's test timeout is not applied by Bun 1.4.5 (default 5 s): slow cases set their own. */
const SLOW_TEST_MS = 60_000;

/** Writes `n` into a buffer of exactly shmSize bytes; checks the two agree. */
function encode(n: Noun): Uint8Array {
  const size = shmSize(n);
  const buf = new Uint8Array(size);
  expect(writeShm(n, buf)).toBe(size);
  return buf;
}

/** The worked example of docs/shm-format.md: `[[1 2] [1 2] 0x1.0000.0000.0000.0005]` with
 * the `[1 2]` shared by identity. */
function workedExample(): Noun {
  const pair = cell(1, 2);
  return cell(pair, cell(pair, atom(2n ** 64n + 5n)));
}

// Byte for byte as in docs/shm-format.md.
const WORKED_EXAMPLE_HEX = [
  "504c4541 0200 2000 00000000 00000000", // magic "PLEA", version 2, header 32, flags, reserved
  "60000000000000c0 8000000000000000", // root: the cell at data offset 96; data section 128 bytes
  "0000000000000000 00000000 00000000 0100000000000000 0200000000000000", // @0  cell [1 2]
  "0200000000000000 00000000 00000000 0500000000000000 0100000000000000", // @32 atom, 2 words
  "0000000000000000 00000000 00000000 00000000000000c0 2000000000000080", // @64 cell [@0 @32]
  "0000000000000000 00000000 00000000 00000000000000c0 40000000000000c0", // @96 cell [@0 @64]
]
  .join("")
  .replaceAll(" ", "");

describe("the raw shared-memory format", () => {
  test("the worked example of the docs encodes to the documented bytes", () => {
    const buf = encode(workedExample());
    expect(buf.length).toBe(160);
    expect(hexOf(buf)).toBe(WORKED_EXAMPLE_HEX);
    const back = readShm(buf) as Cell;
    expect(equals(back, workedExample())).toBe(true);
    // The shared [1 2] decodes to one object, referenced twice.
    expect(back.head).toBe((back.tail as Cell).head);
  });

  test("a direct atom as the root is a header with an empty data section", () => {
    const buf = encode(42);
    expect(buf.length).toBe(SHM_HEADER_BYTES);
    expect(hexOf(buf.subarray(16))).toBe("2a000000000000000000000000000000");
    expect(readShm(buf)).toBe(42);
  });

  test("atoms around 2^53 and 2^62 keep their values and their canonical form", () => {
    for (const a of EDGE_ATOMS) {
      const back = readShm(encode(a));
      expect(equals(back, a)).toBe(true);
      if (typeof a === "number") expect(back).toBe(a);
      else expect(back).toBeInstanceOf(BigAtom);
      // Inside a cell too, where values sit in entry slots rather than the header.
      expect(equals(readShm(encode(cell(a, cell(a, 7)))), cell(a, cell(a, 7)))).toBe(true);
    }
    // Below 2^62 is a direct value: no entry.
    expect(shmSize(atom(2n ** 62n - 1n))).toBe(SHM_HEADER_BYTES);
    expect(shmSize(atom(2n ** 62n))).toBe(SHM_HEADER_BYTES + 24);
  });

  test("random nouns with sharing and large atoms round-trip, and shmSize is exact", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = randomNoun(r, int(r, 0, 200));
      const back = readShm(encode(n));
      if (!equals(back, n)) throw new Error(`seed ${seed}: decoded noun differs`);
      // Sharing by identity survives: as many distinct cells come back as went in.
      expect(distinctCells(back)).toBe(distinctCells(n));
    }
  }, SLOW_TEST_MS);

  test("a subtree reachable twice is written once, so a DAG of 2^40 paths stays small", () => {
    let n: Noun = cell(1, 2);
    for (let i = 0; i < 40; i++) n = cell(n, n);
    const buf = encode(n);
    expect(buf.length).toBe(SHM_HEADER_BYTES + 41 * 32);
    const back = readShm(buf) as Cell;
    expect(back.head).toBe(back.tail);
    expect(distinctObjects(back)).toBe(41);
  });

  test("a 1,000,000-item list and a 1,000,000-deep tree round-trip without recursion", () => {
    const l = longList(1_000_000);
    const lb = encode(l);
    expect(lb.length).toBe(SHM_HEADER_BYTES + 1_000_000 * 32);
    expect(equals(readShm(lb), l)).toBe(true);
    const d = deepHeadTree(1_000_000);
    expect(equals(readShm(encode(d)), d)).toBe(true);
    const t = balancedTree(16);
    expect(equals(readShm(encode(t)), t)).toBe(true);
  }, SLOW_TEST_MS);

  test("a target larger than needed is fine and bytes written says how much was used", () => {
    const n = workedExample();
    const buf = new Uint8Array(4096).fill(0xee);
    expect(writeShm(n, buf)).toBe(160);
    expect(hexOf(buf.subarray(0, 160))).toBe(WORKED_EXAMPLE_HEX);
    expect(equals(readShm(buf), n)).toBe(true);
  });

  test("a reused dirty buffer encodes to the same bytes as a fresh one", () => {
    const r = rng(77);
    for (let i = 0; i < 50; i++) {
      const n = randomNoun(r, 60);
      const fresh = encode(n);
      const dirty = new Uint8Array(fresh.length).fill(0xa5);
      writeShm(n, dirty);
      expect(hexOf(dirty)).toBe(hexOf(fresh));
    }
  });

  test("a target too small is a RangeError that leaves no valid-looking buffer behind", () => {
    const n = randomNoun(rng(5), 100);
    const size = shmSize(n);
    const buf = encode(n);
    const small = buf.slice(0, size - 8);
    expect(() => writeShm(n, small)).toThrow(RangeError);
    expect(() => readShm(small)).toThrow(/not "PLEA"/);
    expect(() => writeShm(n, new Uint8Array(16))).toThrow(RangeError);
  });
});

describe("page-aligned large atoms", () => {
  test("the words of atoms of 1 MiB or more start on a page, and shmSize counts the gaps", () => {
    const r = rng(11);
    for (let i = 0; i < 6; i++) {
      const bigs = [1, 2, 3].map((k) => atomFromBytes(new Uint8Array(2 ** 20 + int(r, 0, 5000)).fill(k + i)));
      const n = cell(randomNoun(r, 30), cell(bigs[0], cell(randomNoun(r, 10), cell(bigs[1], cell(bigs[2], bigs[0])))));
      const buf = encode(n);
      const back = readShm(buf, { zeroCopy: true }) as Cell;
      expect(equals(back, n)).toBe(true);
      const views = [(back.tail as Cell).head, ((((back.tail as Cell).tail as Cell).tail as Cell).head)] as BigAtom[];
      for (const v of views) {
        expect(v.bytes.buffer).toBe(buf.buffer);
        expect(v.bytes.byteOffset % 4096).toBe(0);
      }
      // Atoms below 1 MiB are not aligned (no gap).
      expect(shmSize(atomFromBytes(new Uint8Array(2 ** 20 - 1).fill(1)))).toBe(32 + 16 + 2 ** 20);
      expect(shmSize(atomFromBytes(new Uint8Array(2 ** 20).fill(1)))).toBe(4096 + 2 ** 20);
    }
  }, SLOW_TEST_MS);
});

describe("mugs in the raw format", () => {
  /** A noun whose cells and large atom have their mugs cached (all but one cell: 0 stays 0). */
  function withMugs(): { n: Cell; big: BigAtom } {
    const big = atom(2n ** 100n + 3n) as BigAtom;
    const inner = cell(big, 5);
    const n = cell(inner, cell(inner, 9));
    mug(inner);
    n.mug = mug(cell(inner, cell(inner, 9)));
    return { n, big };
  }

  test("the writer stores cached mugs and the reader restores them only when told to trust them", () => {
    const { n } = withMugs();
    const buf = encode(n);
    const plain = readShm(buf) as Cell;
    expect(mugsOf(plain).every((m) => m === 0)).toBe(true);
    const trusted = readShm(buf, { trustMugs: true }) as Cell;
    expect(mugsOf(trusted)).toEqual(mugsOf(n));
    expect((trusted.head as Cell).mug).toBe(mug(cell(atom(2n ** 100n + 3n), 5)));
    expect(((trusted.head as Cell).head as BigAtom).mug).toBe(mug(atom(2n ** 100n + 3n)));
    expect((trusted.tail as Cell).mug).toBe(0);
  });

  test("shmSize and writeShm leave every mug cache as it was, also when the write fails", () => {
    const { n } = withMugs();
    const before = mugsOf(n);
    shmSize(n);
    expect(mugsOf(n)).toEqual(before);
    encode(n);
    expect(mugsOf(n)).toEqual(before);
    expect(() => writeShm(n, new Uint8Array(100))).toThrow(RangeError);
    expect(mugsOf(n)).toEqual(before);
    const r = rng(9);
    const m = randomNoun(r, 500);
    const mBefore = mugsOf(m);
    encode(m);
    expect(mugsOf(m)).toEqual(mBefore);
  });

  test("two large atoms with equal bytes and cached mugs are written once", () => {
    const bytes = new Uint8Array(1000).fill(7);
    const a = atomFromBytes(bytes) as BigAtom;
    const b = atomFromBytes(bytes.slice()) as BigAtom;
    const entry = 16 + 1000;
    // Without mugs only identity counts: two entries.
    expect(shmSize(cell(a, b))).toBe(SHM_HEADER_BYTES + 32 + 2 * entry);
    mug(a);
    mug(b);
    const n = cell(a, cell(b, a));
    const buf = encode(n);
    expect(buf.length).toBe(SHM_HEADER_BYTES + 2 * 32 + entry);
    const back = readShm(buf) as Cell;
    expect(back.head).toBe((back.tail as Cell).head);
    expect(equals(back, n)).toBe(true);
    // Same mug, other bytes (a collision): both are kept.
    const c = atomFromBytes(new Uint8Array(1000).fill(8)) as BigAtom;
    c.mug = a.mug; // a forged collision
    const m = cell(a, c);
    expect(equals(readShm(encode(m)), m)).toBe(true);
    expect(shmSize(m)).toBe(SHM_HEADER_BYTES + 32 + 2 * entry);
  });
});

describe("zero-copy reads", () => {
  test("large atoms are views aliasing the source, owned by the given owner", () => {
    const big = atomFromBytes(new Uint8Array(5000).fill(3)) as BigAtom;
    const n = cell(big, cell(atom(2n ** 70n), 1));
    const buf = encode(n);
    const owner = { name: "mapping" };
    const back = readShm(buf, { zeroCopy: true, owner }) as Cell;
    const view = (back.head as BigAtom).bytes;
    expect(view.buffer).toBe(buf.buffer);
    expect(view.length).toBe(5000);
    expect((back.head as BigAtom).owner).toBe(owner);
    // Aliasing: the view sees the source's bytes (which is why callers must not write them).
    buf[view.byteOffset] = 9;
    expect(view[0]).toBe(9);
    // The 9-byte atom ends inside its last word: the view stops at its last nonzero byte.
    expect(((back.tail as Cell).head as BigAtom).bytes.length).toBe(9);
  });

  test("without zeroCopy every atom is a copy that does not see later writes", () => {
    const big = atomFromBytes(new Uint8Array(100).fill(3)) as BigAtom;
    const buf = encode(big);
    const back = readShm(buf) as BigAtom;
    expect(back.bytes.buffer).not.toBe(buf.buffer);
    expect(back.owner).toBeUndefined();
    buf.fill(0);
    expect(back.bytes[0]).toBe(3);
  });

  test("zeroCopyBytesMin: smaller atoms are packed heap copies, larger ones views that onView lists", () => {
    const smalls = [10, 100, 1000, 3000].map((n, i) => atomFromBytes(new Uint8Array(n).fill(i + 1)) as BigAtom);
    const large = atomFromBytes(new Uint8Array(5000).fill(7)) as BigAtom;
    const n = cell(smalls[0], cell(large, cell(smalls[1], cell(smalls[2], cell(smalls[3], smalls[0])))));
    const buf = encode(n);
    const owner = { name: "mapping" };
    const views: BigAtom[] = [];
    const back = readShm(buf, { zeroCopy: true, owner, zeroCopyBytesMin: 4096, onView: (a) => views.push(a) });
    expect(equals(back, n)).toBe(true);
    expect(views.length).toBe(1);
    expect(views[0].bytes.buffer).toBe(buf.buffer);
    expect(views[0].owner).toBe(owner);
    const copies: BigAtom[] = [];
    for (let c = back; c instanceof Cell; c = c.tail) if (c.head instanceof BigAtom && c.head !== views[0]) copies.push(c.head);
    expect(copies.length).toBe(4);
    for (const a of copies) {
      expect(a.owner).toBeUndefined();
      expect(a.bytes.buffer).not.toBe(buf.buffer);
      // Packed: one heap chunk, each copy 8-byte aligned.
      expect(a.bytes.buffer).toBe(copies[0].bytes.buffer);
      expect(a.bytes.byteOffset % 8).toBe(0);
    }
    // Copies do not see later writes to the source.
    buf.fill(0);
    expect(copies[1].bytes[0]).toBe(2);
  });

  test("the owner defaults to the source", () => {
    const buf = encode(atomFromBytes(new Uint8Array(64).fill(1)));
    expect((readShm(buf, { zeroCopy: true }) as BigAtom).owner).toBe(buf);
    const seg = { windows: [buf] };
    expect((readShm(seg, { zeroCopy: true }) as BigAtom).owner).toBe(seg);
  });
});

describe("windows", () => {
  /** Splits a buffer into windows of `size` bytes (views). */
  function split(buf: Uint8Array, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, Math.min(buf.length, i + size)));
    return out;
  }

  test("a noun written across small windows has the bytes of one written contiguously", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(1000 + seed);
      const n = randomNoun(r, int(r, 1, 80), 120);
      const flat = encode(n);
      for (const size of [32, 40, 64, 136, 4096]) {
        const backing = new Uint8Array(flat.length + size).fill(0x5a);
        const windows = split(backing, size);
        expect(writeShm(n, windows)).toBe(flat.length);
        expect(hexOf(backing.subarray(0, flat.length))).toBe(hexOf(flat));
        expect(equals(readShm(windows), n)).toBe(true);
        expect(equals(readShm({ windows }, { zeroCopy: true }), n)).toBe(true);
      }
    }
  }, SLOW_TEST_MS);

  test("a zero-copy atom that crosses a window border is copied, one within a window is a view", () => {
    const big = atomFromBytes(new Uint8Array(100).fill(4)) as BigAtom;
    const n = cell(big, big);
    const flat = encode(n);
    const windows = split(flat.slice(), 64); // the atom's words start at byte 48 and cross 64
    const across = readShm(windows, { zeroCopy: true }) as Cell;
    expect((across.head as BigAtom).owner).toBeUndefined();
    expect(equals(across, n)).toBe(true);
    const whole = [flat];
    const inside = readShm(whole, { zeroCopy: true }) as Cell;
    expect((inside.head as BigAtom).bytes.buffer).toBe(flat.buffer);
  });

  test("windows that are not whole words are refused", () => {
    const buf = encode(workedExample());
    expect(() => readShm([buf.subarray(0, 36), buf.subarray(36)])).toThrow(RangeError);
    expect(() => writeShm(1, [new Uint8Array(36), new Uint8Array(36)])).toThrow(RangeError);
  });
});
