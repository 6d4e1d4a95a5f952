/**
 * A blob as the bytes of a large atom (`AtomBytesSource`, src/noun/atom.ts): length, bit length
 * and name known without reading; `bytes()` maps the file and checks it before returning a view.
 *
 * Mapping, and why each step (docs/blob-store.md, "Reading"):
 * - open O_RDONLY and fstat: the size must be `blobFileBytes(byteLength)`. Touching a page past
 *   the end of a truncated file is SIGBUS, which Bun cannot catch (docs/platform.md), so a short
 *   file is refused before it is mapped.
 * - the footer and crc table are read and checked (blob-file.ts).
 * - mmap MAP_PRIVATE with PROT_READ|PROT_WRITE: a stray JS write lands in a private copy of the
 *   page, never in the file and never a SIGSEGV (the same rule as a reader's segment, src/ffi/shm.ts).
 * - every piece's CRC-32 is checked against the table before the view is returned: a same-length
 *   bit flip is a typed error naming the blob and the piece's offset, never wrong bytes.
 * - the view's ArrayBuffer has munmap as its deallocator (`viewOfMapping`, src/ffi/shm.ts), and
 *   the source keeps only a WeakRef to it: the mapping goes when the GC drops the last view, and
 *   the next `bytes()` maps (and checks) again.
 *
 * What stays unchecked: a file changed after its pieces were checked (by another process writing
 * into the pier) changes what a live view reads. Plea never writes a blob after installing it.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { basename } from "node:path";
import { isPleaError, PleaError } from "../error.ts";
import { MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE } from "../ffi/libc.ts";
import { viewOfMapping } from "../ffi/shm.ts";
import type { AtomBytesSource } from "../noun/atom.ts";
import { blobReadError, DAMAGED_ADVICE, footerError, preadFully, readBlobTail } from "./blob-file.ts";
import { crc32 } from "./checksums.ts";
import { BlobErrorCode } from "./errors.ts";
import { BLOB_PIECE_BYTES, bitLengthOf, blobFileBytes, type BlobRef } from "./layout.ts";

export class BlobSource implements AtomBytesSource {
  readonly path: string;
  readonly ref: BlobRef;
  #view: WeakRef<Uint8Array> | undefined = undefined;

  /** `ref` is what a reference claims; `bytes()` checks the file against it. */
  constructor(path: string, ref: BlobRef) {
    this.path = path;
    this.ref = ref;
  }

  get byteLength(): number {
    return this.ref.byteLength;
  }

  get bitLength(): number {
    return this.ref.bitLength;
  }

  /** The blob's name: the SHA-256 of the bytes. */
  get contentKey(): string {
    return this.ref.name;
  }

  /**
   * Bytes [offset, offset + target.length) read with pread, for jam's dictionary hash, which
   * samples 3 x 64 bytes of a large atom: mapping and checking 1 GiB for that would cost the whole
   * read. The file's size is checked; the pieces are not (the sample never leaves as the atom's
   * bytes: it only picks a dictionary bucket, and equality compares names).
   */
  readRange(offset: number, target: Uint8Array): void {
    if (offset < 0 || offset + target.length > this.ref.byteLength) {
      throw new RangeError(`Bytes ${offset}..${offset + target.length} are outside blob "${this.path}" of ${this.ref.byteLength} bytes`);
    }
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch (cause) {
      throw blobReadError(this.path, cause);
    }
    try {
      const size = fstatSync(fd).size;
      if (size !== blobFileBytes(this.ref.byteLength)) {
        throw new PleaError(BlobErrorCode.size, `Blob "${this.path}" is ${size} bytes; a blob of ${this.ref.byteLength} bytes is ${blobFileBytes(this.ref.byteLength)}. ${DAMAGED_ADVICE}`);
      }
      preadFully(fd, target, offset);
    } finally {
      closeSync(fd);
    }
  }

  /** The checked bytes, as a view of a private mapping of the file (mapped on first use). */
  bytes(): Uint8Array {
    const live = this.#view?.deref();
    // A detached view (length 0) would read as empty: map again.
    if (live !== undefined && live.length === this.ref.byteLength) return live;
    const view = mapBlob(this.path, this.ref);
    this.#view = new WeakRef(view);
    return view;
  }
}

/** Maps the blob at `path` and checks it against `ref` (see the file comment). */
export function mapBlob(path: string, ref: BlobRef): Uint8Array {
  if (!Number.isSafeInteger(ref.byteLength) || ref.byteLength < 1) {
    throw new PleaError(BlobErrorCode.usage, `Blob "${path}" cannot be read as ${ref.byteLength} bytes: a blob holds at least one byte`);
  }
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    throw blobReadError(path, cause);
  }
  let buffer: ArrayBuffer | undefined;
  try {
    const size = fstatSync(fd).size;
    const { footer, pieceCrcs } = readBlobTail(fd, size, path, basename(path), ref.byteLength);
    if (footer.bitLength !== ref.bitLength || footer.mug !== ref.mug) {
      throw footerError(path, `its footer says bit length ${footer.bitLength} and mug ${footer.mug}, its reference ${ref.bitLength} and ${ref.mug}`);
    }
    const length = ref.byteLength;
    const address = mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, `Cannot map blob "${path}" (${length} bytes)`);
    try {
      buffer = viewOfMapping(address, length);
    } catch (e) {
      munmap(address, length, `Cannot unmap blob "${path}"`);
      throw e;
    }
    const view = new Uint8Array(buffer);
    for (let i = 0; i < pieceCrcs.length; i++) {
      const at = i * BLOB_PIECE_BYTES;
      if (crc32(view.subarray(at, Math.min(at + BLOB_PIECE_BYTES, length))) !== pieceCrcs[i]) {
        throw new PleaError(
          BlobErrorCode.damaged.piece,
          `Blob "${path}" is damaged: the piece at byte ${at} does not match its checksum. ${DAMAGED_ADVICE}`,
        );
      }
    }
    if (bitLengthOf(view) !== ref.bitLength) throw footerError(path, "its last byte does not fit its bit length");
    return view;
  } catch (e) {
    // Unmap now (transfer(0) runs the deallocator): no view of a damaged blob escapes.
    if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    throw isPleaError(e) ? e : blobReadError(path, e);
  } finally {
    closeSync(fd);
  }
}
