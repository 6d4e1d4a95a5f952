/**
 * A noun is an atom or a cell (docs/nouns.md). The predicates here are the only place that
 * knows how the variants are told apart.
 */
import { BigAtom, type Atom } from "./atom.ts";
import { Cell } from "./cell.ts";
import { FileAtom } from "./file-atom.ts";

export type Noun = Atom | Cell;

export function isCell(n: Noun): n is Cell {
  return n instanceof Cell;
}

export function isAtom(n: Noun): n is Atom {
  return !(n instanceof Cell);
}

export function isBigAtom(n: Noun): n is BigAtom {
  return n instanceof BigAtom;
}

export function isFileAtom(n: Noun): n is FileAtom {
  return n instanceof FileAtom;
}

/** A right-leaning list `[a b c ~]` from items (builds from the end: no recursion). */
export function list(items: readonly Noun[]): Noun {
  let out: Noun = 0;
  for (let i = items.length - 1; i >= 0; i--) out = new Cell(items[i], out);
  return out;
}

/** A tuple `[a b c]` (the last item is the tail, no `~`): `tuple(a, b, c)` is `[a [b c]]`. */
export function tuple(...items: Noun[]): Noun {
  if (items.length === 0) throw new RangeError("A tuple needs at least one item");
  let out = items[items.length - 1];
  for (let i = items.length - 2; i >= 0; i--) out = new Cell(items[i], out);
  return out;
}
