/**
 * Visit marks for the flat format's walks, kept in the mug cache of cells and large atoms.
 *
 * `shmSize` and `writeShm` must recognise a cell reached twice by identity. A Map keyed by object
 * costs 200-400 ns per insert in Bun (measured on 1,000,000 cells: 0.2-0.4 s, against the
 * 10 million nodes/s target), while writing a field costs a few ns. So, like vere's road copy
 * (which leaves forwarding pointers in the mug slot), the walk stores a negative mark in `mug`
 * (a real mug is 0 or 31 bits, never negative), remembers the original, and puts every original
 * back in `restore()`, which the walks call in a `finally`. The walks are synchronous and call
 * no user code, so nothing else can observe a mark.
 */
import type { BigAtom } from "../atom.ts";
import type { Cell } from "../cell.ts";

/** Initial capacity of the mark list; it doubles as needed. */
const SHM_MARKS_DEFAULT = 1024;

export class ShmMarks {
  private items: (Cell | BigAtom)[] = [];
  private mugs = new Float64Array(SHM_MARKS_DEFAULT);
  private n = 0;

  /** Marks `x` with `mark` (negative), remembering its mug. `x.mug` must not be marked yet. */
  mark(x: Cell | BigAtom, mark: number): void {
    if (this.n === this.mugs.length) {
      const bigger = new Float64Array(this.mugs.length * 2);
      bigger.set(this.mugs);
      this.mugs = bigger;
    }
    this.mugs[this.n] = x.mug;
    this.items[this.n++] = x;
    x.mug = mark;
  }

  /** Puts every original mug back. Safe to call more than once. */
  restore(): void {
    const items = this.items;
    const mugs = this.mugs;
    for (let i = 0; i < this.n; i++) items[i].mug = mugs[i];
    this.items = [];
    this.n = 0;
  }
}

/** The mark for an entry at data offset `off` (a multiple of 8): -(off / 8) - 1. */
export function shmMarkOf(off: number): number {
  return -(off / 8) - 1;
}

/** The data offset a mark stands for. */
export function shmOffsetOfMark(mark: number): number {
  return (-mark - 1) * 8;
}
