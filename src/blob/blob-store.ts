/**
 * The content-addressed blob store under `<pier>/.urb/bob/` (docs/blob-store.md): one file per
 * large atom, named by the SHA-256 of its bytes, so a byte-identical atom is stored once.
 *
 * Shared by urth and mars: both read (`stat`, `has`, `source`, `verify`); mars alone writes
 * (`put`, `putMany`), installs what urth staged (`install`, staging.ts) and sweeps (`sweep`, at
 * start, under the log's lock).
 *
 * Writing one blob (`put`):
 *  1. stream the bytes to `stg/<random>.tmp` piece by piece, hashing (SHA-256) and CRC-ing each
 *     piece while the previous one is written by the runtime's I/O threads;
 *  2. append the crc table and the footer;
 *  3. dedup: if `<name>` exists with the right size, close and unlink the tmp (no fsync) and stop;
 *  4. fsync the tmp, link(2) it to `<name>` (never replaces: EEXIST is a dedup hit too), unlink
 *     the tmp;
 *  5. fsync `bob/`, which makes the name durable (`putMany`: once for the batch).
 * The caller names the blob in its log record only after `put` resolves. The crash table is in
 * docs/blob-store.md, "Crashes".
 *
 * Removal beside writers (mars's chop, src/mars/retention.ts): a chop runs in slices while events
 * are appended, and a new event may name a blob the chop found dead. So the chop first *condemns*
 * names (`condemn`); every use of a name through this store (`stat`, `has`, `install`, `source`,
 * a dedup hit in `put`, the log's `rescue` before it commits a record) takes it off the list; and
 * the chop removes a blob only if it is still condemned, the check and a rename out of `bob/` in
 * one synchronous step (`removeCondemned`), so no use can come between. A name removed stays
 * known as removed: `rescue` then says so, and the log refuses to commit a record naming it.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { PIER_FILE_MODE } from "../pier/private-mode.ts";
import { blobReadError, readBlobTail } from "./blob-file.ts";
import { BlobSource } from "./blob-source.ts";
import { BlobChecksums, crc32 } from "./checksums.ts";
import { blobWriteError, fsyncDirectory, makeStoreDirs, writeAllAsync } from "./durable.ts";
import { BlobErrorCode } from "./errors.ts";
import {
  BLOB_ATOM_BYTES_MAX,
  BLOB_PIECE_BYTES,
  bitLengthOf,
  blobFileBytes,
  blobNameOf,
  blobPaths,
  blobPieceCount,
  encodeBlobFooter,
  isBlobName,
  type BlobPaths,
  type BlobRef,
} from "./layout.ts";
import { stagedBlobPath } from "./staging.ts";
import { verifyBlob, type BlobCheck } from "./verify.ts";

/** One atom to store: its canonical bytes and its mug; `bitLength` is computed when not given. */
export interface BlobPutItem {
  readonly bytes: Uint8Array;
  readonly mug: number;
  readonly bitLength?: number;
}

/** What `put` did: `written` is false for a dedup hit (the blob was already there). */
export interface BlobPutResult {
  readonly ref: BlobRef;
  readonly written: boolean;
}

/** Suffix of a staging file. */
const STAGING_SUFFIX = ".tmp";
/** Suffix of a blob a chop removed from `bob/` and has still to unlink (`removeCondemned`). */
const REMOVED_SUFFIX = ".removed";

export class BlobStore {
  readonly paths: BlobPaths;
  #dirsMade = false;
  /**
   * Names this store linked into `bob/` whose directory fsync has not happened yet (a `putMany`
   * in progress). A concurrent `put` of the same bytes is a dedup hit on such a name, and must not
   * resolve before the name is durable: it syncs the directory itself.
   */
  readonly #unsynced = new Set<string>();
  /** Names a chop means to remove, unless something uses them first (see the file comment). */
  readonly #condemned = new Set<string>();
  /** Names a chop removed from this store while this process ran. */
  readonly #removed = new Set<string>();

  constructor(pier: string) {
    this.paths = blobPaths(pier);
  }

  /** The path of the blob named `name`. */
  pathOf(name: string): string {
    if (!isBlobName(name)) throw new PleaError(BlobErrorCode.usage, `"${name}" is not a blob name: a blob is named by 64 lower-case hex digits`);
    return join(this.paths.dir, name);
  }

