/**
 * mars died, or stopped speaking the protocol. Every writ still pending is rejected with this
 * error, so no caller hangs; `exitCode`/`signal` and the tail of mars's stderr say why. The
 * message is urth's one line: mars's own lines are shown as they come (`mars: ...`), so the
 * message does not repeat them; `stderrTail` keeps them for a caller that did not show them.
 */
import { PleaError, type CodeOf } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";

export class MarsExited extends PleaError<CodeOf<typeof UrthErrorCode.mars>> {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: readonly string[];

  constructor(code: CodeOf<typeof UrthErrorCode.mars>, message: string, detail: { exitCode: number | null; signal: string | null; stderrTail: readonly string[]; cause?: unknown }) {
    super(code, message, { cause: detail.cause });
    this.exitCode = detail.exitCode;
    this.signal = detail.signal;
    this.stderrTail = detail.stderrTail;
  }
}
