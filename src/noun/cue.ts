/**
 * cue: the little-endian bytes of a jam atom back to the noun (vere's cue). Atoms are copied
 * out of `bytes`, so the result never keeps the input alive. The decoding itself, and what it
 * accepts and refuses, is in cue-decoder.ts.
 */
import { CueDecoder, type CueDecoderOptions } from "./cue-decoder.ts";
import type { Noun } from "./noun.ts";

/**
 * The noun whose jam is `bytes`. Throws `CueError` on bytes that are not a jam. With
 * `options.substitute`, the cue of a jam with refs (CueDecoderOptions).
 */
export function cue(bytes: Uint8Array, options?: Pick<CueDecoderOptions, "substitute">): Noun {
  return new CueDecoder(options).end(bytes);
}
