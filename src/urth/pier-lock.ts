/**
 * One pier, one writer: `run` and `commit` hold an exclusive flock(2) on `<pier>/.urb/lock` for
 * as long as they run. The kernel releases it when the holder exits, even by SIGKILL, so a crash
 * never leaves a pier locked. The file records the holder's pid for the refusal message, and its
 * role: a `writer` (run, commit) holds the pier for long; a `reader` (cat, ls, status with a
 * session of their own, or a probe of the lock) for a moment, so a writer waits for it.
 */
import { closeSync, openSync, readFileSync, ftruncateSync, writeSync } from "node:fs";
import { PleaError } from "../error.ts";
import { tryLockExclusive } from "../ffi/libc.ts";
import { UrthErrorCode } from "./errors.ts";

export type LockRole = "writer" | "reader";

export class PierLocked extends PleaError {
  readonly holderPid: number | undefined;
  constructor(message: string, holderPid: number | undefined) {
    super(UrthErrorCode.lock.held, message);
    this.holderPid = holderPid;
  }
}

export class PierLock {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
  ) {}

  /** Takes the lock or throws `PierLocked` naming the holder. */
  static acquire(path: string, pier: string, role: LockRole = "writer"): PierLock {
    const lock = PierLock.tryAcquire(path, role);
    if (lock) return lock;
    const pid = PierLock.holder(path);
    throw new PierLocked(
      `The pier "${pier}" is in use by another urth${pid ? ` (pid ${pid})` : ""}. Stop it first ("urth stop --pier ${pier}"), or use cat, ls, status or log alongside it`,
      pid,
    );
  }

  /** Takes the lock, or returns undefined if another process holds it. */
  static tryAcquire(path: string, role: LockRole = "reader"): PierLock | undefined {
    const fd = openSync(path, "a+", 0o600);
    let ok = false;
    try {
      ok = tryLockExclusive(fd, `Cannot lock the pier (${path})`);
      if (!ok) return undefined;
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid} ${role}\n`);
      return new PierLock(fd, path);
    } finally {
      if (!ok) closeSync(fd);
    }
  }

  /** The pid written by the current holder, if readable. */
  static holder(path: string): number | undefined {
    return PierLock.holderInfo(path).pid;
  }

  /** The pid and role written by the current holder (either may be unknown: not yet written). */
  static holderInfo(path: string): { pid: number | undefined; role: LockRole | undefined } {
    let text = "";
    try {
      text = readFileSync(path, "utf8").trim();
    } catch {
      // unreadable: unknown holder
    }
    const [pidText, roleText] = text.split(/\s+/);
    const pid = Number.parseInt(pidText ?? "", 10);
    return {
      pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined,
      role: roleText === "reader" || roleText === "writer" ? roleText : undefined,
    };
  }

  /** Releases the lock (closing the descriptor drops it). Idempotent. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
