/** Temporary piers and reproducible atom bytes for the blob store's tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pseudoRandomBytes } from "../support/prng.ts";

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

/** `length` pseudo-random bytes from `seed`, the last one nonzero: canonical atom bytes. */
export function atomBytes(length: number, seed: number): Uint8Array {
  const out = pseudoRandomBytes(length, seed);
  out[length - 1] = (out[length - 1] as number) | 1;
  return out;
}
