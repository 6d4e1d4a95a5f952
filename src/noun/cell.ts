/**
 * Cells: ordered pairs of nouns. A cell caches its mug (0 = not computed), which is what makes
 * "the mug of the state after an event" cost only what the event changed (docs/decisions.md).
 * Cells are immutable apart from those caches.
 */
import type { Noun } from "./noun.ts";

export class Cell {
  readonly head: Noun;
  readonly tail: Noun;
  /** Cached mug; 0 means "not computed yet" (a real mug is never 0). */
  mug = 0;
  /**
   * Cached jam-dictionary hash (jam-hash.ts); 0 means "not computed yet". Unlike the mug it
   * never reads a large file-backed atom whole, which is why jam keys its dictionary on it.
   * Costs no memory: a cell takes 48 bytes in JSC with or without it (measured).
   */
  jamHash = 0;

  constructor(head: Noun, tail: Noun) {
    this.head = head;
    this.tail = tail;
  }
}

export function cell(head: Noun, tail: Noun): Cell {
  return new Cell(head, tail);
}
