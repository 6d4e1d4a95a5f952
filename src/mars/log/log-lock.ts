/**
 * One writer per log: the process that appends to a pier's log (mars) holds an exclusive flock(2)
 * on `<pier>/.urb/log/mars.lock` from before it opens LMDB until after it closed it
 * (docs/event-log.md, "One writer").
 *
 * urth's pier lock is not enough: it is urth's, and a mars outlives a SIGKILLed urth while it
 * finishes a blob or waits on a slow fsync. A second mars started on the same log meanwhile
 * would remove the first one's blob as an orphan and commit over its event. The kernel releases
 * a flock when its holder exits, however it exits, so a crash never leaves the log locked. The
 * file holds the holder's pid for the refusal message. Readers (`EventLog.open` read-only) take
 * no lock: LMDB lets them read beside the writer, and a shared lock would make a reader refuse a
 * writer's start.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tryLockExclusive } from "../../ffi/libc.ts";
import { LogError, LogErrorCode } from "./log-error.ts";

/** The lock file's name in the log directory. */
export const LOG_LOCK_FILE = "mars.lock";

/** Mode of the lock file: only the pier's owner. */
const LOG_LOCK_MODE = 0o600;

export class LogLock {
  private fd: number | undefined;
  readonly path: string;

  private constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  /** Takes the log directory's writer lock, or throws LogError (`log_locked`) naming the holder. */
  static acquire(logDir: string): LogLock {
    const path = join(logDir, LOG_LOCK_FILE);
    let fd: number;
    try {
      fd = openSync(path, "a+", LOG_LOCK_MODE);
    } catch (cause) {
      throw new LogError(LogErrorCode.write, `Cannot open the event log's lock "${path}": ${(cause as Error).message}`, { cause });
    }
    let held = false;
    try {
      held = tryLockExclusive(fd, `Cannot lock the event log (${path})`);
      if (!held) {
        const pid = LogLock.holder(path);
        const who = pid === undefined ? "Another mars" : `Another mars (pid ${pid})`;
        throw new LogError(
          LogErrorCode.locked,
          `${who} is still writing this pier's log "${logDir}": wait for it to exit${pid === undefined ? "" : ` or kill pid ${pid}`}, then start again`,
        );
      }
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`);
      return new LogLock(fd, path);
    } finally {
      if (!held) closeSync(fd);
    }
  }

  /** The pid the holder wrote, if readable (it writes it right after taking the lock). */
  static holder(path: string): number | undefined {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Releases the lock (closing the descriptor drops it). Idempotent. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
