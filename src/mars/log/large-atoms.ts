/**
 * The atoms of an event that go to the blob store (docs/blob-store.md, "In the log").
 *
 * Before an event's record is written, every large atom it holds that is not already a blob
 * (`BigAtom.source`) is written to the store, so the record names blobs that are durable. This
 * walk finds them: atoms of at least `bytesMin` bytes, each once (a cell or atom shared within
 * the event is visited once). Iterative: an event may be a 100,000-file commit.
 */
import { BigAtom } from "../../noun/atom.ts";
import { Cell } from "../../noun/cell.ts";
import type { Noun } from "../../noun/noun.ts";

/** The distinct heap or segment-backed atoms of `noun` of at least `bytesMin` bytes, in walk order. */
export function largeAtoms(noun: Noun, bytesMin: number): BigAtom[] {
  const out: BigAtom[] = [];
  const seenAtoms = new Set<BigAtom>();
  const seenCells = new Set<Cell>();
  const stack: Noun[] = [noun];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n instanceof Cell) {
      if (seenCells.has(n)) continue;
      seenCells.add(n);
      stack.push(n.tail, n.head);
      continue;
    }
    if (!(n instanceof BigAtom) || n.source !== undefined || n.byteLength < bytesMin || seenAtoms.has(n)) continue;
    seenAtoms.add(n);
    out.push(n);
  }
  return out;
}
