/**
 * jam's dictionary: noun (by structural equality) -> bit offset where its encoding started.
 *
 * An open-addressing table over typed arrays, keyed by the jam hash (jam-hash.ts) and confirmed
 * by `equals`. Each slot holds the hash next to the entry number, so a probe that misses touches
 * one cache line. Measured on a million distinct cells (bench/noun.ts, this machine): a JS `Map`
 * from the nouns themselves cost 300-400 ns per set+get and sees identity only; this table
 * costs about 130 ns per lookup-and-insert, most of it first-touch faults on fresh memory.
 */
import { Cell } from "./cell.ts";
import { equals } from "./equals.ts";
import type { Noun } from "./noun.ts";

/** Initial slot count (a power of two); the table doubles when half full. */
const JAM_DICTIONARY_SLOTS_INITIAL = 256;

export class JamDictionary {
  /** Per slot: [hash, entry + 1]; entry + 1 = 0 means empty. */
  private slots = new Int32Array(2 * JAM_DICTIONARY_SLOTS_INITIAL);
  private mask = JAM_DICTIONARY_SLOTS_INITIAL - 1;
  private offsets = new Float64Array(JAM_DICTIONARY_SLOTS_INITIAL / 2);
  private readonly nouns: Noun[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The offset recorded for a noun equal to `n` (whose jam hash is `hash`), or -1. */
  find(hash: number, n: Noun): number {
    const h = hash | 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[2 * i + 1];
      if (e === 0) return -1;
      if (slots[2 * i] === h && sameNoun(this.nouns[e - 1], n)) return this.offsets[e - 1];
    }
  }

  /**
   * The offset recorded for a noun equal to `n`, or -1 after recording `offset` for `n`:
   * one probe sequence for both.
   */
  findOrAdd(hash: number, n: Noun, offset: number): number {
    const h = hash | 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[2 * i + 1];
      if (e === 0) {
        this.insertAt(i, h, n, offset);
        return -1;
      }
      if (slots[2 * i] === h && sameNoun(this.nouns[e - 1], n)) return this.offsets[e - 1];
    }
  }

  /** Records `offset` for `n`, which must not be in the dictionary yet. */
  add(hash: number, n: Noun, offset: number): void {
    const h = hash | 0;
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    this.insertAt(i, h, n, offset);
  }

  private insertAt(slot: number, h: number, n: Noun, offset: number): void {
    const k = this.count++;
    if (k === this.offsets.length) {
      const offsets = new Float64Array(k * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.offsets[k] = offset;
    this.nouns.push(n);
    this.slots[2 * slot] = h;
    this.slots[2 * slot + 1] = k + 1;
    if (this.count * 2 > this.mask + 1) this.grow();
  }

  private grow(): void {
    const old = this.slots;
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let j = 0; j < old.length; j += 2) {
      const e = old[j + 1];
      if (e === 0) continue;
      const h = old[j];
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = e;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function sameNoun(a: Noun, b: Noun): boolean {
  if (a === b) return true;
  if (typeof a === "number" || typeof b === "number") return false;
  if (a instanceof Cell !== b instanceof Cell) return false;
  return equals(a, b);
}
