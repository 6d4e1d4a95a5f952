/**
 * cue on truncated, garbage and hostile input: a CueError saying what and where, quickly, and
 * without large allocations.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, cell, cue, cueFromChunks, CueError, jam, NounErrorCode, type Noun } from "../../src/noun/index.ts";
import { Bits } from "./bit-builder.ts";
import { randomNoun, Rng } from "./random-nouns.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Heavy tests get room on a loaded machine (bun test's default is 5 s); none asserts a time. */
const SLOW_TEST_TIMEOUT_MS = 60_000;

function cueError(bytes: Uint8Array): CueError {
  try {
    cue(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(CueError);
    return e as CueError;
  }
  throw new Error("cue accepted bytes it should refuse");
}

async function streamError(chunks: Uint8Array[]): Promise<CueError> {
  try {
    await cueFromChunks(chunks);
  } catch (e) {
    expect(e).toBeInstanceOf(CueError);
    return e as CueError;
  }
  throw new Error("cueFromChunks accepted bytes it should refuse");
}

/** Resident set size in bytes, from /proc (what the kernel has actually handed us). */
function rssBytes(): number {
  return process.memoryUsage().rss;
}

const GIB = 2 ** 30;

describe("truncated input", () => {
  test("empty input is cut short at bit 0", () => {
    const e = cueError(new Uint8Array(0));
    expect(e.code).toBe(NounErrorCode.cue.truncated);
    expect(e.bit).toBe(0);
    expect(e.message).toContain("bit 0");
  });

  test("every strict prefix of a jam is refused as truncated, one-shot and streamed", async () => {
    const rng = new Rng(61);
    for (let i = 0; i < 40; i++) {
      const n: Noun = i === 0 ? cell(atomFromBytes(rng.bytes(100).fill(7)), 5) : randomNoun(rng, 1 + rng.int(60));
      const j = jam(n);
      for (let cut = 0; cut < j.length; cut++) {
        expect(cueError(j.subarray(0, cut)).code).toBe(NounErrorCode.cue.truncated);
      }
      const cut = rng.int(j.length);
      expect((await streamError([j.subarray(0, Math.floor(cut / 2)), j.subarray(Math.floor(cut / 2), cut)])).code).toBe(NounErrorCode.cue.truncated);
    }
  }, SLOW_TEST_TIMEOUT_MS);

  test("a zero byte where a length prefix continues is truncation, not a bad prefix", () => {
    // Tag 0 then 8 zeros at the very end: the prefix might still continue.
    expect(cueError(Uint8Array.of(0x00, 0x00)).code).toBe(NounErrorCode.cue.truncated);
  });
});

describe("hostile lengths", () => {
  test("a length prefix of 64 zeros is refused", () => {
    const e = cueError(new Bits().put(0, 1).zeros(64).put(1, 1).zeros(100).bytes());
    expect(e.code).toBe(NounErrorCode.cue.lengthPrefixTooLong);
    expect(e.message).toContain("64 or more zeros");
  });

  test("an atom claiming 2^50 bits fails at once without allocating", () => {
    const before = rssBytes();
    // tag 0, 51 zeros, 1, 50 low bits of the length: b = 2^50 + 12345.
    const e = cueError(new Bits().put(0, 1).zeros(51).put(1, 1).put(12345, 50).zeros(64).bytes());
    expect(e.code).toBe(NounErrorCode.cue.atomTooLong);
    expect(rssBytes() - before).toBeLessThan(GIB / 4);
  });

  test("an atom claiming 2^34 bits of a 20-byte input is refused before allocating", async () => {
    const before = rssBytes();
    const bits = new Bits().put(0, 1).zeros(35).put(1, 1).put(0, 34).zeros(80);
    const e = cueError(bits.bytes());
    expect(e.code).toBe(NounErrorCode.cue.truncated);
    expect(e.message).toContain("claims 17179869184 bits");
    // Streamed, the length cannot be checked against the end up front: the buffer grows only
    // as bytes arrive, so the end still comes before any large allocation.
    const s = await streamError([bits.bytes()]);
    expect(s.code).toBe(NounErrorCode.cue.truncated);
    expect(rssBytes() - before).toBeLessThan(GIB / 4);
  });

  test("an atom claiming more than 4 GiB is refused even while streaming", async () => {
    const bits = new Bits().put(0, 1).zeros(37).put(1, 1).put(5, 36).zeros(80);
    expect((await streamError([bits.bytes()])).code).toBe(NounErrorCode.cue.atomTooLong);
  });
});

describe("bad backreferences", () => {
  test("a backreference at the top level is refused", () => {
    const e = cueError(new Bits().backref(0).bytes());
    expect(e.code).toBe(NounErrorCode.cue.backrefTopLevel);
    expect(e.bit).toBe(0);
  });

  test("a backreference to an offset where nothing starts is refused", () => {
    const e = cueError(new Bits().cell().atom(5).backref(3).bytes());
    expect(e.code).toBe(NounErrorCode.cue.backrefUnknown);
    expect(e.message).toContain("points at bit 3");
    expect(e.bit).toBe(2 + 8); // after the cell tag and the 8 bits of atom 5
  });

  test("a backreference to a later offset is refused", () => {
    expect(cueError(new Bits().cell().atom(5).backref(500).zeros(600).bytes()).code).toBe(NounErrorCode.cue.backrefUnknown);
  });

  test("a backreference to a cell still being decoded (its ancestor) is refused", () => {
    const e = cueError(new Bits().cell().cell().atom(1).backref(0).atom(2).bytes());
    expect(e.code).toBe(NounErrorCode.cue.backrefUnknown);
    expect(e.message).toContain("not finished");
  });

  test("a backreference whose offset is wider than 53 bits is refused", () => {
    expect(cueError(new Bits().cell().atom(1).put(3, 2).mat(2n ** 60n).bytes()).code).toBe(NounErrorCode.cue.backrefUnknown);
  });
});

describe("garbage", () => {
  test("random bytes and bit-flipped jams decode or throw CueError, never anything else", async () => {
    const rng = new Rng(62);
    const before = rssBytes();
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = rng.bytes(1 + rng.int(200));
      } else {
        bytes = jam(randomNoun(rng, 1 + rng.int(80))).slice();
        for (let k = 0; k <= rng.int(3); k++) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      }
      try {
        cue(bytes);
      } catch (e) {
        if (!(e instanceof CueError)) throw e;
      }
      if (i % 50 === 0) {
        try {
          await cueFromChunks([bytes.subarray(0, 3), bytes.subarray(3)]);
        } catch (e) {
          if (!(e instanceof CueError)) throw e;
        }
      }
    }
    expect(rssBytes() - before).toBeLessThan(GIB / 4);
  }, SLOW_TEST_TIMEOUT_MS);

  test("the decoder is not left in a bad state: cue works normally after a refusal", () => {
    cueError(new Bits().backref(0).bytes());
    expect(cue(jam(cell(1, 2)))).toEqual(cell(1, 2));
  });
});
