/**
 * urth's half of blob references (docs/ipc.md, "Plea extension: blob references"): before a
 * commit's event is sent, each file-backed atom whose bytes the pier's blob store already holds is
 * replaced by an atom that stands for that blob, and the send writes a reference instead of the
 * bytes (a `%bref` on the pipe, a blob-reference entry in a plea segment). A byte-identical
 * re-commit of 1 GiB thus moves a few hundred bytes.
 *
 * Hashing is the cost, so it is done only where it can pay: the store is listed once per commit
 * (the byte length of every blob), and a file is hashed only when its atom's exact length is one
 * of those lengths. A file of a new length, the usual case, costs one read of its last bytes (its
 * exact length, which every path needs anyway) and no hashing. A file that hashes to a blob of
 * the store with that length is referred to; any other is sent as before. urth only reads the
 * store: mars alone writes it, and checks every reference before it accepts the event.
 */
import { BigAtom, type AtomBytesSource, type FileAtom, type ShmRef } from "../noun/index.ts";
import { statSync } from "node:fs";
import { BLOB_PIECE_BYTES, blobDigestOf, blobFileBytes, type BlobRef, type BlobStore } from "../blob/index.ts";
import { sha256OfFileAtom } from "./file-hash.ts";

/** The blob an atom of a commit stands for, or undefined for any other atom (jam's `refOf`). */
export type BlobRefOf = (a: BigAtom) => BlobRef | undefined;

/** The same, as the flat format's blob-reference entry names it (writeShm's and shmSize's `refOf`). */
export type ShmRefOf = (a: BigAtom) => ShmRef | undefined;

/** How a poke's blob references are written: in a jam with refs (a `%bref`), or in a plea segment. */
export interface PokeRefs {
  readonly refOf: BlobRefOf;
  readonly shmRefOf: ShmRefOf;
}

/** What urth needs of the blob store (src/blob/). */
export interface BlobCatalog {
  /** The byte length of every blob in the store, from one listing (no footer read, no hashing). */
  lengths(): ReadonlySet<number>;
  /** Blob `name` as its footer says, when the store holds it with `byteLength` bytes and a valid footer. */
  find(name: string, byteLength: number): BlobRef | undefined;
  /** The blob's bytes, read (mapped) only if something asks for them. */
  source(blob: BlobRef): AtomBytesSource;
}

/** What one commit's references cost and saved, for `commit --json`. */
export interface BlobRefStats {
  /** Files whose length matched a blob's, and so were hashed. */
  hashedFiles: number;
  hashedBytes: number;
  hashMs: number;
  /** Atoms sent as references, and their bytes (what did not move between the processes). */
  refs: number;
  refBytes: number;
}

export class BlobReferrer implements PokeRefs {
  readonly stats: BlobRefStats = { hashedFiles: 0, hashedBytes: 0, hashMs: 0, refs: 0, refBytes: 0 };
  private readonly blobs = new Map<BigAtom, { ref: BlobRef; shm: ShmRef }>();
  private lengths: ReadonlySet<number> | undefined;

  constructor(private readonly catalog: BlobCatalog) {}

  /**
   * The atom to send for `file`: one standing for a blob of the store when the store holds its
   * bytes, else `file` itself. Throws `FileAtomError` when the file changed or cannot be read.
   */
  refer(file: FileAtom): FileAtom | BigAtom {
    this.lengths ??= this.catalog.lengths();
    if (this.lengths.size === 0) return file;
    const byteLength = file.exactLength();
    if (!this.lengths.has(byteLength)) return file;
    const t0 = performance.now();
    const name = sha256OfFileAtom(file, byteLength);
    this.stats.hashMs += performance.now() - t0;
    this.stats.hashedFiles++;
    this.stats.hashedBytes += byteLength;
    const blob = this.catalog.find(name, byteLength);
    if (blob === undefined) return file;
    const a = BigAtom.fromSource(this.catalog.source(blob), blob.mug);
    this.blobs.set(a, { ref: blob, shm: { name: blobDigestOf(blob.name), byteLength: blob.byteLength, bitLength: blob.bitLength, mug: blob.mug } });
    this.stats.refs++;
    this.stats.refBytes += byteLength;
    return a;
  }

  /**
   * The atom for a blob urth staged for this commit (file-stage.ts), its bytes in `source` (the
   * staged file, which jam samples for its dictionary): sent as a reference, as a stored blob is;
   * mars installs it from `bob/stg/` when it resolves the reference.
   */
  staged(blob: BlobRef, source: AtomBytesSource): BigAtom {
    const a = BigAtom.fromSource(source, blob.mug);
    this.blobs.set(a, { ref: blob, shm: { name: blobDigestOf(blob.name), byteLength: blob.byteLength, bitLength: blob.bitLength, mug: blob.mug } });
    return a;
  }

  /** Whether any atom of this commit stands for a blob. */
  get any(): boolean {
    return this.blobs.size > 0;
  }

  /** The blob an atom of this commit stands for, or undefined. */
  readonly refOf: BlobRefOf = (a) => this.blobs.get(a)?.ref;

  /** The same as a flat blob-reference entry names it. */
  readonly shmRefOf: ShmRefOf = (a) => this.blobs.get(a)?.shm;
}

/**
 * The catalog of the pier's blob store as urth reads it: the lengths from one listing (a readdir
 * and a stat per blob, no footer read), a blob's reference from its footer once its size matches.
 * A blob urth cannot use (damaged, or gone meanwhile) is not referred to: the file's bytes are sent.
 */
export function storeCatalog(store: BlobStore): BlobCatalog {
  return {
    lengths() {
      const lengths = new Set<number>();
      for (const name of store.list()) {
        let size: number;
        try {
          size = statSync(store.pathOf(name)).size;
        } catch {
          continue; // removed since the listing (mars's sweep at its start): not a candidate
        }
        const byteLength = blobByteLengthOf(size);
        if (byteLength !== undefined) lengths.add(byteLength);
      }
      return lengths;
    },
    find(name, byteLength) {
      if (!store.has(name, byteLength)) return undefined;
      try {
        return store.stat(name, byteLength);
      } catch {
        return undefined;
      }
    },
    source: (ref) => store.source(ref),
  };
}

/**
 * The byte length of the atom a blob file of `size` bytes holds (the inverse of `blobFileBytes`,
 * which grows with the length), or undefined when no length gives that size (not a blob file).
 */
export function blobByteLengthOf(size: number): number | undefined {
  const overhead = blobFileBytes(0);
  if (size <= overhead) return undefined;
  // Each piece of BLOB_PIECE_BYTES costs 4 bytes of crc table: the piece count is at most this.
  const pieces = Math.ceil((size - overhead) / (BLOB_PIECE_BYTES + 4));
  for (const p of [pieces, pieces - 1]) {
    const byteLength = size - overhead - 4 * p;
    if (byteLength > 0 && blobFileBytes(byteLength) === size) return byteLength;
  }
  return undefined;
}
