/**
 * cueFromChunks: cue a jam that arrives in chunks (a pipe, a blob file of the log), without
 * ever holding the whole jam: memory beyond the decoded noun is the decoder's dictionary and
 * stack plus a few bytes carried between chunks (cue-decoder.ts). An atom whose bits span
 * chunks is assembled as they arrive.
 */
import { CueDecoder, type CueDecoderOptions } from "./cue-decoder.ts";
import type { Noun } from "./noun.ts";

/**
 * The noun whose jam is the concatenation of `chunks`. Stops reading once the noun is complete
 * (later bytes are ignored, as vere ignores bits after the root). Pass `inputBytes` when the
 * total length is known: large atoms are then allocated once, whole. Throws `CueError` on bytes that
 * are not a jam, including input that ends before the noun does. Chunks are not retained.
 */
export async function cueFromChunks(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: CueDecoderOptions = {}): Promise<Noun> {
  const decoder = new CueDecoder(options);
  for await (const chunk of chunks) {
    if (decoder.push(chunk)) return decoder.noun;
  }
  return decoder.end();
}
