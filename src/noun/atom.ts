/**
 * Atoms: natural numbers of any size up to ATOM_BYTES_MAX bytes.
 *
 * One canonical representation per value (docs/nouns.md):
 * - 0 <= n <= DIRECT_ATOM_MAX: a plain JS number (a "direct" atom). No allocation, fast
 *   arithmetic, and every mote, loobean, length and event number fits.
 * - above that: a `BigAtom` holding little-endian bytes with no trailing zero byte, so
 *   `bytes.length >= 7`. Bytes, not bigint: BigInt is capped at 128 MiB in Bun and converting
 *   64 MiB costs 0.4-0.7 s (docs/platform.md, "BigInt and the stack").
 * - a `FileAtom` (file-atom.ts) is an atom whose bytes still live in a file; see there.
 *
 * Atoms are immutable: nothing writes into `BigAtom.bytes` after construction. That is what lets
 * mars keep large atoms as views into a shared-memory mapping instead of copying them.
 */
import type { FileAtom } from "./file-atom.ts";

/** Largest atom kept as a JS number: 2^53 - 1, the largest integer a double holds exactly. */
export const DIRECT_ATOM_MAX = Number.MAX_SAFE_INTEGER;

/** Largest atom in bytes: one JS typed array (and one `toArrayBuffer` view) holds at most 2^32. */
export const ATOM_BYTES_MAX = 2 ** 32;

/**
 * Where a large atom's bytes live when they are not held in the heap or a segment: a blob file of
 * the pier's blob store (docs/blob-store.md), mapped only when something reads the bytes. The
 * noun library knows nothing of files: it asks the source for the length, for a name that says
 * whether two sources hold equal bytes, and for the bytes themselves when it must have them.
 */
export interface AtomBytesSource {
  /** Exact byte length: the last byte is nonzero. */
  readonly byteLength: number;
  /** Bit length (met 0), known without reading the bytes. */
  readonly bitLength: number;
  /**
   * A collision-resistant name of the bytes (a digest): equal names mean equal bytes and
   * different names different bytes, so two sourced atoms compare without reading either.
   */
  readonly contentKey: string;
  /**
   * The bytes, checked (a read-only view, e.g. a mapping). Throws a typed error naming the
   * source when they cannot be had intact: never wrong bytes.
   */
  bytes(): Uint8Array;
  /**
   * Optional: reads bytes [offset, offset + target.length) into `target` without mapping or
   * checking the whole (a pread). jam's dictionary hash (jam-hash.ts) samples 3 x 64 bytes of a
   * large atom; without this it calls `bytes()`, which reads the whole source.
   */
  readRange?(offset: number, target: Uint8Array): void;
}

/** A large atom: little-endian bytes, last byte nonzero, more than DIRECT_ATOM_MAX. */
export class BigAtom {
  /** The bytes when held (heap or a segment view); undefined when `source` has them. */
  private held: Uint8Array | undefined;
  private src: AtomBytesSource | undefined = undefined;
  /** Cached mug; 0 means "not computed yet" (a real mug is never 0). */
  mug = 0;
  /**
   * What keeps `bytes` valid when it is a view into memory Plea must release explicitly
   * (a shared-memory mapping in mars). Undefined for heap bytes and sourced atoms.
   */
  owner: unknown = undefined;

  /** Trusted constructor: `bytes` must already be canonical. Use `atom()` for anything else. */
  constructor(bytes: Uint8Array, owner?: unknown) {
    this.held = bytes;
    if (owner !== undefined) this.owner = owner;
  }

  /** An atom whose bytes stay in `source` until read; `mug` is its stored mug (nonzero). */
  static fromSource(source: AtomBytesSource, mug: number): BigAtom {
    const a = new BigAtom(EMPTY);
    a.held = undefined;
    a.src = source;
    a.mug = mug;
    return a;
  }

  /**
   * Little-endian bytes, read-only by contract (a view into a mapping, maybe). For a sourced
   * atom this reads (maps and checks) the source: callers that need only the length use
   * `byteLength`, and nobody keeps the view beyond the operation at hand.
   */
  get bytes(): Uint8Array {
    const b = this.held;
    return b !== undefined ? b : (this.src as AtomBytesSource).bytes();
  }

  /** Byte length, without reading a sourced atom's bytes. */
  get byteLength(): number {
    const b = this.held;
    return b !== undefined ? b.length : (this.src as AtomBytesSource).byteLength;
  }

  /** The source of a sourced atom, else undefined. */
  get source(): AtomBytesSource | undefined {
    return this.src;
  }

  /**
   * Gives the atom a new home for the same value: its bytes now come from `source`, and the
   * heap bytes or segment view it held are dropped (so the segment can be released). The
   * caller guarantees the source holds exactly these bytes (mars calls this once a blob holding
   * them is durable) and that no view of the old bytes is still in use.
   */
  moveTo(source: AtomBytesSource): void {
    if (source.byteLength !== this.byteLength) {
      throw new RangeError(`An atom of ${this.byteLength} bytes cannot move to a source of ${source.byteLength}`);
    }
    this.held = undefined;
    this.src = source;
    this.owner = undefined;
  }

