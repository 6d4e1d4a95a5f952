/**
 * Hoon's noun orders, which shape its `map` treap (hoon.hoon `dor`, `gor`, `mor`):
 * - `dor`: total order on nouns: atoms before cells, atoms by value, cells by head then tail;
 * - `gor`: by mug, ties broken by `dor` (the treap's search order);
 * - `mor`: by the mug of the mug, ties by `dor` (the treap's heap order: smaller is nearer the root).
 * Using Hoon's exact orders makes the file store's state a real `(map path mime)` that Hoon code
 * could read, and its shape (hence its mug) a function of its contents alone.
 */
import { mug } from "../../noun/mug.ts";
import { equals } from "../../noun/equals.ts";
import type { Noun } from "../../noun/noun.ts";
import { Cell } from "../../noun/cell.ts";
import { toBytes, type BigAtom } from "../../noun/atom.ts";

/** `(dor a b)`: whether `a` is at or before `b`. Iterative: one step per cell descended. */
export function dor(a: Noun, b: Noun): boolean {
  for (;;) {
    if (equals(a, b)) return true;
    if (a instanceof Cell) {
      if (!(b instanceof Cell)) return false;
      if (equals(a.head, b.head)) {
        a = a.tail;
        b = b.tail;
      } else {
        a = a.head;
        b = b.head;
      }
      continue;
    }
    if (b instanceof Cell) return true;
    return atomLessThan(a as number | BigAtom, b as number | BigAtom);
  }
}

/** `(gor a b)`: search order. */
export function gor(a: Noun, b: Noun): boolean {
  const c = mug(a);
  const d = mug(b);
  return c === d ? dor(a, b) : c < d;
}

/** `(mor a b)`: priority order (`a` belongs above `b`). */
export function mor(a: Noun, b: Noun): boolean {
  const c = mug(mug(a));
  const d = mug(mug(b));
  return c === d ? dor(a, b) : c < d;
}

/** `(lth a b)` on atoms (numbers or byte arrays, never bigint). */
export function atomLessThan(a: number | BigAtom, b: number | BigAtom): boolean {
  if (typeof a === "number" && typeof b === "number") return a < b;
  if (typeof a === "number") return true; // a BigAtom is above every direct atom
  if (typeof b === "number") return false;
  const x = toBytes(a);
  const y = toBytes(b);
  if (x.length !== y.length) return x.length < y.length;
  for (let i = x.length - 1; i >= 0; i--) {
    if (x[i] !== y[i]) return x[i] < y[i];
  }
  return false;
}
