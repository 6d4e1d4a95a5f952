/**
 * The ipc part's error codes: newt framing, the messages of protocol 2 and plea, the pipes that
 * carry them, and the `%into` event and peek paths both processes parse. None carries data beyond
 * its code and message, so all are plain `PleaError`s; a caller catches a group
 * (`isPleaError(e, IpcErrorCode.pipe)`) or one code.
 */
import type { CodeOf } from "../error.ts";

export const IpcErrorCode = {
  /**
   * Bytes on a pipe that are not a well-formed frame stream, or a body that cannot be framed.
   * "Need more bytes" is never one of these: a decoder waiting for the rest of a frame simply
   * returns nothing yet (newt.ts).
   */
  newt: {
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
  },
  /**
   * A message noun from the other process that is not a message of protocol 2 (or of plea): the
   * receiver reports it with one of these, never with an uncaught TypeError. As in vere
   * (mars.c:920-929), mars answers a task it cannot parse by saying so on stderr and exiting 1;
   * urth treats a gift it cannot parse as mars failing.
   */
  protocol: {
    /** The head is not a tag this direction knows (`%poke`, `%peek`, ...). */
    unknownTag: "protocol_unknown_tag",
    /** The noun has the wrong shape: an atom where a cell belongs, a list without `~`, ... */
    badShape: "protocol_bad_shape",
    /** An atom is too large for its field (a `mil` above 2^32-1, an `eve` above 2^53-1, ...). */
    outOfRange: "protocol_out_of_range",
    /** `%ripe` announced a protocol other than 2. */
    unsupportedProtocol: "protocol_unsupported",
  },
  /**
   * A pipe that can no longer carry frames. Every write and flush promise of a FrameWriter is
   * caught and turned into one of these, because one unhandled EPIPE rejection exits a Bun process
   * (docs/platform.md).
   */
  pipe: {
    /** A write or flush failed: the reading end is gone (EPIPE, the child died). */
    peerClosed: "pipe_peer_closed",
    /** Reading the pipe failed (the stream errored rather than ending). */
    readFailed: "pipe_read_failed",
    /** `close()` was called on this side before the send. */
    closed: "pipe_closed",
    /** An earlier send stopped inside a frame, so no further frame can be delimited. */
    broken: "pipe_broken",
  },
  /** An event or a peek path the kernel cannot take. */
  event: {
    /** An `%into` or a file-store peek path that is not well formed: the kernel answers with a goof. */
    malformed: "event_malformed",
  },
} as const;

export type IpcErrorCode = CodeOf<typeof IpcErrorCode>;
