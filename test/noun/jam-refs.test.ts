/**
 * Jam with refs (docs/nouns.md, "Jam with refs"): atoms named by `refOf` become atom-0
 * placeholders listed by bit offset, their bytes never read; cue with those offsets substituted
 * returns the same noun, and refuses a table that does not match the jam.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  atomFromBytes,
  BigAtom,
  Cell,
  CueDecoder,
  CueError,
  cue,
  cueFromChunks,
  equals,
  jam,
  jamLength,
  jamToSink,
  measureJam,
  mug,
  NounErrorCode,
  type Atom,
  type AtomBytesSource,
  type JamRefs,
  type Noun,
} from "../../src/noun/index.ts";
import { bytesEqual } from "../../src/noun/equals.ts";
import { jamHash } from "../../src/noun/jam-hash.ts";
import { mugBytes } from "../../src/noun/mug.ts";
import { Rng } from "./random-nouns.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** A source whose bytes() throws: a jam that maps or reads the whole atom fails the test. */
class UnreadableSource implements AtomBytesSource {
  readonly byteLength: number;
  readonly bitLength: number;
  readonly contentKey: string;
  constructor(private readonly hidden: Uint8Array, key: string) {
    this.byteLength = hidden.length;
    this.bitLength = (hidden.length - 1) * 8 + (32 - Math.clz32(hidden[hidden.length - 1]));
    this.contentKey = key;
  }
  bytes(): Uint8Array {
    throw new Error(`bytes() of ${this.contentKey} was read`);
  }
  readRange(offset: number, target: Uint8Array): void {
    target.set(this.hidden.subarray(offset, offset + target.length));
  }
}

function randomBytes(rng: Rng, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = rng.int(256);
  b[length - 1] = 1 + rng.int(255);
  return b;
}

/** A heap atom and a sourced atom of the same value. */
function pair(rng: Rng, length: number, key: string): { heap: BigAtom; sourced: BigAtom } {
  const bytes = randomBytes(rng, length);
  const heap = atomFromBytes(bytes) as BigAtom;
  return { heap, sourced: BigAtom.fromSource(new UnreadableSource(bytes, key), mugBytes(bytes)) };
}

interface Ref {
  key: string;
}

function refsOf(): JamRefs<Ref> {
  return { refOf: (a) => (a.source !== undefined ? { key: a.source.contentKey } : undefined), table: [] };
}

/** The substitution map for a table, from key to the heap atom of that key. */
function substitution(table: JamRefs<Ref>["table"], byKey: Map<string, Atom>): Map<number, Atom> {
  return new Map(table.map((e) => [e.bitOffset, byKey.get(e.ref.key)!]));
}

function bitAt(bytes: Uint8Array, bit: number): number {
  return (bytes[bit >> 3] >> (bit & 7)) & 1;
}

