/**
 * Errors of newt framing: bytes on a pipe that are not a well-formed frame stream, or a body
 * that cannot be framed. "Need more bytes" is never one of these: a decoder that is waiting for
 * the rest of a frame simply returns nothing yet (newt.ts).
 */
import { PleaError } from "../error.ts";

export const NewtErrorCode = {
  /** Byte 0 of a header was not 0x00 (vere newt.c:129 rejects it too). */
  badVersion: "newt_bad_version",
  /** A header announced a body of 0 bytes (vere newt.c:129: a protocol error). */
  zeroLength: "newt_zero_length",
  /** A header announced a body longer than the decoder's configured limit. */
  bodyTooLarge: "newt_body_too_large",
  /** The stream ended inside a frame (header or body incomplete). */
  truncated: "newt_truncated",
  /** A body to send is empty or longer than a u32 length can say (vere would truncate it). */
  unframeable: "newt_unframeable",
  /** A streamed body did not have the length its header announced (the pipe is now unusable). */
  lengthMismatch: "newt_length_mismatch",
} as const;

export type NewtErrorCode = (typeof NewtErrorCode)[keyof typeof NewtErrorCode];

export class NewtError extends PleaError {
  declare readonly code: NewtErrorCode;
  constructor(code: NewtErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
