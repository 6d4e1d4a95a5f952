/**
 * `writeShm`: writes a noun into any buffer in the flat noun format (docs/shm-format.md).
 * The entries come from the post-order walk (walk.ts); this file adds the header, written
 * last so that a half-written buffer never reads as valid.
 */
import type { BigAtom } from "../atom.ts";
import type { Noun } from "../noun.ts";
import {
  SHM_DATA_BYTES_AT,
  SHM_FLAGS_AT,
  SHM_FORMAT_VERSION,
  SHM_HEADER_BYTES,
  SHM_MAGIC,
  SHM_MAGIC_AT,
  SHM_RESERVED_AT,
  SHM_ROOT_AT,
  SHM_VERSION_AT,
  TWO_32,
  type ShmRef,
} from "./layout.ts";
import { tooSmall, walkShm } from "./walk.ts";
import { ByteWindows, type ByteWindowsSource } from "../../byte-windows.ts";

/**
 * Writes `noun` into `target` (a buffer, windows in order, or a segment's `{ windows }`) and
 * returns the bytes written, header included. The header records the exact data length, which
 * is below `shmSize(noun)` when a FileAtom had trailing zero bytes. Throws a RangeError when the
 * target is too small (size it with `shmSize`), and `FileAtomError` when a backing file changed.
 * Bytes past the returned length are unspecified (a FileAtom may have been read there).
 * Every window but the last must be a multiple of 8 bytes (a segment's windows are pages).
 *
 * `onProgress` is called with each piece of a file-backed atom read into the target, so a long
 * fill can show progress (it runs synchronously, inside this call).
 *
 * `refOf` names the large atoms to write as blob references (docs/shm-format.md, "Blob
 * references"): each costs a 56-byte entry and its bytes are never read. It must answer the same
 * as for the `shmSize` that sized the target; equal names share one entry.
 */
export function writeShm(
  noun: Noun,
  target: ByteWindowsSource,
  options: { onProgress?: (bytes: number) => void; refOf?: (a: BigAtom) => ShmRef | undefined } = {},
): number {
  const w = new ByteWindows(target);
  if (w.total < SHM_HEADER_BYTES) throw tooSmall(w.total, SHM_HEADER_BYTES);
  // A half-written buffer must never look valid, whatever an earlier use left in it.
  w.setU32(SHM_MAGIC_AT, 0);
  const root = new Uint32Array(2);
  const end = walkShm(noun, w, root, options.onProgress, options.refOf);
  const dataBytes = end - SHM_HEADER_BYTES;
  w.setU32(SHM_VERSION_AT, SHM_FORMAT_VERSION | (SHM_HEADER_BYTES << 16));
  w.setU32(SHM_FLAGS_AT, 0);
  w.setU32(SHM_RESERVED_AT, 0);
  w.setU32(SHM_ROOT_AT, root[0]);
  w.setU32(SHM_ROOT_AT + 4, root[1]);
  w.setU32(SHM_DATA_BYTES_AT, dataBytes >>> 0);
  w.setU32(SHM_DATA_BYTES_AT + 4, Math.floor(dataBytes / TWO_32));
  // The magic goes last: until here the buffer reads as "not a raw noun".
  w.setU32(SHM_MAGIC_AT, SHM_MAGIC);
  return end;
}
