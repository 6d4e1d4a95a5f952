/**
 * `bun run urth [command] [options]`: the operator's entry point (docs/urth.md). Parses the
 * command line, runs the command, prints a failure as one message and maps it to its exit status
 * (exit-code.ts), and flushes all output before it exits (output.ts).
 */
import pkg from "../../package.json" with { type: "json" };
import { ExitCode, parseCommandLine } from "./cli.ts";
import { commitCommand } from "./commands/commit.ts";
import { isEpipe } from "./commands/common.ts";
import { catCommand, logCommand, lsCommand, statusCommand } from "./commands/read.ts";
import { runCommand } from "./commands/run.ts";
import { stopCommand } from "./commands/stop.ts";
import { chopCommand, duCommand } from "./commands/retention.ts";
import { verifyCommand } from "./commands/verify.ts";
import { errorLines, exitCodeFor } from "./exit-code.ts";
import { flushOutput } from "./output.ts";

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
    case "verify":
      return verifyCommand(values);
    case "du":
      return duCommand(values);
    case "chop":
      return chopCommand(values);
  }
}

/** Set once urth is on its way out: the first exit status wins, and nothing more is printed. */
let exiting = false;

/** Prints the failure once (exit-code.ts) and returns its exit status. */
function report(e: unknown): number {
  for (const line of errorLines(e, process.env.PLEA_DEBUG === "1")) process.stderr.write(`${line}\n`);
  return exitCodeFor(e);
}

/** Flushes stdout and stderr (output.ts), then exits. */
async function finish(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  await flushOutput();
  process.exit(code);
}

/**
 * A failure outside the command's own promise chain (a stream's error event, a stray rejection):
 * one message, no stack trace. A reader of our stdout that went away (`urth cat BIG | head`) ends
 * urth quietly with status 0.
 */
function stray(e: unknown): void {
  if (exiting) return;
  void finish(isEpipe(e) ? ExitCode.ok : report(e));
}
process.on("unhandledRejection", stray);
process.on("uncaughtException", stray);

main(process.argv.slice(2)).then(finish, (e: unknown) => finish(report(e)));