describe("jam with refs", () => {
  const rng = new Rng(1313);
  const big = pair(rng, 10_000, "big"); // sampled by the jam hash: readRange, never bytes()
  const small = pair(rng, 40, "small"); // hashed by its stored mug
  const other = pair(rng, 10_000, "other");
  const byKey = new Map<string, Atom>([
    ["big", big.heap],
    ["small", small.heap],
    ["other", other.heap],
  ]);
  const heapNoun = (): Noun => new Cell(new Cell(1, big.heap), new Cell(small.heap, new Cell(other.heap, 99)));
  const sourcedNoun = (): Noun => new Cell(new Cell(1, big.sourced), new Cell(small.sourced, new Cell(other.sourced, 99)));

  test("writes each sourced atom as a two-bit atom 0, lists it by offset in order, and cue with the table gives the noun back", () => {
    const refs = refsOf();
    const bytes = jam(sourcedNoun(), refs);
    expect(refs.table.map((e) => e.ref.key)).toEqual(["big", "small", "other"]);
    const offsets = refs.table.map((e) => e.bitOffset);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    for (const o of offsets) expect([bitAt(bytes, o), bitAt(bytes, o + 1)]).toEqual([0, 1]);
    expect(bytes.length).toBeLessThan(64); // no atom's bytes are in it
    const back = cue(bytes, { substitute: substitution(refs.table, byKey) });
    expect(equals(back, heapNoun())).toBe(true);
    expect(mug(back)).toBe(mug(heapNoun()));
  });

  test("a later equal atom backrefs to the placeholder, and cue resolves the backref to the substituted atom", () => {
    const again = BigAtom.fromSource(big.sourced.source!, big.sourced.mug); // another atom, same source
    const n = new Cell(big.sourced, new Cell(again, big.sourced));
    const refs = refsOf();
    const bytes = jam(n, refs);
    expect(refs.table.length).toBe(1);
    expect(refs.table[0].bitOffset).toBe(2); // right after the cell's two-bit tag
    const back = cue(bytes, { substitute: substitution(refs.table, byKey) }) as Cell;
    const tail = back.tail as Cell;
    expect(back.head).toBe(big.heap);
    expect(tail.head).toBe(big.heap);
    expect(tail.tail).toBe(big.heap);
    // Unsubstituted, both backrefs land on the placeholder: [0 0 0].
    expect(equals(cue(bytes), new Cell(0, new Cell(0, 0)))).toBe(true);
    expect(jamLength(n, refsOf())).toBe(bytes.length);
  });

  test("a sourced atom has the jam hash of its value, so cells over it hash and compare as over the heap atom", () => {
    const a = new Cell(1, big.sourced);
    const b = new Cell(1, big.heap);
    expect(jamHash(a)).toBe(jamHash(b));
    expect(jamHash(new Cell(small.sourced, 2))).toBe(jamHash(new Cell(small.heap, 2)));
    expect(equals(new Cell(1, big.sourced), new Cell(1, BigAtom.fromSource(big.sourced.source!, big.sourced.mug)))).toBe(true);
  });

  test("refOf answering undefined writes exactly jam's bytes, and heap atoms are read as usual", () => {
    const none: JamRefs<Ref> = { refOf: () => undefined, table: [] };
    expect(bytesEqual(jam(heapNoun(), none), jam(heapNoun()))).toBe(true);
    expect(none.table.length).toBe(0);
  });

  test("jamToSink, measureJam and jamLength agree with jam, with a plan replayed", async () => {
    const expected = refsOf();
    const bytes = jam(sourcedNoun(), expected);
    const measured = refsOf();
    const m = measureJam(sourcedNoun(), measured);
    expect(m.bytes).toBe(bytes.length);
    expect(measured.table).toEqual(expected.table);
    const streamed = refsOf();
    const chunks: Uint8Array[] = [];
    const total = await jamToSink(sourcedNoun(), { write: (c) => void chunks.push(c.slice()) }, 3, m.plan, streamed);
    expect(total).toBe(bytes.length);
    expect(bytesEqual(Buffer.concat(chunks), bytes)).toBe(true);
    expect(streamed.table).toEqual(expected.table);
  });

  test("a placeholder at the root: the whole noun is one ref", () => {
    const refs = refsOf();
    const bytes = jam(big.sourced, refs);
    expect(refs.table).toEqual([{ bitOffset: 0, ref: { key: "big" } }]);
    expect(cue(bytes, { substitute: new Map([[0, big.heap]]) })).toBe(big.heap);
  });

  test("cueFromChunks substitutes across chunk seams (one byte at a time)", async () => {
    const refs = refsOf();
    const bytes = jam(sourcedNoun(), refs);
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    const back = await cueFromChunks(chunks, { substitute: substitution(refs.table, byKey) });
    expect(equals(back, heapNoun())).toBe(true);
  });
});

describe("cue with substitution refuses a table that does not match the jam", () => {
  const rng = new Rng(99);
  const big = pair(rng, 5000, "big");
  const refs: JamRefs<Ref> = { refOf: (a) => (a.source !== undefined ? { key: "big" } : undefined), table: [] };
  // [[7 big] 123456]: the cell at 0, the cell at 2, 7 at 4, big's placeholder after it.
  const bytes = jam(new Cell(new Cell(7, big.sourced), 123456), refs);
  const at = refs.table[0].bitOffset;

  function code(substitute: Map<number, Atom>): string {
    try {
      cue(bytes, { substitute });
    } catch (e) {
      expect(e).toBeInstanceOf(CueError);
      return (e as CueError).code;
    }
    return "decoded";
  }

  test("the right table decodes", () => {
    expect(equals(cue(bytes, { substitute: new Map([[at, big.heap]]) }), new Cell(new Cell(7, big.heap), 123456))).toBe(true);
  });

  test("an offset that holds a cell, or an atom other than 0", () => {
    expect(code(new Map([[2, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
    expect(code(new Map([[4, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
  });

  test("an offset inside a token (never a noun's start)", () => {
    expect(code(new Map([[at + 1, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
    expect(code(new Map([[5, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
  });

  test("an offset beyond the noun's end, also next to a good one", () => {
    expect(code(new Map([[bytes.length * 8 + 40, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
    expect(code(new Map([[at, big.heap], [10_000, big.heap]]))).toBe(NounErrorCode.cue.refUnmatched);
  });

  test("without substitution the placeholder is plain atom 0 (a jam with refs is a valid jam)", () => {
    expect(equals(cue(bytes), new Cell(new Cell(7, 0), 123456))).toBe(true);
  });

  test("a bad offset is refused by the streaming decoder too", () => {
    const d = new CueDecoder({ substitute: new Map([[at + 1, big.heap]]) });
    expect(() => {
      for (const b of bytes) d.push(Uint8Array.of(b));
      d.end();
    }).toThrow(CueError);
  });
});
