/**
 * The walk that finds an event's atoms for the blob store (src/mars/log/large-atoms.ts): each
 * large atom once, in walk order, and every mug as it was (the walk marks the mug slots).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { atomFromBytes, BigAtom, Cell, cell, mug, type Noun } from "../../src/noun/index.ts";
import { largeAtoms } from "../../src/mars/log/large-atoms.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function mugsOf(n: Noun, out: number[] = []): number[] {
  const stack: Noun[] = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x instanceof Cell) {
      out.push(x.mug);
      stack.push(x.tail, x.head);
    } else if (x instanceof BigAtom) out.push(x.mug);
  }
  return out;
}

describe("largeAtoms", () => {
  test("each large atom once, shared cells walked once, small atoms skipped, mugs restored", () => {
    const a = atomFromBytes(new Uint8Array(300).fill(1)) as BigAtom;
    const b = atomFromBytes(new Uint8Array(200).fill(2)) as BigAtom;
    const small = atomFromBytes(new Uint8Array(50).fill(3));
    const shared = cell(a, cell(small, b));
    const noun = cell(shared, cell(shared, cell(b, cell(a, 7))));
    mug(noun); // every cell and atom has its mug cached
    const before = mugsOf(noun);
    expect(largeAtoms(noun, 100)).toEqual([a, b]);
    expect(mugsOf(noun)).toEqual(before);
    // A second walk sees no marks left behind.
    expect(largeAtoms(noun, 250)).toEqual([a]);
    // Atoms whose mug is not computed yet (0) are found and left at 0.
    const fresh = atomFromBytes(new Uint8Array(400).fill(4)) as BigAtom;
    const n2 = cell(fresh, fresh);
    expect(largeAtoms(n2, 100)).toEqual([fresh]);
    expect(fresh.mug).toBe(0);
    expect(n2.mug).toBe(0);
  });
});
