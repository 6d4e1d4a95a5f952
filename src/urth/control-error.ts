/** The control socket's typed error (control.ts; docs/urth.md, "A second shell"). */
import { PleaError } from "../error.ts";

export const ControlErrorCode = {
  /** No urth answers on the socket, or it closed before its reply: no byte was delivered, retry. */
  unreachable: "control_unreachable",
  /** A request or a reply that breaks the protocol (too long, not UTF-8, not JSON, wrong types). */
  protocol: "control_protocol",
  /** The urth went away in the middle of a `cat`: some bytes were delivered, so never retry. */
  interrupted: "control_interrupted",
} as const;

export class ControlError extends PleaError {}
