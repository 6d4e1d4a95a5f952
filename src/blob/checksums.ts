/**
 * The blob store's two checksums. A blob is named by the SHA-256 of its bytes (collision
 * resistant: equal names mean equal bytes, which dedup and `equals` rely on), and each 4 MiB piece
 * carries a CRC-32 that a reader checks before handing out the bytes (cheap: it guards against
 * torn and damaged files, not against an adversary, which the pier's permissions are for).
 *
 * Measured by bench/blob-hash.ts (docs/blob-store.md, "The hash"): SHA-256 at 1.7 GB/s through
 * Bun.CryptoHasher and node:crypto alike (Bun's is used: no Node shim), BLAKE2b-256 at 0.7 GB/s,
 * CRC-32 at 22 GB/s, against 0.76 GB/s for write + fdatasync of the same bytes.
 */

/** CRC-32 (IEEE) of `bytes`, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return Bun.hash.crc32(bytes, crc) >>> 0;
}

/** An incremental SHA-256: `update` with each piece, then `digest` once. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

export function sha256(): Sha256 {
  const hasher = new Bun.CryptoHasher("sha256");
  return {
    update: (bytes) => void hasher.update(bytes),
    digest: () => new Uint8Array(hasher.digest()),
  };
}
