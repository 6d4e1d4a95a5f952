/**
 * After an event is durable, its atoms leave the plea segment (docs/blob-store.md, "In mars").
 *
 * A plea's large atoms arrive as views into mars's private mapping of the segment, and the state
 * keeps them. Once the log has made the event durable, every atom the log put in the blob store
 * moves to its blob (mapped again only when read), and every other view still into a mapping is
 * copied into the heap (atoms under the blob threshold are small by definition). Then no atom of
 * the state refers to the segment's mapping, so mars releases it: its Shmem returns to where it
 * was after every event, also in a long `run`. On the pipe path the same move drops the heap copy
 * of each large atom.
 */
import type { AtomBytesSource } from "../noun/atom.ts";
import { BigAtom } from "../noun/atom.ts";
import { Cell } from "../noun/cell.ts";
import type { Noun } from "../noun/noun.ts";

/**
 * Moves the atoms of `noun` (an event's ovum) off their mappings: those in `blobs` to their blob,
 * the other views to the heap. Returns the owners (mappings) the atoms were views into. Iterative;
 * a cell shared within the noun is visited once.
 */
export function settleAtoms(noun: Noun, blobs: ReadonlyMap<BigAtom, AtomBytesSource>): Set<unknown> {
  const owners = new Set<unknown>();
  const seen = new Set<Cell>();
  const stack: Noun[] = [noun];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n instanceof Cell) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(n.tail, n.head);
      continue;
    }
    if (!(n instanceof BigAtom)) continue;
    if (n.owner !== undefined) owners.add(n.owner);
    const blob = blobs.get(n);
    if (blob !== undefined) {
      if (n.source === undefined) n.moveTo(blob);
    } else {
      n.moveToHeap();
    }
  }
  return owners;
}

/**
 * `settleAtoms` for an event whose views are known: `views` are all the atoms of the event that
 * are views into a mapping (the plea decode lists them, `readShm`'s `onView`; the pipe and a
 * `%bref` make none), `blobs` the event's atoms the log stored. The same moves without walking
 * the event: a walk of a 100,000-file commit (about a million cells, each remembered in a Set)
 * cost 0.3-0.5 s of mars's time before its reply (bench/commit.ts, issue 15).
 */
export function settleEvent(views: readonly BigAtom[], blobs: ReadonlyMap<BigAtom, AtomBytesSource>): Set<unknown> {
  const owners = new Set<unknown>();
  for (const [a, blob] of blobs) {
    if (a.owner !== undefined) owners.add(a.owner);
    if (a.source === undefined) a.moveTo(blob);
  }
  for (const v of views) {
    if (v.owner === undefined) continue; // moved to its blob above
    owners.add(v.owner);
    v.moveToHeap();
  }
  return owners;
}
