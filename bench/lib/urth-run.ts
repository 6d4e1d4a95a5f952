/**
 * One urth command as an operator runs it (`bun <urth main> <command> --pier <pier> ...`), timed
 * from spawn to exit, with mars's anonymous memory sampled meanwhile (mars-memory.ts). urth's own
 * processes are registered with the benchmark's cleanup, and a mars that outlives its urth is
 * killed (by pid, after checking its command line names the pier).
 */
import { type Cleanup, killIfOurs } from "./cleanup.ts";
import { type MarsMemory, MarsMemorySampler } from "./mars-memory.ts";

export interface UrthRun {
  /** The command line, without the runtime (for messages and the JSON). */
  command: string;
  code: number;
  /** From spawn to exit: urth's start-up, mars's start-up and replay, the command, shutdown. */
  wallMs: number;
  stdout: Uint8Array;
  stderr: string;
  mars: MarsMemory;
}

export interface UrthRunOptions {
  urthMain: string;
  pier: string;
  /** The command and its arguments, `--pier` excluded. */
  args: string[];
  cleanup: Cleanup;
  timeoutMs: number;
  /** Extra environment for urth (and so for mars). */
  env?: Record<string, string>;
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export async function runUrth(options: UrthRunOptions): Promise<UrthRun> {
  const { cleanup, pier } = options;
  const argv = [process.execPath, options.urthMain, ...options.args, "--pier", pier];
  const command = argv.slice(1).join(" ");
  const sampler = new MarsMemorySampler((pid) => cleanup.addPid(pid, pier));
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...options.env } });
  cleanup.addPid(proc.pid, pier);
  sampler.start(proc.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, options.timeoutMs);
  let stdout: Uint8Array, stderr: string, code: number, wallMs: number, mars: MarsMemory;
  try {
    const exited = proc.exited.then((c) => {
      wallMs = performance.now() - t0;
      return c;
    });
    [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text(), exited]);
  } finally {
    clearTimeout(timer);
    mars = await sampler.stop();
  }
  cleanup.forgetPid(proc.pid);
  if (mars.marsPid !== undefined) {
    // urth waits for its mars; if urth died (or was killed), mars must not outlive the benchmark.
    killIfOurs(mars.marsPid, pier);
    cleanup.forgetPid(mars.marsPid);
  }
  if (timedOut) throw new Error(`\`${command}\` did not finish within ${Math.round(options.timeoutMs / 60000)} minutes and was killed.\n${tail(stderr)}`);
  return { command, code, wallMs: wallMs!, stdout, stderr, mars };
}

/** runUrth, and an error naming the command and its stderr unless it exited 0. */
export async function runUrthOk(options: UrthRunOptions): Promise<UrthRun> {
  const run = await runUrth(options);
  if (run.code !== 0) throw new Error(`\`${run.command}\` exited with status ${run.code}.\n${tail(run.stderr) || "(nothing on stderr)"}`);
  return run;
}
