/**
 * Reading a blob file's tail (crc table and footer) and checking it: the one place that decides
 * whether a file on disk is a well-formed blob of the length a reference claims, before anything
 * maps or trusts it. Bytes from the disk get checks, not asserts: every finding is a typed error
 * naming the file.
 */
import { readSync } from "node:fs";
import { PleaError } from "../error.ts";
import { BlobErrorCode } from "./errors.ts";
import {
  BLOB_FOOTER_BYTES,
  blobFileBytes,
  blobFooterCrc,
  blobNameOf,
  blobPieceCount,
  decodeBlobFooter,
  type BlobFooter,
} from "./layout.ts";

/** What an operator can do about a damaged blob. */
export const DAMAGED_ADVICE = "Restore the pier from a backup, or commit the file again after removing the damaged blob";

/** A checked tail: the footer, and the crc table as numbers (one per piece). */
export interface BlobTail {
  readonly footer: BlobFooter;
  readonly pieceCrcs: Uint32Array;
}

/** Reads exactly `target.length` bytes at `position`; a short file is the caller's size check. */
export function preadFully(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) throw new Error(`End of file at byte ${position + done}`);
    done += n;
  }
}

/** A `blob_size` error: the file's size is not that of a blob of the expected length. */
export function sizeError(path: string, size: number, byteLength: number | undefined): PleaError {
  const expected = byteLength === undefined ? "" : `, not the ${blobFileBytes(byteLength)} of a blob of ${byteLength} bytes`;
  return new PleaError(BlobErrorCode.size, `Blob "${path}" is ${size} bytes${expected}: it is truncated or is not a blob. ${DAMAGED_ADVICE}`);
}

export function footerError(path: string, finding: string): PleaError {
  return new PleaError(BlobErrorCode.damaged.footer, `Blob "${path}" is damaged: ${finding}. ${DAMAGED_ADVICE}`);
}

/**
 * Reads and checks the tail of the blob file open as `fd`, `size` bytes long, whose name is
 * `name`. With `byteLength` (what a reference claims), the size is checked against it first (one
 * comparison, before any read). Checks the footer's fields, that the size fits its byte length,
 * that its digest is the file's name, and the footer's checksum over the crc table.
 */
export function readBlobTail(fd: number, size: number, path: string, name: string, byteLength?: number): BlobTail {
  if (byteLength !== undefined && size !== blobFileBytes(byteLength)) throw sizeError(path, size, byteLength);
  if (size < blobFileBytes(1)) throw sizeError(path, size, byteLength);
  const footerBytes = new Uint8Array(BLOB_FOOTER_BYTES);
  preadFully(fd, footerBytes, size - BLOB_FOOTER_BYTES);
  const footer = decodeBlobFooter(footerBytes);
  if (typeof footer === "string") throw footerError(path, footer);
  if (size !== blobFileBytes(footer.byteLength)) throw sizeError(path, size, footer.byteLength);
  if (byteLength !== undefined && footer.byteLength !== byteLength) {
    throw footerError(path, `its footer says ${footer.byteLength} bytes, not ${byteLength}`);
  }
  if (blobNameOf(footer.digest) !== name) throw footerError(path, "its footer's digest is not its name");
  const pieces = blobPieceCount(footer.byteLength);
  const table = new Uint8Array(pieces * 4);
  preadFully(fd, table, footer.byteLength);
  if (blobFooterCrc(table, footerBytes) !== footer.crc) throw footerError(path, "the checksum of its footer and crc table is wrong");
  const view = new DataView(table.buffer);
  const pieceCrcs = new Uint32Array(pieces);
  for (let i = 0; i < pieces; i++) pieceCrcs[i] = view.getUint32(i * 4, true);
  return { footer, pieceCrcs };
}

/** A `blob_missing` error for ENOENT, else a `blob_read` error, for a failed read of a blob file. */
export function blobReadError(path: string, cause: unknown): PleaError {
  if (cause instanceof PleaError) return cause;
  const code = (cause as { code?: string } | null)?.code;
  if (code === "ENOENT") {
    return new PleaError(BlobErrorCode.missing, `Blob "${path}" is missing. ${DAMAGED_ADVICE}`, { cause });
  }
  return new PleaError(
    BlobErrorCode.read,
    `Cannot read blob "${path}": ${(cause as Error)?.message ?? String(cause)}. Check the pier's permissions and \`dmesg\``,
    { cause },
  );
}
