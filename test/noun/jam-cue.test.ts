/**
 * jam and cue: byte-identical to vere (cross-checked against @urbit/nockjs on random nouns),
 * inverse of each other, and fine with big atoms, long lists and deep trees.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atom, atomFromBytes, BigAtom, Cell, cell, cue, equals, jam, mug, type Noun } from "../../src/noun/index.ts";
import { readBits32 } from "../../src/noun/bits.ts";
import { bytesEqual } from "../../src/noun/equals.ts";
import { Bits } from "./bit-builder.ts";
import { nockjsJam, nockjsMug } from "./nockjs-oracle.ts";
import { hex } from "./noun-text.ts";
import { copyNoun, leftDeep, longList, randomNoun, Rng } from "./random-nouns.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Heavy tests get room on a loaded machine (bun test's default is 5 s); none asserts a time. */
const SLOW_TEST_TIMEOUT_MS = 60_000;

function roundTrip(n: Noun): Uint8Array {
  const bytes = jam(n);
  const back = cue(bytes);
  expect(equals(back, n)).toBe(true);
  expect(bytesEqual(jam(back), bytes)).toBe(true);
  return bytes;
}

describe("jam and cue on random nouns", () => {
  test("jam matches @urbit/nockjs byte for byte on 400 random nouns with sharing, and cue inverts it", () => {
    const rng = new Rng(20240611);
    for (let i = 0; i < 400; i++) {
      const n = randomNoun(rng, 1 + rng.int(i < 300 ? 40 : 400));
      const bytes = roundTrip(n);
      expect(hex(bytes)).toBe(hex(nockjsJam(n)));
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("mug matches @urbit/nockjs on 200 random nouns and survives a round trip", () => {
    const rng = new Rng(7);
    for (let i = 0; i < 200; i++) {
      const n = randomNoun(rng, 1 + rng.int(60));
      const m = mug(n);
      expect(m).toBe(nockjsMug(n));
      expect(mug(cue(jam(n)))).toBe(m);
    }
  });

  test("an equal copy made of distinct objects jams to the same bytes as the original", () => {
    const rng = new Rng(99);
    for (let i = 0; i < 100; i++) {
      const n = randomNoun(rng, 1 + rng.int(200));
      expect(hex(jam(copyNoun(n)))).toBe(hex(jam(n)));
    }
  });
});

/** Tag of the token at `bit`: "atom", "cell" or "backref". */
function tokenAt(bytes: Uint8Array, bit: number): string {
  const x = readBits32(bytes, bit);
  return (x & 1) === 0 ? "atom" : (x & 2) === 0 ? "cell" : "backref";
}

describe("jam's backreference rules", () => {
  test("a repeated atom no wider than its first offset is written out again (ties included)", () => {
    // [3 3]: the first 3 starts at bit 2; met0(3) = 2 = met0(2): a tie, so written out again.
    const a = jam(cell(3, 3));
    expect(tokenAt(a, 2 + 7)).toBe("atom");
    // [4 4]: met0(4) = 3 > met0(2) = 2: a backreference.
    const b = jam(cell(4, 4));
    expect(tokenAt(b, 2 + 8)).toBe("backref");
    expect(equals(cue(b), cell(4, 4))).toBe(true);
  });

  test("a repeated big atom is always a backreference, even as a distinct object", () => {
    const bytes = new Uint8Array(40).fill(0xab);
    const x = atomFromBytes(bytes);
    const y = atomFromBytes(bytes.slice());
    const j = jam(cell(x, y));
    const headBits = 1 + 2 * 9 + 320; // tag, mat header of b = 320 (c = 9), 320 bits
    expect(tokenAt(j, 2 + headBits)).toBe("backref");
    expect(hex(j)).toBe(hex(nockjsJam(cell(x, y))));
  });

  test("equal cells are backreferenced whatever objects they are made of", () => {
    const n = cell(cell(1, 2), cell(cell(1, 2), cell(1, 2)));
    expect(hex(jam(n))).toBe("c5c8262701");
    const shared = cell(1, 2);
    expect(hex(jam(cell(shared, cell(shared, shared))))).toBe("c5c8262701");
  });

  test("many repeated atoms across a long list follow the rule as nockjs does", () => {
    const rng = new Rng(5);
    const items: Noun[] = [];
    for (let i = 0; i < 3000; i++) items.push(rng.chance(0.5) ? rng.int(1 << 12) : 2 ** 20 + rng.int(64));
    const n = items.reduceRight<Noun>((acc, x) => cell(x, acc), 0);
    expect(hex(jam(n))).toBe(hex(nockjsJam(n)));
  });
});

describe("cue accepts what vere accepts", () => {
  test("an atom with a non-minimal length decodes to its value", () => {
    expect(cue(new Bits().atom(5, 10).bytes())).toBe(5);
    expect(cue(new Bits().atom(0, 7).bytes())).toBe(0);
    // 300 bits holding a small value: canonical result is a number.
    expect(cue(new Bits().atom(123456789, 300).bytes())).toBe(123456789);
    const big = (1n << 100n) + 7n;
    const n = cue(new Bits().atom(big, 200).bytes());
    expect(n).toBeInstanceOf(BigAtom);
    expect(equals(n, atom(big))).toBe(true);
  });

  test("a repeated atom written out instead of referenced decodes the same", () => {
    const fast = 0x74736166n;
    const full = 0x6c6c7566n;
    const bits = new Bits().cell().atom(fast).cell().atom(full).atom(fast);
    expect(equals(cue(bits.bytes()), cell(Number(fast), cell(Number(full), Number(fast))))).toBe(true);
  });

  test("bits after the root are ignored", () => {
    const j = jam(cell(1, 2));
    const longer = new Uint8Array(j.length + 5).fill(0xff);
    longer.set(j);
    // Only the bits past the root's last bit matter: set them in the root's own last byte too.
    longer[j.length - 1] |= 0x80;
    expect(equals(cue(longer), cell(1, 2))).toBe(true);
  });

  test("a backreference to an atom or a finished cell resolves to that noun", () => {
    // [[1 2] [backref 2] backref 4]: the cell at bit 2, atom 1 at bit 4.
    const bits = new Bits().cell().cell().atom(1).atom(2).cell().backref(2).backref(4);
    expect(equals(cue(bits.bytes()), cell(cell(1, 2), cell(cell(1, 2), 1)))).toBe(true);
  });
});

describe("big atoms", () => {
  test("atoms of 7 to 70 bytes at every bit offset round-trip and match nockjs", () => {
    const rng = new Rng(3);
    for (let length = 7; length <= 70; length++) {
      for (let shift = 0; shift < 40; shift += 3) {
        const bytes = rng.bytes(length);
        bytes[length - 1] |= 1;
        const a = atomFromBytes(bytes);
        // A prefix atom of `shift` bits moves the big atom's bits to other positions.
        const n = cell(2 ** shift, a);
        const j = roundTrip(n);
        if (shift % 9 === 0) expect(hex(j)).toBe(hex(nockjsJam(n)));
      }
    }
  });

  test("big atoms that are unaligned views of larger buffers jam like fresh copies", () => {
    const rng = new Rng(11);
    const raw = rng.bytes(5000);
    for (let off = 0; off < 8; off++) {
      const view = raw.subarray(off, off + 4093);
      view[view.length - 1] = 0x80;
      const a = atomFromBytes(view);
      const b = atomFromBytes(view.slice());
      expect(hex(jam(cell(7, a)))).toBe(hex(jam(cell(7, b))));
      expect(mug(a)).toBe(mug(b));
    }
  });

  test("a 1 MiB atom round-trips at several bit offsets", () => {
    const rng = new Rng(12);
    const bytes = rng.bytes(1 << 20);
    bytes[bytes.length - 1] = 0xff;
    const a = atomFromBytes(bytes);
    for (const prefix of [0, 1, 3, 8, 13, 31]) roundTrip(cell(prefix, a));
  }, SLOW_TEST_TIMEOUT_MS);

  test("a 64 MiB atom round-trips", () => {
    const length = 64 << 20;
    const bytes = new Uint8Array(length);
    const rng = new Rng(64);
    const block = rng.bytes(1 << 16);
    for (let i = 0; i < length; i += block.length) {
      block[i % 997] ^= i & 0xff; // vary the blocks a little
      bytes.set(block, i);
    }
    bytes[length - 1] = 0x5a;
    const a = atomFromBytes(bytes);
    const j = jam(a);
    expect(j.length).toBe(Math.ceil((1 + 2 * 30 + length * 8 - 1) / 8));
    const back = cue(j);
    expect(back).toBeInstanceOf(BigAtom);
    expect(bytesEqual((back as BigAtom).bytes, bytes)).toBe(true);
    expect(bytesEqual(jam(back), j)).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);
});

describe("long lists and deep trees in a default process", () => {
  test("a 1,000,000-item list of distinct atoms: jam, cue, mug and equals", () => {
    const n = longList(1_000_000);
    const j = roundTrip(n);
    expect(mug(n)).toBe(mug(cue(j)));
    expect(equals(n, copyNoun(n))).toBe(true);
    expect(equals(n, longList(1_000_000, (i) => (i === 999_999 ? 7 : i)))).toBe(false);
  }, SLOW_TEST_TIMEOUT_MS);

  test("a 1,000,000-item list of one repeated big atom is a run of backreferences", () => {
    const a = atomFromBytes(new Uint8Array(16).fill(9));
    const n = longList(1_000_000, () => a);
    const j = roundTrip(n);
    // The first copy is written out; every later one is a backreference of at most 2 + 2*6 + 6 bits.
    expect(j.length).toBeLessThan(1_000_000 * 3);
  }, SLOW_TEST_TIMEOUT_MS);

  test("a 1,000,000-deep right-leaning tree: jam, cue, mug and equals", () => {
    let n: Noun = 0;
    for (let i = 0; i < 1_000_000; i++) n = new Cell(i % 3, n);
    const j = roundTrip(n);
    expect(mug(cue(j))).toBe(mug(n));
    expect(equals(copyNoun(n), n)).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);

  test("a 1,000,000-deep left-leaning tree: jam, cue, mug and equals", () => {
    const n = leftDeep(1_000_000);
    const j = roundTrip(n);
    expect(mug(cue(j))).toBe(mug(n));
    expect(equals(leftDeep(1_000_000), n)).toBe(true);
  }, SLOW_TEST_TIMEOUT_MS);
});