  /** Copies a segment view into the heap (same value), so the segment can be released. */
  moveToHeap(): void {
    if (this.owner === undefined) return;
    this.held = (this.held as Uint8Array).slice();
    this.owner = undefined;
  }
}

const EMPTY = new Uint8Array(0);

export type Atom = number | BigAtom | FileAtom;

const TWO_32 = 4294967296;

/** Makes the canonical atom for a number, bigint or little-endian bytes (bytes are not copied). */
export function atom(x: number | bigint | Uint8Array): number | BigAtom {
  if (typeof x === "number") {
    if (!Number.isSafeInteger(x) || x < 0) {
      throw new RangeError(`An atom is a natural number; ${x} is not (use a bigint above 2^53-1)`);
    }
    return x;
  }
  if (typeof x === "bigint") {
    if (x < 0n) throw new RangeError(`An atom is a natural number; ${x} is negative`);
    if (x <= BigInt(DIRECT_ATOM_MAX)) return Number(x);
    return new BigAtom(bigintToBytes(x));
  }
  return atomFromBytes(x);
}

/**
 * The canonical atom for little-endian `bytes`. Trailing zeros are dropped by taking a subarray;
 * the bytes are neither copied nor modified, so the caller must not modify them afterwards.
 */
export function atomFromBytes(bytes: Uint8Array, owner?: unknown): number | BigAtom {
  let n = bytes.length;
  while (n > 0 && bytes[n - 1] === 0) n--;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[i];
    return v;
  }
  if (n === 7) {
    const v = bytesToNumber7(bytes);
    if (v <= DIRECT_ATOM_MAX) return v;
  }
  if (n > ATOM_BYTES_MAX) {
    throw new RangeError(`An atom holds at most ${ATOM_BYTES_MAX} bytes; got ${n}`);
  }
  return new BigAtom(n === bytes.length ? bytes : bytes.subarray(0, n), owner);
}

function bytesToNumber7(b: Uint8Array): number {
  const lo = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  const hi = b[4] | (b[5] << 8) | (b[6] << 16);
  return hi * TWO_32 + lo;
}

function bigintToBytes(x: bigint): Uint8Array {
  const hex = x.toString(16);
  const n = (hex.length + 1) >> 1;
  const out = new Uint8Array(n);
  // Walk the hex string from its least significant end: two digits per byte.
  for (let i = 0, j = hex.length; i < n; i++, j -= 2) {
    out[i] = parseInt(hex.slice(Math.max(0, j - 2), j), 16);
  }
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A text atom: the UTF-8 bytes of `s`, little-endian (`%poke` is cord("poke")). */
export function cord(s: string): number | BigAtom {
  // Motes and most path elements are short ASCII: their atom is a number, no bytes needed
  // (a commit of 100,000 files makes several cords per file).
  if (s.length <= 6) {
    let v = 0;
    let i = s.length - 1;
    for (; i >= 0; i--) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      v = v * 256 + c;
    }
    if (i < 0) return v;
  }
  return atomFromBytes(utf8Encoder.encode(s));
}

/** The text of a cord atom (UTF-8, invalid sequences replaced). */
export function cordToString(a: number | BigAtom): string {
  return utf8Decoder.decode(toBytes(a));
}

/**
 * Minimal little-endian bytes of an atom (empty for 0). For a BigAtom this is its own
 * read-only `bytes`, not a copy.
 */
export function toBytes(a: number | BigAtom): Uint8Array {
  if (typeof a !== "number") return a.bytes;
  const out: number[] = [];
  let v = a;
  while (v > 0) {
    const lo = v % 256;
    out.push(lo);
    v = (v - lo) / 256;
  }
  return Uint8Array.from(out);
}

/** The atom as a bigint (for tests and edges only: slow above a few MiB, capped at 128 MiB). */
export function toBigInt(a: number | BigAtom): bigint {
  if (typeof a === "number") return BigInt(a);
  const b = a.bytes;
  let hex = "";
  for (let i = b.length - 1; i >= 0; i--) hex += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return BigInt("0x" + hex);
}

/** Bit length of a direct atom (met 0): 0 for 0. Works on the full 53-bit range. */
export function metBitsOfNumber(n: number): number {
  if (n < TWO_32) return 32 - Math.clz32(n);
  return 64 - Math.clz32(Math.floor(n / TWO_32));
}

/** Bit length of an in-memory atom (met 0). */
export function metBits(a: number | BigAtom): number {
  if (typeof a === "number") return metBitsOfNumber(a);
  const s = a.source;
  if (s !== undefined) return s.bitLength;
  const b = a.bytes;
  return (b.length - 1) * 8 + (32 - Math.clz32(b[b.length - 1]));
}
