/**
 * A long-lived `urth run` on a pier, held by a benchmark: started, its stdout read line by line
 * with the moment each line arrived (a commit's acknowledgement), and stopped with `urth stop`'s
 * request on the control socket. urth and its mars are registered with the benchmark's cleanup;
 * a holder that does not stop in time is killed (by pid, after checking its command line names
 * the pier), its mars too.
 */
import { controlRequest } from "../../src/urth/control.ts";
import { type Cleanup, killIfOurs } from "./cleanup.ts";
import { childrenOf } from "./mars-memory.ts";
import { type RunLine, parseRunLine } from "./run-line.ts";
import { tail } from "./urth-run.ts";

/** How long `run` may take to start and commit the pier's first contents. */
const HOLDER_START_MS_MAX = 10 * 60 * 1000;
/** How long `run` may take to exit after the stop request (no commit is in flight then). */
const HOLDER_STOP_MS_MAX = 60 * 1000;

export interface TimedLine {
  line: string;
  /** performance.now() when the benchmark read it. */
  at: number;
  parsed: RunLine | undefined;
}

export class RunHolder {
  readonly lines: TimedLine[] = [];
  #stderr = "";
  #waiters: (() => void)[] = [];
  #exitCode: number | undefined;
  marsPid: number | undefined;

  private constructor(
    readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">,
    readonly pier: string,
    readonly socket: string,
    readonly command: string,
    readonly cleanup: Cleanup,
  ) {}

  /** Starts `run` and waits for its first commit line (the pier's first contents). */
  static async start(urthMain: string, pier: string, args: string[], cleanup: Cleanup): Promise<RunHolder> {
    const argv = [process.execPath, urthMain, "run", "--pier", pier, ...args];
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    cleanup.addPid(proc.pid, pier);
    const h = new RunHolder(proc, pier, `${pier}/.urb/urth.sock`, argv.slice(1).join(" "), cleanup);
    void h.#read();
    void h.#readStderr();
    void proc.exited.then((code) => {
      h.#exitCode = code;
      h.#wake();
    });
    await h.nextCommit(0, HOLDER_START_MS_MAX);
    h.marsPid = childrenOf(proc.pid).find(() => true);
    if (h.marsPid !== undefined) cleanup.addPid(h.marsPid, pier);
    return h;
  }

  get stderr(): string {
    return this.#stderr;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.proc.stdout) {
      const at = performance.now();
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.lines.push({ line, at, parsed: parseRunLine(line) });
      }
      this.#wake();
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc.stderr) {
      this.#stderr += decoder.decode(chunk, { stream: true });
      // Keep the end only: a run's stderr is its progress lines.
      if (this.#stderr.length > 64 * 1024) this.#stderr = this.#stderr.slice(-32 * 1024);
      this.#wake();
    }
  }

  /**
   * The first commit line at index `from` or later (a commit, or `nothing to commit`). Throws if
   * `run` reports a failed commit, exits, or says nothing for `timeoutMs`.
   */
  async nextCommit(from: number, timeoutMs: number): Promise<TimedLine & { index: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (this.lines[i].parsed !== undefined) return { ...this.lines[i], index: i };
      if (/^commit failed: /m.test(this.#stderr)) throw new Error(`\`${this.command}\` failed a commit.\n${tail(this.#stderr)}`);
      if (this.#exitCode !== undefined) throw new Error(`\`${this.command}\` exited with status ${this.#exitCode} before the commit's line.\n${tail(this.#stderr)}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`\`${this.command}\` printed no commit line within ${Math.round(timeoutMs / 1000)} s.\n${tail(this.#stderr)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Asks `run` to stop (the control socket's `stop`), waits for it; kills it and its mars if it does not exit. */
  async stop(): Promise<void> {
    if (this.#exitCode === undefined) {
      try {
        await controlRequest(this.socket, { op: "stop" });
      } catch {
        // gone already, or not answering: the wait below decides
      }
      // A timer, not Bun.sleep: a pending sleep would keep the benchmark alive after its last round.
      const timer = setTimeout(() => killIfOurs(this.proc.pid, this.pier), HOLDER_STOP_MS_MAX);
      await this.proc.exited;
      clearTimeout(timer);
    }
    await this.proc.exited;
    this.cleanup.forgetPid(this.proc.pid);
    if (this.marsPid !== undefined) {
      // urth waits for its mars; one that outlived it must not outlive the benchmark.
      killIfOurs(this.marsPid, this.pier);
      this.cleanup.forgetPid(this.marsPid);
    }
  }
}
