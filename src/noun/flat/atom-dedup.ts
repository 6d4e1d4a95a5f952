/**
 * Structural dedup of large atoms for the flat noun format: two distinct BigAtom objects
 * with the same bytes are written once when both carry a cached mug (the mug is the hash key, so
 * this costs no hashing). Atoms without a cached mug are deduplicated by identity only: hashing
 * them just for this would cost a pass over their bytes, and a FileAtom's bytes are not in memory.
 *
 * `shmSize` and `writeShm` both use this table, so they group the same atoms and agree exactly.
 */
import { Buffer } from "node:buffer";
import type { BigAtom } from "../atom.ts";

export class ShmAtomDedup {
  private readonly byMug = new Map<number, BigAtom[]>();

  /** An atom already added with the same bytes, or undefined. `a.mug` must be nonzero. */
  find(a: BigAtom): BigAtom | undefined {
    const same = this.byMug.get(a.mug);
    if (same === undefined) return undefined;
    for (const b of same) {
      // Buffer.equals is one memcmp; the lengths are compared first.
      if (b.bytes.length === a.bytes.length && bytesView(b.bytes).equals(a.bytes)) return b;
    }
    return undefined;
  }

  /** Records `a` (mug nonzero) as the representative of its bytes. */
  add(a: BigAtom): void {
    const same = this.byMug.get(a.mug);
    if (same === undefined) this.byMug.set(a.mug, [a]);
    else same.push(a);
  }
}

function bytesView(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
