/**
 * jamToSink: jam a noun into a sink in chunks, for jams too large to hold (above 4 GiB they
 * cannot be one Uint8Array) and for streaming large events into the log or a pipe.
 *
 * Memory: one chunk buffer, reused, plus the dictionary and the walk's stack (jam-encoder.ts),
 * plus a read buffer of at most the chunk size for file-backed atoms, whose bytes go from the
 * file through that buffer into the chunk and never exist whole in memory.
 */
import { BitWriter } from "./bit-writer.ts";
import { JamEncoder, type JamPlan, type JamRefs } from "./jam-encoder.ts";
import type { Noun } from "./noun.ts";

/** Default chunk size: 1 MiB pipe writes ran at 1.26 GB/s here (docs/platform.md). */
export const JAM_CHUNK_BYTES_DEFAULT = 1 << 20;
/** Smallest internal buffer; smaller `chunkBytes` are honoured by slicing it. */
const JAM_BUFFER_BYTES_MIN = 64;

/** Where `jamToSink` writes. */
export interface JamSink {
  /**
   * Takes the next chunk. The chunk is a view of a buffer that is reused once this returns (or
   * its promise resolves): copy or consume it before then.
   */
  write(chunk: Uint8Array): void | Promise<void>;
}

/**
 * Jams `n` into `sink` in chunks of at most `chunkBytes` bytes, in order; the bytes are those of
 * `jam(n)`. Resolves to the jam's length in bytes. `plan`, from `measureJam(n)` on this same
 * noun, replays the dictionary's answers instead of finding them again. With `refs`, a jam with
 * refs (jam-encoder.ts, JamRefs); a plan must then come from `measureJam` with the same `refOf`.
 */
export async function jamToSink<R>(n: Noun, sink: JamSink, chunkBytes = JAM_CHUNK_BYTES_DEFAULT, plan?: JamPlan, refs?: JamRefs<R>): Promise<number> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new RangeError(`chunkBytes must be a positive integer; got ${chunkBytes}`);
  }
  const bufferBytes = Math.max(JAM_BUFFER_BYTES_MIN, Math.ceil(chunkBytes / 4) * 4);
  const w = new BitWriter(new Uint32Array(bufferBytes / 4));
  const encoder = new JamEncoder(n, bufferBytes, { replay: plan, refs });
  let total = 0;
  try {
    while (true) {
      encoder.run(w);
      if (encoder.done) break;
      const bytes = w.index * 4;
      await emit(sink, w.bytes, bytes, chunkBytes);
      total += bytes;
      w.drainedBits += w.index * 32;
      w.index = 0;
    }
    // Done: a final partial word may still be pending, and needs one free word.
    if (w.pending > 0 && w.roomWords < 1) {
      const bytes = w.index * 4;
      await emit(sink, w.bytes, bytes, chunkBytes);
      total += bytes;
      w.drainedBits += w.index * 32;
      w.index = 0;
    }
    const bytes = w.finish();
    await emit(sink, w.bytes, bytes, chunkBytes);
    return total + bytes;
  } finally {
    encoder.close();
  }
}

async function emit(sink: JamSink, buffer: Uint8Array, length: number, chunkBytes: number): Promise<void> {
  for (let at = 0; at < length; at += chunkBytes) {
    const r = sink.write(buffer.subarray(at, Math.min(length, at + chunkBytes)));
    if (r !== undefined) await r;
  }
}
