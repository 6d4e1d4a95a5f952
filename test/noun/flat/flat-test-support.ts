/**
 * Shared by the raw shared-memory format tests and their child fixture: a seeded PRNG, random
 * nouns with sharing and large atoms, and an iterative noun comparison.
 */
import { atom, atomFromBytes, BigAtom, Cell, cell, type Noun } from "../../../src/noun/index.ts";

import { int, rng } from "../../support/prng.ts";

export { int, rng } from "../../support/prng.ts";

/** Atoms on and around every boundary the format cares about. */
export const EDGE_ATOMS: readonly Noun[] = [
  0,
  1,
  0xffffffff,
  2 ** 32,
  2 ** 53 - 1,
  atom(2n ** 53n),
  atom(2n ** 56n - 1n),
  atom(2n ** 56n),
  atom(2n ** 62n - 1n),
  atom(2n ** 62n),
  atom(2n ** 63n),
  atom(2n ** 64n - 1n),
  atom(2n ** 64n),
  atom(2n ** 128n - 1n),
];

/** A random atom: mostly small, sometimes on an edge, sometimes large (up to `bigBytesMax`). */
export function randomAtom(r: () => number, bigBytesMax = 200): Noun {
  const k = r();
  if (k < 0.4) return int(r, 0, 300);
  if (k < 0.55) return int(r, 0, 2 ** 32);
  if (k < 0.65) return Math.floor(r() * 2 ** 53);
  if (k < 0.75) return EDGE_ATOMS[int(r, 0, EDGE_ATOMS.length - 1)];
  const bytes = new Uint8Array(int(r, 7, bigBytesMax));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (r() * 256) | 0;
  bytes[bytes.length - 1] |= 1;
  return atomFromBytes(bytes);
}

/**
 * A random noun of about `cells` cells built bottom-up from a pool, so subtrees and atoms are
 * reached more than once by identity (a DAG), as state nouns are. No recursion.
 */
export function randomNoun(r: () => number, cells: number, bigBytesMax = 200): Noun {
  const pool: Noun[] = [];
  const pick = (): Noun => {
    if (pool.length === 0 || r() < 0.35) return randomAtom(r, bigBytesMax);
    // Lean towards recent nouns so the result is deep as well as shared.
    const i = r() < 0.7 ? pool.length - 1 - int(r, 0, Math.min(3, pool.length - 1)) : int(r, 0, pool.length - 1);
    return pool[i];
  };
  let last: Noun = randomAtom(r, bigBytesMax);
  for (let i = 0; i < cells; i++) {
    last = cell(pick(), pick());
    pool.push(last);
  }
  return r() < 0.1 ? randomAtom(r, bigBytesMax) : last;
}

/** `n` items, each item a small atom: `[0 1 2 ... ~]`. */
export function longList(n: number): Noun {
  let out: Noun = 0;
  for (let i = n - 1; i >= 0; i--) out = new Cell(i, out);
  return out;
}

/** A tree nested `depth` deep in the head: `[[[[0 0] 1] 2] ...]`. */
export function deepHeadTree(depth: number): Noun {
  let out: Noun = 0;
  for (let i = 0; i < depth; i++) out = new Cell(out, i);
  return out;
}

/** A balanced tree of the given depth with distinct small atoms at the leaves. */
export function balancedTree(depth: number): Noun {
  let level: Noun[] = [];
  for (let i = 0; i < 2 ** depth; i++) level.push(i);
  while (level.length > 1) {
    const next: Noun[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(new Cell(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

/** Distinct cells and BigAtoms reachable from `n` (by identity). */
export function distinctObjects(n: Noun): number {
  const seen = new Set<object>();
  const stack: Noun[] = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x === "number" || seen.has(x)) continue;
    seen.add(x);
    if (x instanceof Cell) stack.push(x.head, x.tail);
  }
  return seen.size;
}

/** Distinct cells reachable from `n` (by identity). */
export function distinctCells(n: Noun): number {
  const seen = new Set<object>();
  const stack: Noun[] = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (!(x instanceof Cell) || seen.has(x)) continue;
    seen.add(x);
    stack.push(x.head, x.tail);
  }
  return seen.size;
}

/** Every cell and BigAtom's mug, in walk order (to check a walk left the caches alone). */
export function mugsOf(n: Noun): number[] {
  const out: number[] = [];
  const seen = new Set<object>();
  const stack: Noun[] = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x === "number" || seen.has(x)) continue;
    seen.add(x);
    if (x instanceof Cell || x instanceof BigAtom) out.push(x.mug);
    if (x instanceof Cell) stack.push(x.head, x.tail);
  }
  return out;
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

/** The nouns the two-process test sends, rebuilt identically on both sides from kind and seed. */
export function fixtureNoun(kind: string, seed: number): Noun {
  const r = rng(seed);
  switch (kind) {
    case "random": {
      // A DAG with large atoms, plus one atom of a few MiB that crosses window borders.
      const big = new Uint8Array(3 * 1024 * 1024 + 5);
      for (let i = 0; i < big.length; i += 4096) big[i] = (r() * 256) | 0;
      big[big.length - 1] = 1;
      return cell(randomNoun(r, 2000, 3000), cell(atomFromBytes(big), randomNoun(r, 500)));
    }
    case "list":
      return longList(1_000_000);
    case "deep":
      return deepHeadTree(1_000_000);
    default:
      throw new Error(`Unknown fixture noun "${kind}"`);
  }
}
