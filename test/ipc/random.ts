/** Random bytes, splits and hex helpers for the ipc tests; the PRNG is test/support/prng.ts. */
import { int } from "../support/prng.ts";

export { int, rng } from "../support/prng.ts";

export function randomBytes(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** Splits `bytes` into random pieces (views, no copies), some of them empty. */
export function randomSplit(r: () => number, bytes: Uint8Array, maxPiece = 64): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = r() < 0.05 ? 0 : int(r, 1, maxPiece);
    pieces.push(bytes.subarray(pos, Math.min(bytes.length, pos + n)));
    pos += n;
  }
  return pieces;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
