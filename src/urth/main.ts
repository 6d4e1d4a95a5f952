/**
 * `bun run urth [command] [options]`: the operator's entry point (docs/urth.md). Parses the
 * command line, runs the command, and maps each kind of failure to its exit status (cli.ts).
 */
import pkg from "../../package.json" with { type: "json" };
import { PleaError } from "../error.ts";
import { ExitCode, parseCommandLine, UsageError } from "./cli.ts";
import { commitCommand } from "./commands/commit.ts";
import { isEpipe } from "./commands/common.ts";
import { catCommand, logCommand, lsCommand, statusCommand } from "./commands/read.ts";
import { runCommand } from "./commands/run.ts";
import { stopCommand } from "./commands/stop.ts";
import { MarsExited } from "./mars-exited.ts";
import { PierLocked } from "./pier-lock.ts";
import { PierError } from "./pier.ts";

async function main(argv: string[]): Promise<number> {
  if (process.platform !== "linux") {
    process.stderr.write(`urth runs on Linux only (shared memory through /dev/shm); this is ${process.platform}.\n`);
    return ExitCode.usage;
  }
  const parsed = parseCommandLine(argv);
  if ("version" in parsed) {
    process.stdout.write(`urth ${pkg.version} (Plea, Bun ${Bun.version})\n`);
    return ExitCode.ok;
  }
  if ("help" in parsed) {
    process.stdout.write(`${parsed.help}\n`);
    return ExitCode.ok;
  }
  const { command, values, positionals } = parsed;
  switch (command) {
    case "run":
      return runCommand(values);
    case "commit":
      return commitCommand(values);
    case "cat":
      return catCommand(values, positionals[0]);
    case "ls":
      return lsCommand(values, positionals[0]);
    case "status":
      return statusCommand(values);
    case "log":
      return logCommand(values);
    case "stop":
      return stopCommand(values);
  }
}

/**
 * mars's refusals to start (src/mars/exit-status.ts): another mars still holds the pier's log
 * (mars exits 3) or the log is damaged (7). Each is urth's status of the same meaning, and
 * mars's one line of stderr is the whole message.
 */
const MARS_REFUSALS: Readonly<Record<number, number>> = { 3: ExitCode.locked, 7: ExitCode.pier };

function marsRefusal(e: unknown): { code: number; reason: string } | undefined {
  if (!(e instanceof MarsExited) || e.exitCode === null || MARS_REFUSALS[e.exitCode] === undefined) return undefined;
  return { code: MARS_REFUSALS[e.exitCode], reason: e.stderrTail.at(-1) ?? e.message };
}

function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return ExitCode.usage;
  if (e instanceof PierLocked) return ExitCode.locked;
  if (e instanceof MarsExited) return marsRefusal(e)?.code ?? ExitCode.marsExited;
  if (e instanceof PierError) return ExitCode.pier;
  return ExitCode.failed;
}

// A reader of our stdout that went away (`urth cat BIG | head`) ends urth quietly.
process.on("unhandledRejection", (e) => {
  if (isEpipe(e)) process.exit(ExitCode.ok);
  process.stderr.write(`urth: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(ExitCode.failed);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = marsRefusal(e)?.reason ?? (e instanceof PleaError || e instanceof Error ? e.message : String(e));
    process.stderr.write(`urth: ${message}\n`);
    if (e instanceof UsageError) process.stderr.write(`${e.usage}\n`);
    if (!(e instanceof PleaError) && process.env.URTH_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    process.exit(exitCodeOf(e));
  },
);
