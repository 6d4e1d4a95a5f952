/**
 * Every vector of noun-vectors.json (data/, a copy of the project's shared vectors from vere,
 * urbit/noun and nockjs) and of vere's own tests (docs/nouns.md, "Vectors"): jam bytes,
 * cue back, and mugs.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { cue, equals, jam, mug } from "../../src/noun/index.ts";
import { fromHex, hex, nounFromJson, parseNoun } from "./noun-text.ts";
import { JAM_VECTORS, MUG_VECTORS } from "./vere-vectors.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

interface JsonJamVector {
  source: string;
  hoon: string;
  noun: unknown;
  jamBytesLE: string;
  jamBits: number;
  nounMug: number;
}
interface JsonMugVector {
  source: string;
  hoon: string;
  noun: unknown;
  mug: number;
}

const vectors = (await Bun.file(new URL("./data/noun-vectors.json", import.meta.url)).json()) as {
  jam: JsonJamVector[];
  mug: JsonMugVector[];
};

describe("noun-vectors.json", () => {
  test("has the vectors this suite expects", () => {
    expect(vectors.jam.length).toBeGreaterThanOrEqual(45);
    expect(vectors.mug.length).toBeGreaterThanOrEqual(18);
  });

  for (const v of vectors.jam) {
    test(`jam of ${v.source} ${v.hoon} is ${v.jamBytesLE.slice(0, 24)}, and cue gives the noun back`, () => {
      const n = nounFromJson(v.noun);
      const bytes = jam(n);
      expect(hex(bytes)).toBe(v.jamBytesLE);
      expect(bytes.length).toBe(Math.ceil(v.jamBits / 8));
      const back = cue(fromHex(v.jamBytesLE));
      expect(equals(back, n)).toBe(true);
      expect(hex(jam(back))).toBe(v.jamBytesLE);
      expect(mug(n)).toBe(v.nounMug);
      expect(mug(back)).toBe(v.nounMug);
    });
  }

  for (const v of vectors.mug) {
    test(`mug of ${v.source} ${v.hoon} is ${v.mug}`, () => {
      expect(mug(nounFromJson(v.noun))).toBe(Number(v.mug));
    });
  }
});

describe("vere's vectors (docs/nouns.md)", () => {
  for (const v of JAM_VECTORS) {
    test(`jam of ${v.name} is ${v.jam.slice(0, 24)}, and cue gives the noun back`, () => {
      const n = parseNoun(v.noun);
      expect(hex(jam(n))).toBe(v.jam);
      const back = cue(fromHex(v.jam));
      expect(equals(back, n)).toBe(true);
      expect(hex(jam(back))).toBe(v.jam);
    });
  }

  for (const v of MUG_VECTORS) {
    test(`mug of ${v.name} is 0x${v.mug.toString(16)}`, () => {
      expect(mug(parseNoun(v.noun))).toBe(v.mug);
    });
  }

  test("the deep vector of the table reads the same as the JSON's", () => {
    const fromJson = vectors.jam.find((v) => v.hoon.startsWith("deep"))!;
    expect(equals(parseNoun(JAM_VECTORS.find((v) => v.name === "deep")!.noun), nounFromJson(fromJson.noun))).toBe(true);
  });
});
