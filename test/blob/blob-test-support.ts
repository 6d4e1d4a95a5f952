/** Temporary piers and reproducible atom bytes for the blob store's tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const piers: string[] = [];

/** A fresh directory to serve as a pier; `removeTempPiers` (in afterEach) deletes it. */
export function tempPier(): string {
  const dir = mkdtempSync(join(tmpdir(), "plea-blob-test-"));
  piers.push(dir);
  return dir;
}

export function removeTempPiers(): void {
  while (piers.length > 0) rmSync(piers.pop()!, { recursive: true, force: true });
}

/** `length` pseudo-random bytes from `seed` (xorshift32), the last one nonzero: canonical atom bytes. */
export function atomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, length >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = (i * 131 + seed) & 0xff;
  out[length - 1] = (out[length - 1] as number) | 1;
  return out;
}
