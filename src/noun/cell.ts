/**
 * Cells: ordered pairs of nouns. A cell caches its mug (0 = not computed), which is what makes
 * "the mug of the state after an event" cost only what the event changed (design.md).
 * Cells are immutable apart from that cache.
 */
import type { Noun } from "./noun.ts";

export class Cell {
  readonly head: Noun;
  readonly tail: Noun;
  /** Cached mug; 0 means "not computed yet" (a real mug is never 0). */
  mug = 0;

  constructor(head: Noun, tail: Noun) {
    this.head = head;
    this.tail = tail;
  }
}

export function cell(head: Noun, tail: Noun): Cell {
  return new Cell(head, tail);
}
