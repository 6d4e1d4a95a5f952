/**
 * Blobs staged by urth (docs/blob-store.md, "Staged by urth"): urth copies a large file of the
 * mount into `bob/stg/` by an in-kernel copy, computes its name, crc table and mug on the way,
 * finishes it as a complete blob file and makes it durable; mars installs it (`BlobStore.install`)
 * when the event that refers to it arrives. This is how urbit/vere#985 stages Unix syncs into
 * `.urb/bob/stg/`. urth writes nothing else of the store: only mars names a blob in `bob/`.
 *
 * A staged blob is `stg/<name>.staged`. Until then it is `stg/<random>.tmp`, as mars's own writes
 * are. Whatever is in `stg/` when mars starts is removed by its sweep: a crash of either process
 * at any step leaves nothing the log names.
 */
import { closeSync, fdatasyncSync, ftruncateSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "./checksums.ts";
import { blobWriteError, writeAllAsync } from "./durable.ts";
import { BLOB_FOOTER_BYTES, blobNameOf, encodeBlobFooter, type BlobPaths, type BlobRef } from "./layout.ts";

/** Suffix of a finished staged blob, after its name. */
export const STAGED_SUFFIX = ".staged";

/** Where urth leaves the staged blob named `name` for mars. */
export function stagedBlobPath(paths: BlobPaths, name: string): string {
  return join(paths.staging, `${name}${STAGED_SUFFIX}`);
}

/** What urth computed over a staged file's atom: its canonical length and bits, mug and checksums. */
export interface StagedSums {
  readonly byteLength: number;
  readonly bitLength: number;
  readonly mug: number;
  readonly digest: Uint8Array;
  /** The crc table: one little-endian CRC-32 per piece of the atom's bytes. */
  readonly table: Uint8Array;
}

/**
 * Finishes the staging file `tmp` (open as `fd`, holding the file's bytes from offset 0, maybe
 * with trailing zeros that are not the atom's): cuts it to the atom's length, appends the crc
 * table and footer, fdatasyncs it, closes `fd` and renames it to its staged name. Returns the
 * blob's reference and staged path. Throws `blob_write` (and removes `tmp`) on failure.
 */
export async function finishStaged(paths: BlobPaths, fd: number, tmp: string, sums: StagedSums): Promise<{ ref: BlobRef; path: string }> {
  const ref: BlobRef = { name: blobNameOf(sums.digest), byteLength: sums.byteLength, bitLength: sums.bitLength, mug: sums.mug };
  const path = stagedBlobPath(paths, ref.name);
  let open = true;
  try {
    ftruncateSync(fd, sums.byteLength);
    const tail = new Uint8Array(sums.table.length + BLOB_FOOTER_BYTES);
    tail.set(sums.table, 0);
    tail.set(encodeBlobFooter(ref, sums.digest, crc32(sums.table)), sums.table.length);
    await writeAllAsync(fd, tail, sums.byteLength);
    fdatasyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (cause) {
    if (open) closeQuietly(fd);
    removeQuietly(tmp);
    throw blobWriteError(`Cannot finish the staged blob "${tmp}"`, cause);
  }
  return { ref, path };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing
  }
}

/** Removes a staging file; one left behind goes at mars's next start (its sweep empties stg/). */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // see above
  }
}
