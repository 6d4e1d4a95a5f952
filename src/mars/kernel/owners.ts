/**
 * Which zero-copy mappings the kernel's state still needs (docs/kernel.md, "Mapping lifetime").
 *
 * A large atom that arrived through a plea segment is a view into mars's mapping of it
 * (`BigAtom.owner` is the mapping). The file store keeps such atoms as they are: a 2 GiB file is
 * never copied. Mars must keep a mapping until no noun refers to it, so the kernel counts, per
 * owner, how many file atoms of its state are views into it: +1 when a file is added, -1 when it
 * is replaced or deleted. `OwnerCounts` holds those counts for the committed state.
 *
 * Small atoms are not worth a mapping: `unpin` copies an owned atom of at most
 * KERNEL_UNPIN_BYTES_MAX bytes (path elements, small files) into the heap, so that 100,000 small
 * files of one big commit do not keep its whole segment alive after the big file is deleted.
 */
import { BigAtom } from "../../noun/atom.ts";
import { Cell } from "../../noun/cell.ts";
import type { Noun } from "../../noun/noun.ts";
import { assert } from "../../error.ts";

/** Owned atoms up to 64 KiB are copied into the heap instead of pinning their mapping. */
export const KERNEL_UNPIN_BYTES_MAX = 64 * 1024;

/** The atom's owner when it is a zero-copy view, else undefined. */
export function ownerOf(a: Noun): unknown {
  return a instanceof BigAtom ? a.owner : undefined;
}

/** `a` itself, or a heap copy when it is a small view into a mapping (mug carried over). */
export function unpin<T extends Noun>(a: T): T {
  if (!(a instanceof BigAtom) || a.owner === undefined || a.byteLength > KERNEL_UNPIN_BYTES_MAX) return a;
  const copy = new BigAtom(a.bytes.slice());
  copy.mug = a.mug;
  return copy as T;
}

/** A list of atoms (a path) with every element unpinned; the same noun if none was pinned. */
export function unpinPath(path: Noun): Noun {
  let pinned = false;
  for (let n = path; n instanceof Cell; n = n.tail) {
    if (n.head instanceof BigAtom && n.head.owner !== undefined) {
      pinned = true;
      break;
    }
  }
  if (!pinned) return path;
  const items: Noun[] = [];
  for (let n = path; n instanceof Cell; n = n.tail) items.push(unpin(n.head));
  let out: Noun = 0;
  for (let i = items.length - 1; i >= 0; i--) out = new Cell(items[i], out);
  return out;
}

/** Adds `delta` (per owner) into `into`. */
export function addOwnerDelta(into: Map<unknown, number>, owner: unknown, delta: number): void {
  if (owner === undefined) return;
  const next = (into.get(owner) ?? 0) + delta;
  if (next === 0) into.delete(owner);
  else into.set(owner, next);
}

/** Reference counts per owner for a committed state. */
export class OwnerCounts {
  private readonly counts = new Map<unknown, number>();

  /** Applies a poke's delta; returns the owners whose count dropped to zero. */
  apply(delta: ReadonlyMap<unknown, number>): unknown[] {
    const released: unknown[] = [];
    for (const [owner, d] of delta) {
      const next = (this.counts.get(owner) ?? 0) + d;
      assert(next >= 0, `owner count went below zero (${next})`);
      if (next === 0) {
        this.counts.delete(owner);
        released.push(owner);
      } else {
        this.counts.set(owner, next);
      }
    }
    return released;
  }

  /**
   * Drops `owner` altogether: mars calls this once every atom of the state that was a view into
   * it has moved elsewhere (a blob, the heap), so nothing of the state refers to it any more.
   */
  forget(owner: unknown): void {
    this.counts.delete(owner);
  }

  count(owner: unknown): number {
    return this.counts.get(owner) ?? 0;
  }

  owners(): ReadonlySet<unknown> {
    return new Set(this.counts.keys());
  }
}
