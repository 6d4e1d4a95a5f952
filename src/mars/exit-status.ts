/**
 * mars's own exit statuses, which urth maps to its own (docs/urth.md, "Exit statuses"):
 *
 *   0  clean exit (`%exit`, or EOF on stdin)
 *   1  a task it cannot parse (as vere), a write that failed, anything unforeseen
 *   2  usage (mars is started by urth)
 *   3  another mars holds the log's writer lock (src/mars/log/log-lock.ts)
 *   7  the log or the pier is damaged, or of another version: mars refused to start on it
 *
 * For 3 and 7 mars writes exactly one line to stderr, the reason and what to do, and urth shows
 * that line as its own.
 */
import { LogError, LogErrorCode } from "./log/log-error.ts";

export const MarsExitStatus = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
  refused: 7,
} as const;

/** LogError codes that mean the log cannot be trusted as it is (mars exits 7). */
const REFUSED_CODES: ReadonlySet<string> = new Set([
  LogErrorCode.format,
  LogErrorCode.gap,
  LogErrorCode.record,
  LogErrorCode.blobMissing,
  LogErrorCode.blobLength,
  LogErrorCode.blobChecksum,
  LogErrorCode.mug,
  LogErrorCode.damaged,
  LogErrorCode.missing,
  LogErrorCode.rollback,
]);

/** The status mars exits with after `e` stopped it. */
export function exitStatusOf(e: unknown): number {
  if (!(e instanceof LogError)) return MarsExitStatus.failed;
  if (e.code === LogErrorCode.locked) return MarsExitStatus.locked;
  return REFUSED_CODES.has(e.code) ? MarsExitStatus.refused : MarsExitStatus.failed;
}