  /** Marks `names` for removal by a chop (see the file comment); a later use of one rescues it. */
  condemn(names: Iterable<string>): void {
    for (const name of names) {
      this.#condemned.add(name);
      this.#removed.delete(name);
    }
  }

  /** Whether `name` is condemned (a chop will remove it unless something uses it first). */
  isCondemned(name: string): boolean {
    return this.#condemned.has(name);
  }

  /** Takes every name off the condemned list (a chop that ends or fails). */
  pardonAll(): void {
    this.#condemned.clear();
  }

  /**
   * Takes `name` off the condemned list, because something is about to name or read it. Returns
   * false when a chop already removed it (its bytes are gone from the store).
   */
  rescue(name: string): boolean {
    this.#condemned.delete(name);
    return !this.#removed.has(name);
  }

  /**
   * Removes the blob `name` from the store if, and only if, it is still condemned: the check and
   * a rename of the file out of `bob/` (into `stg/<name>.removed`) are one synchronous step, so no
   * rescue comes between. Returns the bytes it frees (allocated blocks) and the file to unlink,
   * which the caller unlinks off the main thread (freeing a 512 MiB file's blocks took 250-300 ms
   * of ext4 here: `fs.promises.unlink` runs it on a worker thread); undefined when the name was
   * rescued or is already gone. A crash before the unlink leaves the file in `stg/`, which the
   * next start's sweep empties. The caller fsyncs `bob/`.
   */
  removeCondemned(name: string): { bytes: number; removed: string } | undefined {
    if (!this.#condemned.has(name)) return undefined;
    const path = this.pathOf(name);
    this.#makeDirs();
    const removed = join(this.paths.staging, `${name}${REMOVED_SUFFIX}`);
    let bytes: number;
    try {
      bytes = statSync(path).blocks * 512;
      renameSync(path, removed);
    } catch (cause) {
      if ((cause as { code?: string }).code !== "ENOENT") throw blobWriteError(`Cannot remove the blob "${path}"`, cause);
      this.#condemned.delete(name);
      this.#removed.add(name);
      return undefined;
    }
    this.#condemned.delete(name);
    this.#removed.add(name);
    return { bytes, removed };
  }

  /** Stores one atom's bytes durably; resolves once its name is durable (see the file comment). */
  async put(bytes: Uint8Array, mug: number, bitLength?: number): Promise<BlobPutResult> {
    const [result] = await this.putMany([{ bytes, mug, bitLength }]);
    return result as BlobPutResult;
  }

  /**
   * Stores the atoms of one event: each as `put` does, with one fsync of `bob/` for the whole
   * batch (none when every one was already there and durable). Results are in the items' order.
   */
  async putMany(items: readonly BlobPutItem[]): Promise<BlobPutResult[]> {
    const results: BlobPutResult[] = [];
    let sync = false;
    const linked: string[] = [];
    try {
      for (const item of items) {
        const unnamed = refOf(item);
        this.#makeDirs();
        const { ref, written } = await this.#write(item.bytes, unnamed);
        if (written) {
          linked.push(ref.name);
          this.#unsynced.add(ref.name);
        }
        if (written || this.#unsynced.has(ref.name)) sync = true;
        results.push({ ref, written });
      }
      if (sync) fsyncDirectory(this.paths.dir);
    } finally {
      for (const name of linked) this.#unsynced.delete(name);
    }
    return results;
  }

  /**
   * The reference of the blob `name`, from its footer, or undefined when there is no such blob.
   * Reads the footer and crc table only (not the bytes): checks the size (against `byteLength`
   * when given, which is how a reference from urth is resolved), the footer and its checksum.
   * Throws a typed error for a file that is there but not a sound blob.
   */
  stat(name: string, byteLength?: number): BlobRef | undefined {
    const path = this.pathOf(name);
    this.rescue(name);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return undefined;
      throw blobReadError(path, cause);
    }
    try {
      const size = fstatSync(fd).size;
      const { footer } = readBlobTail(fd, size, path, name, byteLength);
      return { name, byteLength: footer.byteLength, bitLength: footer.bitLength, mug: footer.mug };
    } catch (e) {
      throw blobReadError(path, e);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * mars: installs the blob urth staged for `name` (`stg/<name>.staged`, staging.ts), when there is
   * one, and returns its reference; undefined when nothing is staged under that name. Checks the
   * staged file as `stat` checks a blob (size against `byteLength`, footer, its checksum and that
   * its digest is its name), fsyncs it (urth did; this one costs nothing then and does not rely on
   * it), links it into `bob/` (an existing blob of the right size is a dedup hit) and fsyncs
   * `bob/`: the name is durable when this returns, before the log can name it. It does not rehash
   * the bytes: see "Trust" in docs/blob-store.md.
   */
  install(name: string, byteLength: number): BlobRef | undefined {
    const staged = stagedBlobPath(this.paths, name);
    this.rescue(name);
    let fd: number;
    try {
      fd = openSync(staged, "r");
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return undefined;
      throw blobReadError(staged, cause);
    }
    let ref: BlobRef;
    try {
      const { footer } = readBlobTail(fd, fstatSync(fd).size, staged, name, byteLength);
      ref = { name, byteLength: footer.byteLength, bitLength: footer.bitLength, mug: footer.mug };
      fsyncSync(fd);
    } catch (e) {
      throw blobReadError(staged, e);
    } finally {
      closeSync(fd);
    }
    this.#makeDirs();
    try {
      this.rescue(name);
      install(staged, join(this.paths.dir, name), byteLength);
      this.#removed.delete(name);
    } catch (cause) {
      throw blobWriteError(`Cannot install the staged blob "${staged}"`, cause);
    }
    fsyncDirectory(this.paths.dir);
    return ref;
  }

  /** Whether the blob `name` exists with the size of a blob of `byteLength` bytes: one stat(2). */
  has(name: string, byteLength: number): boolean {
    this.rescue(name);
    return sizeOf(this.pathOf(name)) === blobFileBytes(byteLength);
  }

  /** The blob `ref` names as an atom's bytes source (nothing is read until `bytes()`). */
  source(ref: BlobRef): BlobSource {
    this.rescue(ref.name);
    return new BlobSource(this.pathOf(ref.name), ref);
  }

  /** The names of the blobs in the store (files named by 64 hex digits), sorted. */
  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.paths.dir);
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return [];
      throw blobReadError(this.paths.dir, cause);
    }
    return names.filter(isBlobName).sort();
  }

