/**
 * An atom's mug computed over its bytes as they stream past, piece by piece, so that whoever
 * reads a large atom's bytes once (urth staging a file, docs/blob-store.md) computes its mug on
 * the way instead of reading them again (docs/nouns.md, "mug").
 *
 * Pieces may have any length: 0-3 bytes that do not fill a 32-bit block wait for the next piece.
 * Only the first seed is streamed. Its fold is 0 with odds of 2^-31; `result` then says so
 * (undefined) and the caller computes the mug again from the bytes (`mug`, `mugFileAtom`).
 */
import { ATOM_SEED, fold } from "./mug.ts";
import { murmur3Block, murmur3Blocks, murmur3Finish } from "./murmur3.ts";

export class AtomMugStream {
  #h: number;
  #carry = 0;
  #carryLength = 0;
  #length = 0;

  /** `seed`: ATOM_SEED (the first), or a later one when the first folds to 0. */
  constructor(seed = ATOM_SEED) {
    this.#h = seed | 0;
  }

  /** Mixes the next bytes of the atom in (its canonical bytes: the caller drops trailing zeros). */
  update(bytes: Uint8Array): void {
    this.#length += bytes.length;
    let i = 0;
    if (this.#carryLength > 0) {
      while (this.#carryLength < 4 && i < bytes.length) {
        this.#carry |= bytes[i++] << (8 * this.#carryLength);
        this.#carryLength++;
      }
      if (this.#carryLength < 4) return;
      this.#h = murmur3Block(this.#h, this.#carry);
      this.#carry = 0;
      this.#carryLength = 0;
    }
    const blocks = (bytes.length - i) >>> 2;
    this.#h = murmur3Blocks(this.#h, bytes, i, blocks);
    i += blocks * 4;
    while (i < bytes.length) {
      this.#carry |= bytes[i++] << (8 * this.#carryLength);
      this.#carryLength++;
    }
  }

  /** The mug of the bytes given so far, or undefined when the first seed folds to 0 (see above). */
  result(): number | undefined {
    const m = fold(murmur3Finish(this.#h, this.#carry, this.#carryLength, this.#length));
    return m === 0 ? undefined : m;
  }
}
