/**
 * File-backed atoms: an atom whose bytes are a region of a file, read only where they land.
 *
 * This is how urth builds the noun of a multi-GiB commit without holding any file in its heap
 * (docs/decisions.md, "One large atom is never copied twice"): the noun is made of metadata, and
 * `writeShm` reads the bytes straight into the segment, or `jamToSink` streams them into the pipe.
 *
 * The length from `stat` is an upper bound of the atom's byte length: trailing zero bytes are not
 * part of an atom. `exactLength()` finds the real one by scanning back from the end (one small
 * read for typical data). Every read checks that the file still has the size and mtime it had
 * when the atom was made, so a file that changes under a commit fails that commit clearly
 * instead of committing bytes that were never on disk at one moment.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { ATOM_BYTES_MAX, atomFromBytes, type BigAtom } from "./atom.ts";
import { FileAtomError, NounErrorCode } from "./errors.ts";

/** Bytes read per call while scanning back for the last nonzero byte. */
const FILE_ATOM_SCAN_BYTES = 64 * 1024;

export class FileAtom {
  readonly path: string;
  /** Byte length from stat: an upper bound of the atom's length (trailing zeros drop). */
  readonly byteLengthMax: number;
  readonly mtimeMs: number;
  /** Cached mug; 0 means "not computed yet". */
  mug = 0;
  private exact = -1;

  /** Stats `path` now; the atom is the file's bytes as they are at that moment. */
  constructor(path: string) {
    let st;
    try {
      st = statSync(path);
    } catch (cause) {
      throw new FileAtomError(NounErrorCode.fileAtom.unreadable, path, `Cannot read "${path}": ${(cause as Error).message}`, { cause });
    }
    if (st.size > ATOM_BYTES_MAX) {
      throw new FileAtomError(
        NounErrorCode.fileAtom.tooLarge,
        path,
        `"${path}" is ${st.size} bytes; one atom holds at most ${ATOM_BYTES_MAX} bytes (4 GiB). Split the file`,
      );
    }
    this.path = path;
    this.byteLengthMax = st.size;
    this.mtimeMs = st.mtimeMs;
  }

  /** Opens the file and checks it is unchanged since the atom was made. Caller closes the fd. */
  open(): number {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch (cause) {
      throw new FileAtomError(NounErrorCode.fileAtom.unreadable, this.path, `Cannot read "${this.path}": ${(cause as Error).message}`, { cause });
    }
    try {
      this.checkUnchanged(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return fd;
  }

  /** Throws `FileAtomError` (file_changed) if the file's size or mtime moved since stat. */
  checkUnchanged(fd: number): void {
    const st = fstatSync(fd);
    if (st.size !== this.byteLengthMax || st.mtimeMs !== this.mtimeMs) {
      throw new FileAtomError(
        NounErrorCode.fileAtom.changed,
        this.path,
        `"${this.path}" changed while it was being committed (size ${this.byteLengthMax} -> ${st.size}); commit again once it is settled`,
      );
    }
  }

  /**
   * Reads bytes [pos, pos + target.length) of the file into `target`, which must lie within
   * byteLengthMax. Short reads (the file shrank) are a `file_changed` error, never zeros.
   */
  readInto(fd: number, pos: number, target: Uint8Array): void {
    let done = 0;
    while (done < target.length) {
      const n = readSync(fd, target, done, target.length - done, pos + done);
      if (n === 0) {
        throw new FileAtomError(NounErrorCode.fileAtom.changed, this.path, `"${this.path}" shrank while it was being committed; commit again once it is settled`);
      }
      done += n;
    }
  }

  /** The atom's byte length: byteLengthMax less trailing zero bytes (cached). */
  exactLength(): number {
    if (this.exact >= 0) return this.exact;
    const fd = this.open();
    try {
      const buf = new Uint8Array(Math.min(FILE_ATOM_SCAN_BYTES, this.byteLengthMax));
      let end = this.byteLengthMax;
      while (end > 0) {
        const start = Math.max(0, end - buf.length);
        const view = buf.subarray(0, end - start);
        this.readInto(fd, start, view);
        for (let i = view.length - 1; i >= 0; i--) {
          if (view[i] !== 0) {
            this.exact = start + i + 1;
            return this.exact;
          }
        }
        end = start;
      }
      this.exact = 0;
      return 0;
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the whole atom into the heap. Costs its length in memory: not for the large-commit path. */
  materialize(): number | BigAtom {
    const len = this.exactLength();
    const bytes = new Uint8Array(len);
    if (len > 0) {
      const fd = this.open();
      try {
        this.readInto(fd, 0, bytes);
      } finally {
        closeSync(fd);
      }
    }
    return atomFromBytes(bytes);
  }
}
