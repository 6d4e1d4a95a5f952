/**
 * A message noun from the other process that is not a message of protocol 2 (or of plea):
 * the receiver reports it with this error, never with an uncaught TypeError. As in vere
 * (mars.c:920-929), mars answers a task it cannot parse by saying so on stderr and exiting 1;
 * urth treats a gift it cannot parse as mars failing.
 */
import { PleaError } from "../error.ts";

export const ProtocolErrorCode = {
  /** The head is not a tag this direction knows (`%poke`, `%peek`, ...). */
  unknownTag: "protocol_unknown_tag",
  /** The noun has the wrong shape: an atom where a cell belongs, a list without `~`, ... */
  badShape: "protocol_bad_shape",
  /** An atom is too large for its field (a `mil` above 2^32-1, an `eve` above 2^53-1, ...). */
  outOfRange: "protocol_out_of_range",
  /** `%ripe` announced a protocol other than 2. */
  unsupportedProtocol: "protocol_unsupported",
} as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends PleaError {
  declare readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
