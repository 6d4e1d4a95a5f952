/**
 * Reading a large event back from its blob file: the jam is fed to `cueFromChunks` in chunks
 * (never whole in memory) while its CRC-32 is computed, and a mismatch with the record is
 * reported naming the event. The file is read to its end even when cue stops early, so the
 * checksum always covers every byte.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { cueFromChunks } from "../../noun/index.ts";
import type { Noun } from "../../noun/noun.ts";
import type { Atom } from "../../noun/atom.ts";
import { fadvise, POSIX_FADV_DONTNEED, POSIX_FADV_SEQUENTIAL } from "./fadvise.ts";
import { LogError, LogErrorCode } from "./log-error.ts";
import { crc32 } from "./streamed-file.ts";

/** Bytes read per chunk: 8 MiB. Each is a fresh buffer (cue may keep views of its input). */
export const BLOB_READ_CHUNK_BYTES = 8 * 1024 * 1024;

/** Reads `[offset, offset + length)` of a file in checksummed chunks, as an iterable for cue. */
export class ChecksummedChunks implements Iterable<Uint8Array> {
  crc = 0;
  position: number;
  private readonly end: number;
  private readonly fd: number;
  private readonly what: string;
  private readonly chunkBytes: number;

  constructor(fd: number, offset: number, length: number, what: string, chunkBytes = BLOB_READ_CHUNK_BYTES) {
    this.fd = fd;
    this.position = offset;
    this.end = offset + length;
    this.what = what;
    this.chunkBytes = chunkBytes;
    adviseQuietly(fd, offset, length, POSIX_FADV_SEQUENTIAL, what);
  }

  /**
   * One buffer for every chunk: cue does not keep chunks, and a fresh 8 MiB buffer per chunk left
   * the garbage of a whole blob for GC (replaying 512 MiB peaked at 2x the payload; reused: 1x).
   */
  private buffer: Uint8Array | undefined;

  /** The next chunk (valid until the next call), or undefined at the end. */
  read(): Uint8Array | undefined {
    if (this.position >= this.end) return undefined;
    const n = Math.min(this.chunkBytes, this.end - this.position);
    this.buffer ??= new Uint8Array(Math.min(this.chunkBytes, this.end - this.position));
    const buf = this.buffer.subarray(0, n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buf, done, n - done, this.position + done);
      if (got === 0) {
        throw new LogError(LogErrorCode.blobLength, `${this.what} ended at byte ${this.position + done} while being read; it was truncated under mars`);
      }
      done += got;
    }
    this.crc = crc32(buf, this.crc);
    // Replay reads each byte once: keep the page cache for something else.
    adviseQuietly(this.fd, this.position, n, POSIX_FADV_DONTNEED, this.what);
    this.position += n;
    return buf;
  }

  /** Reads whatever is left, for the checksum. */
  drain(): void {
    while (this.read() !== undefined);
  }

  /** An iterator without `return`: a consumer that stops early does not end the reading. */
  [Symbol.iterator](): Iterator<Uint8Array> {
    return {
      next: () => {
        const value = this.read();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
    };
  }
}

function adviseQuietly(fd: number, offset: number, length: number, advice: number, what: string): void {
  try {
    fadvise(fd, offset, length, advice, what);
  } catch {
    // Advice only: a filesystem that refuses it still reads correctly.
  }
}

/**
 * Cues event `eve`'s job from its blob file, checking the file's length and CRC-32 against the
 * record's; `substitute` puts back the atoms its record refers to in the blob store. Throws LogError (blob_missing, blob_length, blob_checksum) naming the event.
 */
export async function cueBlob(path: string, eve: number, length: number, crc: number, substitute?: ReadonlyMap<number, Atom>): Promise<Noun> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    throw new LogError(
      LogErrorCode.blobMissing,
      `Event ${eve}'s blob "${path}" cannot be read (${(cause as Error).message}). Mars will not start without it; restore the file or the pier from a backup`,
      { eve, cause },
    );
  }
  try {
    const size = fstatSync(fd).size;
    if (size !== length) {
      throw new LogError(
        LogErrorCode.blobLength,
        `Event ${eve}'s blob "${path}" is ${size} bytes; its record says ${length}. Mars will not start on a damaged log; restore the file or the pier from a backup`,
        { eve },
      );
    }
    const chunks = new ChecksummedChunks(fd, 0, length, `Event ${eve}'s blob "${path}"`);
    let job: Noun | undefined;
    let cueFailure: unknown;
    try {
      job = await cueFromChunks(chunks, { inputBytes: length, ...(substitute !== undefined ? { substitute } : {}) });
    } catch (e) {
      if (e instanceof LogError) throw e;
      cueFailure = e;
    }
    chunks.drain();
    if (chunks.crc !== crc >>> 0) {
      throw new LogError(
        LogErrorCode.blobChecksum,
        `Event ${eve}'s blob "${path}" is damaged: its checksum is ${hex(chunks.crc)}, its record says ${hex(crc)}. Mars will not start on a damaged log; restore the file or the pier from a backup`,
        { eve, cause: cueFailure },
      );
    }
    if (cueFailure !== undefined || job === undefined) {
      throw new LogError(
        LogErrorCode.blobChecksum,
        `Event ${eve}'s blob "${path}" has the right checksum but is not a jam (${(cueFailure as Error)?.message}): it was written wrong. Restore the pier from a backup`,
        { eve, cause: cueFailure },
      );
    }
    return job;
  } finally {
    closeSync(fd);
  }
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}
