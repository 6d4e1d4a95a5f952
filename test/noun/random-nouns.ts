/**
 * Seeded random nouns for property tests: small and wide direct atoms, big atoms (aligned and
 * unaligned views), and sharing of both kinds jam must notice: the same object reused, and an
 * equal copy made of distinct objects.
 */
import { atomFromBytes, Cell, type Noun } from "../../src/noun/index.ts";

/** sfc32: a small, fast, seedable PRNG (public domain). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed | 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform 32-bit unsigned. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }

  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** A random atom: mostly small, sometimes up to 2^53-1, sometimes big (7-300 bytes). */
export function randomAtom(rng: Rng): Noun {
  const k = rng.int(10);
  if (k < 4) return rng.int(16);
  if (k < 6) return rng.int(1 << 20);
  if (k < 8) {
    const bits = 1 + rng.int(53);
    return ((rng.next() & 0x1fffff) * 4294967296 + rng.next()) % 2 ** bits;
  }
  const length = 7 + rng.int(rng.chance(0.2) ? 300 : 24);
  // Sometimes a view at an odd offset of a larger buffer, as from a mapping or a frame.
  const pad = rng.chance(0.5) ? rng.int(5) : 0;
  const raw = rng.bytes(length + pad + 3);
  const bytes = raw.subarray(pad, pad + length);
  if (bytes[length - 1] === 0) bytes[length - 1] = 1 + rng.int(255);
  return atomFromBytes(bytes);
}

/** An equal noun made of new cells (iterative). */
export function copyNoun(n: Noun): Noun {
  if (!(n instanceof Cell)) return n;
  const out: Noun[] = [];
  const stack: { n: Cell; state: number }[] = [{ n, state: 0 }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (f.state === 0) {
      f.state = 1;
      if (f.n.head instanceof Cell) {
        stack.push({ n: f.n.head, state: 0 });
        continue;
      }
      out.push(f.n.head);
    }
    if (f.state === 1) {
      f.state = 2;
      if (f.n.tail instanceof Cell) {
        stack.push({ n: f.n.tail, state: 0 });
        continue;
      }
      out.push(f.n.tail);
    }
    const t = out.pop()!;
    const h = out.pop()!;
    out.push(new Cell(h, t));
    stack.pop();
  }
  return out[0];
}

/**
 * A random noun of about `size` leaves. Subtrees are drawn from a pool of earlier ones: reused as
 * they are (shared object) or copied (equal, distinct objects), so jam's dictionary is exercised
 * both ways.
 */
export function randomNoun(rng: Rng, size: number): Noun {
  const pool: Noun[] = [];
  const build = (budget: number): Noun => {
    if (budget <= 1 || rng.chance(0.15)) {
      if (pool.length > 0 && rng.chance(0.25)) return pool[rng.int(pool.length)];
      return randomAtom(rng);
    }
    if (pool.length > 0 && rng.chance(0.12)) {
      const p = pool[rng.int(pool.length)];
      return rng.chance(0.5) ? p : copyNoun(p);
    }
    const left = 1 + rng.int(budget - 1);
    const n = new Cell(build(left), build(budget - left));
    if (rng.chance(0.3)) pool.push(n);
    return n;
  };
  return build(size);
}

/** A right-leaning list of `n` items (`[0 [1 [2 ... ~]]]` with item i = f(i)). */
export function longList(n: number, item: (i: number) => Noun = (i) => i): Noun {
  let out: Noun = 0;
  for (let i = n - 1; i >= 0; i--) out = new Cell(item(i), out);
  return out;
}

/** A left-leaning tree `n` cells deep: `[[[... 0] 1] 2]`. */
export function leftDeep(n: number): Noun {
  let out: Noun = 0;
  for (let i = 1; i <= n; i++) out = new Cell(out, i);
  return out;
}
