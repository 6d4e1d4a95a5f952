/**
 * Reading a blob in pieces with plain reads (no mapping), each checked before it is handed out:
 * how `cat` streams a large file from the read view (docs/read-view.md) without mars. The footer
 * and crc table are read and checked once (blob-file.ts); then each BLOB_PIECE_BYTES piece is read
 * whole and its CRC-32 compared with the table before any of its bytes go out, in slices of at
 * most `sliceBytesMax`. Damage is a typed BlobErrorCode error naming the blob, never wrong bytes;
 * a blob replaced by a file of another length is caught by the size check first.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { PleaError } from "../error.ts";
import { blobReadError, DAMAGED_ADVICE, preadFully, readBlobTail } from "./blob-file.ts";
import { crc32 } from "./checksums.ts";
import { BlobErrorCode } from "./errors.ts";
import { BLOB_PIECE_BYTES } from "./layout.ts";

/**
 * The bytes [0, byteLength) of blob `name`, whose file is `path` (`BlobStore.pathOf(name)`), in checked slices of at most
 * `sliceBytesMax` bytes (a whole piece is read and checked first, so memory is one piece). The
 * file is closed when the iteration ends, early or not.
 */
export function* readBlobPieces(path: string, name: string, byteLength: number, sliceBytesMax: number = BLOB_PIECE_BYTES): Generator<Uint8Array, void, undefined> {
  if (!Number.isSafeInteger(sliceBytesMax) || sliceBytesMax < 1) throw new RangeError(`A slice is at least one byte, not ${sliceBytesMax}`);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    throw blobReadError(path, cause);
  }
  try {
    let pieceCrcs: Uint32Array;
    try {
      pieceCrcs = readBlobTail(fd, fstatSync(fd).size, path, name, byteLength).pieceCrcs;
    } catch (cause) {
      throw blobReadError(path, cause);
    }
    const piece = new Uint8Array(Math.min(BLOB_PIECE_BYTES, byteLength));
    for (let i = 0; i < pieceCrcs.length; i++) {
      const at = i * BLOB_PIECE_BYTES;
      const bytes = piece.subarray(0, Math.min(BLOB_PIECE_BYTES, byteLength - at));
      try {
        preadFully(fd, bytes, at);
      } catch (cause) {
        throw blobReadError(path, cause);
      }
      if (crc32(bytes) !== pieceCrcs[i]) {
        throw new PleaError(BlobErrorCode.damaged.piece, `Blob "${path}" is damaged: the piece at byte ${at} does not match its checksum. ${DAMAGED_ADVICE}`);
      }
      // Each slice is a copy: the piece buffer is read into again for the next piece.
      for (let s = 0; s < bytes.length; s += sliceBytesMax) yield bytes.slice(s, Math.min(bytes.length, s + sliceBytesMax));
    }
  } finally {
    closeSync(fd);
  }
}
