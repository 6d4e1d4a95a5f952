/**
 * Checking a blob completely, as `urth verify` and `BlobStore.verify` do: read every byte (no
 * mapping: a damaged file must not be able to kill the checker), rehash it (SHA-256 must be the
 * blob's name), check every piece's CRC-32, the footer, and the size. Slow by design (about
 * 1.7 GB/s of hashing here, docs/blob-store.md): reading a blob for use checks only the CRCs.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { basename } from "node:path";
import { PleaError } from "../error.ts";
import { blobReadError, DAMAGED_ADVICE, footerError, preadFully, readBlobTail } from "./blob-file.ts";
import { crc32, sha256 } from "./checksums.ts";
import { BlobErrorCode } from "./errors.ts";
import { BLOB_PIECE_BYTES, bitLengthOf, blobNameOf } from "./layout.ts";
import { AtomMugStream } from "../noun/mug-stream.ts";
import { ATOM_MUG_FALLBACK, ATOM_SEED, MUG_TRIES } from "../noun/mug.ts";

/** The finding for one blob: `problem` is undefined when the blob is intact. */
export interface BlobCheck {
  readonly name: string;
  readonly path: string;
  /** The byte length its footer gives, when the footer could be read. */
  readonly byteLength: number | undefined;
  readonly problem: PleaError | undefined;
}

/** Checks the blob file at `path` (named by its last path component); never throws for bad bytes. */
export function verifyBlob(path: string): BlobCheck {
  const name = basename(path);
  let byteLength: number | undefined;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    return { name, path, byteLength, problem: blobReadError(path, cause) };
  }
  try {
    const { footer, pieceCrcs } = readBlobTail(fd, fstatSync(fd).size, path, name);
    byteLength = footer.byteLength;
    const hash = sha256();
    // The mug too: urth computes it when it stages a file, and mars keeps it without rehashing
    // (docs/blob-store.md, "Trust"); this is where a wrong one is caught.
    const mugs = new AtomMugStream();
    const piece = new Uint8Array(Math.min(BLOB_PIECE_BYTES, byteLength));
    let last = 0;
    for (let i = 0; i < pieceCrcs.length; i++) {
      const at = i * BLOB_PIECE_BYTES;
      const bytes = piece.subarray(0, Math.min(BLOB_PIECE_BYTES, byteLength - at));
      preadFully(fd, bytes, at);
      if (crc32(bytes) !== pieceCrcs[i]) {
        throw new PleaError(BlobErrorCode.damaged.piece, `Blob "${path}" is damaged: the piece at byte ${at} does not match its checksum. ${DAMAGED_ADVICE}`);
      }
      hash.update(bytes);
      mugs.update(bytes);
      last = bytes[bytes.length - 1] as number;
    }
    if (blobNameOf(hash.digest()) !== name) {
      throw new PleaError(BlobErrorCode.damaged.hash, `Blob "${path}" is damaged: the SHA-256 of its bytes is not its name. ${DAMAGED_ADVICE}`);
    }
    if (bitLengthOf(Uint8Array.of(last)) + (byteLength - 1) * 8 !== footer.bitLength) throw footerError(path, "its last byte does not fit its bit length");
    const mug = mugs.result() ?? mugWithLaterSeeds(fd, byteLength, piece);
    if (mug !== footer.mug) throw footerError(path, `its footer's mug ${footer.mug} is not its bytes' mug ${mug}`);
    return { name, path, byteLength, problem: undefined };
  } catch (e) {
    return { name, path, byteLength, problem: blobReadError(path, e) };
  } finally {
    closeSync(fd);
  }
}

/** The mug from the second seed on (when the first folds to 0: odds of 2^-31), rereading the bytes. */
function mugWithLaterSeeds(fd: number, byteLength: number, piece: Uint8Array): number {
  for (let i = 1; i < MUG_TRIES; i++) {
    const stream = new AtomMugStream(ATOM_SEED + i);
    for (let at = 0; at < byteLength; at += piece.length) {
      const bytes = piece.subarray(0, Math.min(piece.length, byteLength - at));
      preadFully(fd, bytes, at);
      stream.update(bytes);
    }
    const m = stream.result();
    if (m !== undefined) return m;
  }
  return ATOM_MUG_FALLBACK;
}