  /**
   * Start-up cleanup, under the log's lock (no writer runs): empties `stg/` (what a crash left
   * mid-write), removes every blob not in `live` (the names the log and the kept snapshots hold),
   * leaves files with other names alone, and fsyncs `bob/` so the removals and every name that is
   * left are durable. Returns one warning per file removed or left alone, for the operator.
   */
  sweep(live: ReadonlySet<string>): string[] {
    const warnings: string[] = [];
    this.#makeDirs();
    for (const entry of readdirSync(this.paths.staging)) {
      const path = join(this.paths.staging, entry);
      try {
        rmSync(path, { recursive: true, force: true });
        warnings.push(entry.endsWith(REMOVED_SUFFIX) ? `Removed "${path}": a blob a chop had removed from the store and not yet deleted.` : `Removed "${path}": a blob whose writing was interrupted.`);
      } catch (e) {
        warnings.push(`Cannot remove the staging file "${path}": ${(e as Error).message}`);
      }
    }
    for (const entry of readdirSync(this.paths.dir)) {
      if (entry === "stg") continue;
      const path = join(this.paths.dir, entry);
      if (!isBlobName(entry)) {
        warnings.push(`Left "${path}" alone: it is not a blob (a blob is named by 64 lower-case hex digits)`);
        continue;
      }
      if (live.has(entry)) continue;
      try {
        unlinkSync(path);
        warnings.push(`Removed orphan blob "${path}": a crash came between storing it and committing the record or snapshot that would have named it.`);
      } catch (e) {
        warnings.push(`Cannot remove the unreferenced blob "${path}": ${(e as Error).message}`);
      }
    }
    fsyncDirectory(this.paths.staging);
    fsyncDirectory(this.paths.dir);
    return warnings;
  }

  /** Checks every blob completely (rehash, footer, size, every piece); one finding per blob. */
  verify(): BlobCheck[] {
    return this.list().map((name) => this.verifyOne(name));
  }

  /** Checks the blob `name` completely (rehash, footer, size, every piece). */
  verifyOne(name: string): BlobCheck {
    return verifyBlob(join(this.paths.dir, name));
  }

  /** Creates `bob/` and `stg/` (0700 whatever the umask) once per store. */
  #makeDirs(): void {
    if (this.#dirsMade) return;
    makeStoreDirs(this.paths);
    this.#dirsMade = true;
  }

