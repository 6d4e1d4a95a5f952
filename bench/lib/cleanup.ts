/**
 * Everything a benchmark run leaves behind, removed at the end, on error, and on SIGINT/SIGTERM:
 * temporary piers, the input cache, the processes it started (by pid, never by name) and the
 * plea-* segments of its own namespaces (other piers' segments on a shared machine are never
 * touched).
 */
import { readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";

/**
 * Kills `pid` with SIGKILL if it still runs a command line containing `mark` (the pier path): a
 * pid reused by an unrelated process after ours exited is left alone. Returns whether it signalled.
 */
export function killIfOurs(pid: number, mark: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return false; // gone
  }
  if (!cmdline.includes(mark)) return false;
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

export class Cleanup {
  readonly #dirs = new Set<string>();
  readonly #namespaces = new Set<string>();
  /** pid -> a string its command line contains (the pier path), checked before killing it. */
  readonly #pids = new Map<number, string>();
  readonly #shmDir: string;
  #installed = false;

  constructor(shmDir = "/dev/shm") {
    this.#shmDir = shmDir;
  }

  addDir(dir: string): void {
    this.#dirs.add(dir);
  }

  /** Removes `dir` now (recursively) and forgets it. */
  removeDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
    this.#dirs.delete(dir);
  }

  addNamespace(namespace: string): void {
    this.#namespaces.add(namespace);
  }

  addPid(pid: number, mark: string): void {
    this.#pids.set(pid, mark);
  }

  forgetPid(pid: number): void {
    this.#pids.delete(pid);
  }

  /** Unlinks the plea-* objects of `namespaces` (default: all registered) and returns their names. */
  removeSegments(namespaces: Iterable<string> = this.#namespaces): string[] {
    const wanted = [...namespaces].map((ns) => `plea-${ns}-`);
    const removed: string[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.#shmDir);
    } catch {
      return removed;
    }
    for (const entry of entries) {
      if (!wanted.some((w) => entry.startsWith(w))) continue;
      try {
        unlinkSync(`${this.#shmDir}/${entry}`);
        removed.push(entry);
      } catch {
        // its owner removed it meanwhile
      }
    }
    return removed;
  }

  /** Kills the registered processes, removes segments and directories. Synchronous: safe in a signal handler. */
  runAll(): void {
    for (const [pid, mark] of this.#pids) killIfOurs(pid, mark);
    this.#pids.clear();
    this.removeSegments();
    for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    this.#dirs.clear();
  }

  /** On SIGINT or SIGTERM: clean up, say so, and exit 130 or 143. */
  installSignalHandlers(): void {
    if (this.#installed) return;
    this.#installed = true;
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      process.on(signal, () => {
        process.stderr.write(`\n${signal}: removing temporary piers, cached inputs and segments, then exiting.\n`);
        this.runAll();
        process.exit(code);
      });
    }
  }
}
