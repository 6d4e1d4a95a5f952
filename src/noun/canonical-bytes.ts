/**
 * A file's bytes as an atom's bytes, as they stream past: an atom has no trailing zero bytes
 * (docs/nouns.md), so zeros are held back until a nonzero byte follows them, and the ones at the
 * end are never passed on. Whoever hashes a file's atom piece by piece (urth staging a file into
 * the blob store) feeds the file through this and hashes what comes out.
 */

/** Zero bytes handed on per call when held-back zeros turn out to be inside the atom. */
const ZEROS = new Uint8Array(1024 * 1024);

export class CanonicalBytes {
  /** Zero bytes seen since the last nonzero byte, not passed on yet. */
  #held = 0;
  /** Bytes passed on so far: the atom's byte length once the stream ends. */
  byteLength = 0;
  /** The last nonzero byte passed on (0 while none was): the atom's top byte at the end. */
  lastByte = 0;

  constructor(private readonly sink: (bytes: Uint8Array) => void) {}

  /** The next piece of the file. */
  push(piece: Uint8Array): void {
    let last = piece.length - 1;
    while (last >= 0 && piece[last] === 0) last--;
    if (last < 0) {
      this.#held += piece.length;
      return;
    }
    while (this.#held > 0) {
      const n = Math.min(this.#held, ZEROS.length);
      this.sink(ZEROS.subarray(0, n));
      this.byteLength += n;
      this.#held -= n;
    }
    this.sink(piece.subarray(0, last + 1));
    this.byteLength += last + 1;
    this.lastByte = piece[last];
    this.#held = piece.length - 1 - last;
  }

  /** The atom's bit length: 0 for the atom 0 (a file of zeros). */
  get bitLength(): number {
    return this.byteLength === 0 ? 0 : 8 * (this.byteLength - 1) + (32 - Math.clz32(this.lastByte));
  }
}
