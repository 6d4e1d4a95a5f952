/** Hand-built jam bit strings for tests of what cue accepts and refuses. */
export class Bits {
  private readonly bits: number[] = [];

  get length(): number {
    return this.bits.length;
  }

  /** Appends the low `n` bits of `v` (a bigint or number), LSB first. */
  put(v: number | bigint, n: number): this {
    let x = BigInt(v);
    for (let i = 0; i < n; i++) {
      this.bits.push(Number(x & 1n));
      x >>= 1n;
    }
    return this;
  }

  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.bits.push(0);
    return this;
  }

  /** vere's mat of `a`, with the value written in `width` bits (>= its bit length; more = non-minimal). */
  mat(a: number | bigint, width?: number): this {
    const x = BigInt(a);
    const b = width ?? x.toString(2).length - (x === 0n ? 1 : 0);
    if (b === 0) return this.put(1, 1);
    const c = b.toString(2).length;
    this.zeros(c).put(1, 1).put(BigInt(b) & ((1n << BigInt(c - 1)) - 1n), c - 1);
    return this.put(x, b);
  }

  atom(a: number | bigint, width?: number): this {
    return this.put(0, 1).mat(a, width);
  }

  cell(): this {
    return this.put(1, 1).put(0, 1);
  }

  backref(offset: number): this {
    return this.put(1, 1).put(1, 1).mat(offset);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => {
      if (b) out[i >> 3] |= 1 << (i & 7);
    });
    return out;
  }
}
