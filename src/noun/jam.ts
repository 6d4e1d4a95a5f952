/**
 * jam: a noun to the little-endian bytes of vere's jam atom, `ceil(bits / 8)` bytes long.
 * The encoding itself is in jam-encoder.ts; this file owns the growing output buffer.
 * A jam of more than JAM_BYTES_MAX bytes cannot be one Uint8Array: use `jamToSink`.
 */
import { BitWriter } from "./bit-writer.ts";
import { JAM_TOKEN_WORDS_MAX, JamEncoder, type JamRefs } from "./jam-encoder.ts";
import type { Noun } from "./noun.ts";

/** Largest jam `jam` returns: one Uint8Array holds at most 2^32 bytes in Bun. */
export const JAM_BYTES_MAX = 2 ** 32;
/** First buffer size, in words: most events jam to less than this. */
const JAM_BUFFER_WORDS_INITIAL = 256;
/** Slack above which the result is copied out rather than returned as a view of the buffer. */
const JAM_SLACK_BYTES_MAX = 64 * 1024;

const JAM_WORDS_MAX = JAM_BYTES_MAX / 4;

/** `words[0 .. used)` in a buffer of at least `need` words (doubling), within JAM_BYTES_MAX. */
function grow(words: Uint32Array, used: number, need: number): Uint32Array {
  if (need > JAM_WORDS_MAX) {
    throw new RangeError(`This noun's jam exceeds ${JAM_BYTES_MAX} bytes, the most one Uint8Array holds; use jamToSink`);
  }
  const grown = new Uint32Array(Math.min(JAM_WORDS_MAX, Math.max(need, words.length * 2)));
  grown.set(words.subarray(0, used));
  return grown;
}

/**
 * The jam of `n` as little-endian bytes. With `refs`, a jam with refs (jam-encoder.ts, JamRefs):
 * the atoms `refs.refOf` names are placeholders listed in `refs.table`.
 */
export function jam<R>(n: Noun, refs?: JamRefs<R>): Uint8Array {
  const encoder = new JamEncoder(n, undefined, { refs });
  let words: Uint32Array = new Uint32Array(JAM_BUFFER_WORDS_INITIAL);
  const w = new BitWriter(words);
  try {
    while (true) {
      encoder.run(w);
      if (encoder.done) break;
      // Out of room: grow at least to fit the whole of a large atom in progress.
      words = grow(words, w.index, w.index + Math.ceil(encoder.bodyBytesLeft / 4) + 2 * JAM_TOKEN_WORDS_MAX);
      w.setBuffer(words);
    }
    if (w.pending > 0 && w.roomWords < 1) {
      words = grow(words, w.index, words.length + 1);
      w.setBuffer(words);
    }
    const length = w.finish();
    const bytes = w.bytes;
    if (bytes.length - length > JAM_SLACK_BYTES_MAX) return bytes.slice(0, length);
    return bytes.subarray(0, length);
  } finally {
    encoder.close();
  }
}