  /** Steps 1-4 of the file comment for one blob. */
  async #write(bytes: Uint8Array, unnamed: BlobRef): Promise<BlobPutResult> {
    const tmp = join(this.paths.staging, `${randomBytes(12).toString("hex")}${STAGING_SUFFIX}`);
    let fd: number;
    try {
      fd = openSync(tmp, "wx", PIER_FILE_MODE);
    } catch (cause) {
      throw blobWriteError(`Cannot create the staging file "${tmp}"`, cause);
    }
    let open = true;
    const closeAndRemove = () => {
      if (open) {
        open = false;
        try {
          closeSync(fd);
        } catch {
          // Already failing or done; the file goes below.
        }
      }
      try {
        unlinkSync(tmp);
      } catch {
        // The next start's sweep empties stg/.
      }
    };
    try {
      // The same checksums urth's staging computes (checksums.ts), so both writers agree.
      const sums = new BlobChecksums(BLOB_PIECE_BYTES);
      const pieces = blobPieceCount(unnamed.byteLength);
      let inFlight: Promise<void> | undefined;
      for (let i = 0; i < pieces; i++) {
        const at = i * BLOB_PIECE_BYTES;
        const piece = bytes.subarray(at, Math.min(at + BLOB_PIECE_BYTES, bytes.length));
        // Hash this piece while the previous one is being written.
        sums.update(piece);
        await inFlight;
        inFlight = writeAllAsync(fd, piece, at);
      }
      await inFlight;
      const { digest, table: tail } = sums.finish();
      const ref: BlobRef = { ...unnamed, name: blobNameOf(digest) };
      const footer = encodeBlobFooter(ref, digest, crc32(tail));
      await writeAllAsync(fd, concat(tail, footer), ref.byteLength);
      const final = join(this.paths.dir, ref.name);
      // The dedup check and the rescue are one synchronous step: a chop cannot remove the blob
      // found here (and one it removed already is written again below).
      this.rescue(ref.name);
      if (sizeOf(final) === blobFileBytes(ref.byteLength)) {
        closeAndRemove();
        return { ref, written: false };
      }
      fsyncSync(fd);
      open = false;
      closeSync(fd);
      this.rescue(ref.name);
      const written = install(tmp, final, ref.byteLength);
      this.#removed.delete(ref.name);
      return { ref, written };
    } catch (cause) {
      closeAndRemove();
      throw blobWriteError(`Cannot write the blob of ${unnamed.byteLength} bytes to "${tmp}"`, cause);
    }
  }
}

/**
 * Links the synced tmp to `final` without replacing anything, then removes the tmp. Returns false
 * when `final` appeared meanwhile with the right size (a dedup hit). A file of the wrong size at
 * `final` is a damaged blob: the new, synced file of the same bytes replaces it.
 */
function install(tmp: string, final: string, byteLength: number): boolean {
  try {
    linkSync(tmp, final);
  } catch (cause) {
    if ((cause as { code?: string }).code !== "EEXIST") throw cause;
    if (sizeOf(final) === blobFileBytes(byteLength)) {
      unlinkSync(tmp);
      return false;
    }
    renameSync(tmp, final);
    return true;
  }
  unlinkSync(tmp);
  return true;
}

/** The reference of an item, its name ("") still to be computed; checks what a caller passes. */
function refOf(item: BlobPutItem): BlobRef {
  const { bytes, mug } = item;
  if (bytes.length < 1 || bytes.length > BLOB_ATOM_BYTES_MAX || bytes[bytes.length - 1] === 0) {
    throw new PleaError(BlobErrorCode.usage, `Cannot store ${bytes.length} bytes as a blob: a blob holds 1 to ${BLOB_ATOM_BYTES_MAX} canonical bytes (the last one nonzero)`);
  }
  if (!Number.isInteger(mug) || mug <= 0 || mug >= 2 ** 31) {
    throw new PleaError(BlobErrorCode.usage, `Cannot store a blob with mug ${mug}: a mug is 31 bits and nonzero`);
  }
  const bitLength = bitLengthOf(bytes);
  if (item.bitLength !== undefined && item.bitLength !== bitLength) {
    throw new PleaError(BlobErrorCode.usage, `Cannot store a blob of bit length ${bitLength} as bit length ${item.bitLength}`);
  }
  return { name: "", byteLength: bytes.length, bitLength, mug };
}

/** The size of the file at `path`, or -1 when there is none. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch (cause) {
    if ((cause as { code?: string }).code === "ENOENT") return -1;
    throw blobReadError(path, cause);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
