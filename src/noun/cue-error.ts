/**
 * CueError: bytes that are not the jam of a noun. Thrown by `cue`, `cueFromChunks` and
 * `CueDecoder`; the message says what is wrong and at which bit of the input, and `bit` holds it.
 */
import { PleaError } from "../error.ts";

export const CueErrorCode = {
  /** The input ended before the noun did (vere would read zeros past the end; we do not). */
  truncated: "cue_truncated",
  /** A length prefix with 64 or more leading zeros (vere's limit). */
  lengthPrefixTooLong: "cue_length_prefix_too_long",
  /** An atom longer than the input could hold or than ATOM_BYTES_MAX. */
  atomTooLong: "cue_atom_too_long",
  /** A backreference to an offset where no noun starts, or to a cell not finished yet. */
  backrefUnknown: "cue_backref_unknown",
  /** The root itself is a backreference: there is nothing to refer to. */
  backrefTopLevel: "cue_backref_top_level",
} as const;

export type CueErrorCodeValue = (typeof CueErrorCode)[keyof typeof CueErrorCode];

export class CueError extends PleaError {
  /** Bit offset in the input where the offending token starts. */
  readonly bit: number;

  constructor(code: CueErrorCodeValue, bit: number, message: string) {
    super(code, message);
    this.bit = bit;
  }
}
