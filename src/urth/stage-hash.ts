/**
 * The hashes of a file urth stages into the blob store, computed by reading the staged copy as far
 * as the copy has got (file-stage.ts, docs/blob-store.md "Staged by urth"): the SHA-256 that names
 * the blob and its crc table (`sums`) and the atom's mug (`mug`), over the file's bytes without
 * their trailing zeros. A stage worker (stage-worker.ts) runs one role; a small file is hashed
 * for both roles on urth's main thread, where starting two workers would cost more than hashing.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { BLOB_PIECE_BYTES } from "../blob/layout.ts";
import { BlobChecksums } from "../blob/checksums.ts";
import { AtomMugStream } from "../noun/mug-stream.ts";
import { CanonicalBytes } from "../noun/canonical-bytes.ts";

/** Which hashes one hasher computes. */
export type StageRole = "sums" | "mug";

/** Bytes read per call: the blob's piece size, so each piece's crc covers whole reads. */
const READ_BYTES = BLOB_PIECE_BYTES;

/** What a hasher found once the copy is whole. */
export interface StageHashes {
  /** The atom's length and bits: the file's without trailing zero bytes. */
  readonly byteLength: number;
  readonly bitLength: number;
  /** `sums`: the SHA-256 and crc table of the atom's bytes. */
  readonly digest?: Uint8Array;
  readonly table?: Uint8Array;
  /** `mug`: the atom's mug, or undefined when the first seed folds to 0 (src/noun/mug-stream.ts). */
  readonly mug?: number;
  /** Time spent reading and hashing, not waiting for the copy. */
  readonly busyMs: number;
}

export class StageHasher {
  readonly #fd: number;
  #pos = 0;
  readonly #canonical: CanonicalBytes;
  readonly #sums: BlobChecksums | undefined;
  readonly #mug: AtomMugStream | undefined;
  #busyMs = 0;
  #buffer: Uint8Array;

  /** Opens the staged copy at `path`; `roles`: what to compute. Throws if it cannot be opened. */
  constructor(path: string, roles: readonly StageRole[], buffer?: Uint8Array) {
    const sums = roles.includes("sums") ? new BlobChecksums(BLOB_PIECE_BYTES) : undefined;
    const mug = roles.includes("mug") ? new AtomMugStream() : undefined;
    this.#sums = sums;
    this.#mug = mug;
    this.#canonical = new CanonicalBytes((b) => {
      sums?.update(b);
      mug?.update(b);
    });
    this.#buffer = buffer ?? new Uint8Array(READ_BYTES);
    this.#fd = openSync(path, "r");
  }

  /** Hashes the copy up to `bytes` (which the copy holds by now). */
  advance(bytes: number): void {
    const t0 = performance.now();
    while (this.#pos < bytes) {
      const view = this.#buffer.subarray(0, Math.min(this.#buffer.length, bytes - this.#pos));
      const n = readSync(this.#fd, view, 0, view.length, this.#pos);
      if (n === 0) throw new Error(`The staged copy ends at ${this.#pos} bytes, before the ${bytes} copied`);
      this.#canonical.push(view.subarray(0, n));
      this.#pos += n;
    }
    this.#busyMs += performance.now() - t0;
  }

  /** The hashes of everything advanced over; closes the copy. Once. */
  finish(): StageHashes {
    this.close();
    const sums = this.#sums?.finish();
    return {
      byteLength: this.#canonical.byteLength,
      bitLength: this.#canonical.bitLength,
      digest: sums?.digest,
      table: sums?.table,
      mug: this.#mug?.result(),
      busyMs: this.#busyMs,
    };
  }

  #closed = false;
  /** Closes the copy (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** A reusable read buffer for a thread's hashers. */
export function stageReadBuffer(): Uint8Array {
  return new Uint8Array(READ_BYTES);
}
