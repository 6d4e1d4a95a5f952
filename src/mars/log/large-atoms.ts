/**
 * The atoms of an event that go to the blob store (docs/blob-store.md, "In the log").
 *
 * Before an event's record is written, every large atom it holds that is not already a blob
 * (`BigAtom.source`) is written to the store, so the record names blobs that are durable. This
 * walk finds them: atoms of at least `bytesMin` bytes, each once (a cell or atom shared within
 * the event is visited once). Iterative: an event may be a 100,000-file commit.
 *
 * "Visited" is a mark in the mug slot (`ShmMarks`, src/noun/flat/marks.ts, restored before the
 * walk returns), not a Set: a commit of 100,000 files is about a million cells, and the Sets cost
 * 0.3-0.5 s of every such event's persist (bench/commit.ts, issue 15).
 */
import { BigAtom } from "../../noun/atom.ts";
import { Cell } from "../../noun/cell.ts";
import type { Noun } from "../../noun/noun.ts";
import { ShmMarks } from "../../noun/flat/marks.ts";

/** The distinct heap or segment-backed atoms of `noun` of at least `bytesMin` bytes, in walk order. */
export function largeAtoms(noun: Noun, bytesMin: number): BigAtom[] {
  const out: BigAtom[] = [];
  const marks = new ShmMarks();
  const stack: Noun[] = [noun];
  try {
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n instanceof Cell) {
        if (n.mug < 0) continue;
        marks.mark(n, VISITED);
        stack.push(n.tail, n.head);
        continue;
      }
      if (!(n instanceof BigAtom) || n.mug < 0 || n.source !== undefined || n.byteLength < bytesMin) continue;
      marks.mark(n, VISITED);
      out.push(n);
    }
  } finally {
    marks.restore();
  }
  return out;
}

/** The mark of a visited cell or atom: any negative number, which no mug is. */
const VISITED = -1;
