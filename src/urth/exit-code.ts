/**
 * The one place that turns a failure into urth's exit status and into the message an operator
 * sees (cli.ts ExitCode; docs/urth.md, "Exit statuses"). One meaning per status: a script can
 * tell a locked pier (3) from a crashed mars (4) from a damaged pier (7).
 */
import { isPleaError, PleaError } from "../error.ts";
import { ExitCode, UsageError } from "./cli.ts";
import { PierErrorCode } from "../pier/errors.ts";
import { UrthErrorCode } from "./errors.ts";
import { MarsExited } from "./mars-exited.ts";
import { PierLocked } from "./pier-lock.ts";

/**
 * mars's own exit statuses that carry a meaning, as agreed between urth and mars: 3 when another
 * mars holds the log's lock, 7 when it refuses a damaged pier or log (it says why on stderr).
 * Any other status, or a signal, is a crash.
 */
export const MarsExitStatus = {
  logLocked: 3,
  refused: 7,
} as const;

/** urth's exit status for a mars that exited with `status` (null: killed by a signal). */
export function exitCodeForMars(status: number | null): number {
  if (status === MarsExitStatus.logLocked) return ExitCode.locked;
  if (status === MarsExitStatus.refused) return ExitCode.pier;
  return ExitCode.marsExited;
}

/** Whether mars refused the pier (7) or its log's lock (3), saying why in one line. */
export function isMarsRefusal(e: MarsExited): boolean {
  return e.signal === null && (e.exitCode === MarsExitStatus.refused || e.exitCode === MarsExitStatus.logLocked);
}

/** urth's exit status for a failure that ends a command. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || isPleaError(e, UrthErrorCode.shmKind.invalid)) return ExitCode.usage;
  if (e instanceof PierLocked) return ExitCode.locked;
  if (isPleaError(e, UrthErrorCode.pier) || isPleaError(e, PierErrorCode.namespaceInvalid)) return ExitCode.pier;
  if (e instanceof MarsExited) return exitCodeForMars(e.signal === null ? e.exitCode : null);
  return ExitCode.failed;
}

/**
 * The lines urth prints for a failure: one `urth: ...` message, the usage line after a usage
 * error, and a stack trace only with PLEA_DEBUG=1. When mars refuses the pier (status 7) or finds
 * its log locked (3), it writes exactly one line, the reason and what to do (src/mars/exit-status.ts),
 * and urth holds mars's lines back until it is ready (session.ts): that line is urth's message, so
 * the operator reads it once. Other crashes were already forwarded as `mars: ...` lines.
 */
export function errorLines(e: unknown, debug: boolean): string[] {
  const lines = [`urth: ${messageOf(e)}`];
  if (e instanceof UsageError) lines.push(e.usage);
  if (debug && e instanceof Error && e.stack) lines.push(e.stack);
  return lines;
}

function messageOf(e: unknown): string {
  if (e instanceof MarsExited && e.signal === null) {
    const reason = e.stderrTail.at(-1)?.replace(/^mars: /, "");
    if (e.exitCode === MarsExitStatus.refused) return reason ?? `mars refused the pier (status 7): it is damaged or of another version`;
    if (e.exitCode === MarsExitStatus.logLocked) return reason ?? `mars could not lock the pier's event log (status 3): another mars holds it. Stop the urth that started it, or wait for it to exit`;
  }
  if (e instanceof PleaError) return e.message;
  // The system's own errors (EACCES, ENOSPC, ...) name the call and the path: say them as they are.
  if (e instanceof Error && typeof (e as { syscall?: unknown }).syscall === "string") return e.message;
  // Not one of Plea's typed errors: a bug. Say so, and how to learn more.
  const message = e instanceof Error ? e.message : String(e);
  return `unexpected error: ${message} (set PLEA_DEBUG=1 to see where it happened)`;
}
