/**
 * A stand-in for BitWriter that counts bits and stores none: what `jamLength` runs the jam
 * encoder against. A newt frame needs its body's length before its first byte, so sending a
 * large jam in chunks takes a length pass first; counting skips the copying and shifting of
 * every atom's bytes, and the encoder skips reading file-backed atoms' bodies altogether.
 */
export class BitCounter {
  /** Bits counted so far: the offset of the next bit, as BitWriter.position. */
  position = 0;
  /** Always room: nothing is stored. */
  readonly roomWords = Number.MAX_SAFE_INTEGER;
  readonly roomBytes = Number.MAX_SAFE_INTEGER;

  writeBits(_v: number, n: number): void {
    this.position += n;
  }

  writeZeros(n: number): void {
    this.position += n;
  }

  writeNumber(_v: number, n: number): void {
    this.position += n;
  }

  writeBytes(_src: Uint8Array, _start: number, n: number): void {
    this.position += 8 * n;
  }
}
