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

/**
 * A blob's two checksums over its bytes as they stream past in pieces of any length: the SHA-256
 * that names it and the CRC-32 of each BLOB_PIECE_BYTES piece that its crc table holds
 * (docs/blob-store.md, "Format"). urth computes them while it stages a file (a worker thread
 * reads the staged copy behind the copy); `BlobStore.put` computes the same while it writes.
 */
export class BlobChecksums {
  readonly #hash = sha256();
  readonly #crcs: number[] = [];
  #crc = 0;
  #inPiece = 0;

  constructor(private readonly pieceBytes: number) {}

  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(this.pieceBytes - this.#inPiece, bytes.length - at);
      this.#crc = crc32(bytes.subarray(at, at + n), this.#crc);
      this.#inPiece += n;
      at += n;
      if (this.#inPiece === this.pieceBytes) {
        this.#crcs.push(this.#crc);
        this.#crc = 0;
        this.#inPiece = 0;
      }
    }
  }

  /** The digest and the crc table (4 bytes per piece, little-endian), once, after the last byte. */
  finish(): { digest: Uint8Array; table: Uint8Array } {
    if (this.#inPiece > 0) this.#crcs.push(this.#crc);
    const table = new Uint8Array(this.#crcs.length * 4);
    const view = new DataView(table.buffer);
    this.#crcs.forEach((c, i) => view.setUint32(i * 4, c, true));
    return { digest: this.#hash.digest(), table };
  }
}
