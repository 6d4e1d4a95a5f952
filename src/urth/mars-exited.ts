/**
 * mars died, or stopped speaking the protocol. Every writ still pending is rejected with this
 * error, so no caller hangs; `exitCode`/`signal` and the tail of mars's stderr say why. The
 * message is urth's one line: mars's own lines are shown as they come (`mars: ...`), so the
 * message does not repeat them; `stderrTail` keeps them for a caller that did not show them.
 */
import { PleaError } from "../error.ts";

export const MarsExitedCode = {
  exited: "mars_exited",
  protocol: "mars_protocol",
  start: "mars_start",
} as const;

export class MarsExited extends PleaError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: readonly string[];

  constructor(code: string, message: string, detail: { exitCode: number | null; signal: string | null; stderrTail: readonly string[]; cause?: unknown }) {
    super(code, message, { cause: detail.cause });
    this.exitCode = detail.exitCode;
    this.signal = detail.signal;
    this.stderrTail = detail.stderrTail;
  }
}
