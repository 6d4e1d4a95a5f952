/**
 * The sha-256 of a file-backed atom's bytes: the name the blob store gives the same bytes
 * (docs/blob-store.md), so urth can tell whether a file it is about to send is already there
 * (docs/ipc.md, "Plea extension: blob references").
 *
 * The file is read in FILE_HASH_CHUNK_BYTES pieces into one reused buffer: hashing 1 GiB holds
 * 4 MiB. It is checked for change as every read of a FileAtom is (src/noun/file-atom.ts): its size
 * and mtime when it is opened and again after its last byte is hashed, so a file written while it
 * is hashed fails the commit instead of naming bytes that were never on disk at one moment.
 * Only the atom's bytes are hashed: the file's trailing zero bytes are not part of its atom.
 */
import { closeSync } from "node:fs";
import type { FileAtom } from "../noun/index.ts";

/** Bytes read and hashed per call: the blob store's piece size, large enough that syscalls do not count. */
export const FILE_HASH_CHUNK_BYTES = 4 * 1024 * 1024;

/** The sha-256, as 64 lowercase hex digits, of the first `byteLength` bytes of `file` (its exact length). */
export function sha256OfFileAtom(file: FileAtom, byteLength: number): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const buffer = new Uint8Array(Math.min(FILE_HASH_CHUNK_BYTES, Math.max(byteLength, 1)));
  const fd = file.open();
  try {
    for (let pos = 0; pos < byteLength; pos += buffer.length) {
      const piece = buffer.subarray(0, Math.min(buffer.length, byteLength - pos));
      file.readInto(fd, pos, piece);
      hasher.update(piece);
    }
    file.checkUnchanged(fd);
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}
