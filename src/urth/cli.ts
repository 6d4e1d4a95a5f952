/**
 * urth's command line: commands, options, help texts and exit codes (docs/urth.md).
 *
 * Parsing is node:util `parseArgs` in strict mode (unknown options and stray arguments are
 * usage errors), plus a check it does not make: an option given twice is refused rather than
 * silently taking the last value.
 */
import { parseArgs } from "node:util";
import { PleaError } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";
import { parseShmKindChoice, type ShmKindChoice } from "./shm-kind.ts";

/**
 * Distinct exit statuses, one meaning each, so scripts can tell them apart. `exitCodeFor`
 * (exit-code.ts) is the one place that maps a failure to its status; the help text (USAGE) and
 * docs/urth.md ("Exit statuses") say the same.
 */
export const ExitCode = {
  ok: 0,
  /** The command failed: a commit refused (bad input in the mount), a peek or a `cat` that failed. */
  failed: 1,
  /** Usage: unknown command or option, a missing, empty or malformed value. */
  usage: 2,
  /** The pier is locked: another urth holds it, or another mars holds its log (mars's status 3). */
  locked: 3,
  /** mars exited or crashed unexpectedly (any other status, or a signal); its own words were shown. */
  marsExited: 4,
  /** `cat`/`ls`: no such committed file. */
  notFound: 5,
  /** `stop`: no urth is running on the pier. */
  notRunning: 6,
  /** Not a pier, a pier of another format version, or a damaged pier (mars refused it: status 7). */
  pier: 7,
} as const;

export class UsageError extends PleaError {
  /** The usage line to print under the message: the command's own, or urth's. */
  readonly usage: string;
  constructor(message: string, usage = USAGE.split("\n")[0]) {
    super(UrthErrorCode.usage, message);
    this.usage = usage;
  }
}

export const COMMANDS = ["run", "commit", "cat", "ls", "status", "log", "stop", "verify", "du", "chop"] as const;
export type Command = (typeof COMMANDS)[number];

interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
}

const COMMON: Record<string, OptionSpec> = {
  pier: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const OPTIONS: Record<Command, Record<string, OptionSpec>> = {
  run: { ...COMMON, debounce: { type: "string" }, "plea-threshold": { type: "string" }, "stage-threshold": { type: "string" }, "shm-kind": { type: "string" } },
  commit: { ...COMMON, "plea-threshold": { type: "string" }, "stage-threshold": { type: "string" }, "shm-kind": { type: "string" }, json: { type: "boolean" } },
  cat: { ...COMMON, at: { type: "string" } },
  ls: { ...COMMON, json: { type: "boolean" }, at: { type: "string" } },
  status: { ...COMMON, json: { type: "boolean" } },
  log: { ...COMMON, json: { type: "boolean" }, limit: { type: "string" } },
  stop: { ...COMMON },
  verify: { ...COMMON, json: { type: "boolean" } },
  du: { ...COMMON, json: { type: "boolean" } },
  chop: { ...COMMON, json: { type: "boolean" }, keep: { type: "string" } },
};

/** How many positional arguments each command takes: [min, max]. */
const POSITIONALS: Record<Command, [number, number]> = {
  run: [0, 0],
  commit: [0, 0],
  cat: [1, 1],
  ls: [0, 1],
  status: [0, 0],
  log: [0, 0],
  stop: [0, 0],
  verify: [0, 0],
  du: [0, 0],
  chop: [0, 0],
};

export const USAGE = `usage: urth [command] [options]

Commands:
  run                 create the pier if missing, start mars, commit the mount on change (default)
  commit              commit what changed in the mount once, wait until durable, exit
  cat PATH            print a committed file (PATH relative to the mount, or /clay/path/ext)
  ls [PATH]           list committed files under PATH with their sizes
  status              event number, state mug, files, bytes, last commit, segments
  log                 list events: number, time, kind, size, path taken
  stop                ask the running urth to finish its commit and exit
  verify              reread every blob of the pier's blob store: hash, length and checksums
  du                  where the pier's disk went: log, blobs (live, retained, dead), snapshots, mount
  chop                drop events, snapshots and blobs that no kept snapshot or event names

Options:
  --pier DIR          the pier (default $URTH_PIER, else ./pier)
  --plea-threshold N  events of N bytes or more go through shared memory (run, commit;
                      default 1 MiB; suffixes K, M, G, T allowed)
  --stage-threshold N files of N bytes or more are copied into the blob store by the kernel
                      and sent as references (run, commit; default and minimum: the blob
                      threshold, 1 MiB; 1T sends every file's bytes)
  --shm-kind KIND     the shared memory plea uses: memfd, named (a /dev/shm segment) or auto
                      (memfd where urth can open mars's, else named; the default)  (run, commit)
  --debounce MS       quiet period before a commit (run; default 1000)
  --at EVE            as the files were after event EVE, one the log still holds (cat, ls)
  --json              machine-readable output (commit, ls, status, log, verify, du, chop)
  --keep N            older snapshots chop keeps beside the newest, with their events (default 1)
  --limit N           at most N events, newest last (log)
  --help, -h          help for a command
  --version           print urth's version

Exit status: 0 ok, 1 failed, 2 usage, 3 pier or its log locked by another urth or mars,
4 mars exited or crashed, 5 not found, 6 no urth running, 7 not a pier, another version, or damaged.`;

export const HELP: Record<Command, string> = {
  run: "usage: urth run [--pier DIR] [--debounce MS] [--plea-threshold BYTES] [--stage-threshold BYTES] [--shm-kind KIND]\n\nCreates the pier if missing, starts mars, replays the log, then watches <pier>/base/ and\ncommits each change after a quiet period. Ctrl-C, SIGTERM or SIGHUP (or `urth stop`) finishes\nthe commit in flight and exits. --shm-kind memfd|named|auto chooses the shared memory large events\ntake (default auto: a memfd where urth can open mars's, else a named segment in /dev/shm).",
  commit: "usage: urth commit [--pier DIR] [--plea-threshold BYTES] [--stage-threshold BYTES] [--shm-kind KIND] [--json]\n\nCreates the pier if missing, scans <pier>/base/, commits what changed, waits until the event\nis durable, prints a summary and exits. --json prints one line with the phases' timings.\n--shm-kind memfd|named|auto chooses the shared memory large events take (default auto).",
  cat: "usage: urth cat PATH [--pier DIR] [--at EVE]\n\nWrites a committed file's bytes to stdout exactly as committed. PATH is relative to the mount\n(lib/foo.js) or a Clay path (/lib/foo/js). --at EVE writes the file as it was after event EVE\n(`urth log` lists them); the log must still hold EVE.",
  ls: "usage: urth ls [PATH] [--pier DIR] [--json] [--at EVE]\n\nLists committed files under PATH (mount-relative) with their sizes. --at EVE lists them as they\nwere after event EVE; the log must still hold EVE.",
  status: "usage: urth status [--pier DIR] [--json]\n\nEvent number, state mug, files, bytes, last commit, and plea segments in flight or left over.",
  log: "usage: urth log [--pier DIR] [--json] [--limit N]\n\nLists events: number, time, kind, size, and the path taken (pipe or plea).",
  stop: "usage: urth stop [--pier DIR]\n\nAsks the urth running on the pier to finish its commit in flight and exit.",
  verify:
    "usage: urth verify [--pier DIR] [--json]\n\nRereads every blob in <pier>/.urb/bob/: its SHA-256 must be its name, its size, footer and every\n4 MiB piece's checksum must hold. Prints one line per damaged blob and a summary; exits 7 if any\nblob is damaged. Works beside a running urth (blobs are never rewritten in place).",
  du: "usage: urth du [--pier DIR] [--json]\n\nWhere the pier's disk went: the event log, blobs named by the current state (live), named only\nby kept events or snapshots (retained) or by nothing chop keeps (dead), snapshots, other files\nof .urb, and the mount. Works beside a running urth.",
  chop: "usage: urth chop [--pier DIR] [--keep N] [--json]\n\nKeeps the newest snapshot (taking one first if the log is past it) and the events after it,\nplus N older snapshots and the events between them (default 1, a fallback should the newest be\ndamaged); removes older events, and every snapshot and blob nothing kept names, then compacts\nthe log. Works beside a running urth; safe to interrupt (the next start finishes it).",
};

export interface Parsed {
  command: Command;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export type ParseOutcome = Parsed | { version: true } | { help: string };

/**
 * Parses argv (without the runtime and script). Throws `UsageError` with a one-line reason. `env`
 * is read only for URTH_PIER, which must not be empty (an empty pier path would be the current
 * directory).
 */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined> = process.env): ParseOutcome {
  if (argv.length === 1 && argv[0] === "--version") return { version: true };
  let command: Command = "run";
  let rest = argv;
  const explicit = argv.length > 0 && !argv[0].startsWith("-");
  if (explicit) {
    if (!(COMMANDS as readonly string[]).includes(argv[0])) throw new UsageError(`Unknown command "${argv[0]}"; commands: ${COMMANDS.join(", ")}`);
    command = argv[0] as Command;
    rest = argv.slice(1);
  }
  const usage = explicit ? HELP[command].split("\n")[0] : USAGE.split("\n")[0];
  // `--at -3` is not a missing value but a bad one: say so (parseArgs would call it ambiguous).
  const at = rest.indexOf("--at");
  if (at >= 0 && "at" in OPTIONS[command] && /^-[0-9]/.test(rest[at + 1] ?? "")) parseEventOption("at", rest[at + 1], usage);
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: { ...OPTIONS[command], version: { type: "boolean" } }, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e, command), usage);
  }
  const values = parsed.values as Parsed["values"];
  if (values.at !== undefined) values.at = String(parseEventOption("at", values.at as string, usage));
  if (values.help) return { help: explicit ? HELP[command] : USAGE };
  if (values.version) return { version: true };
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    if (seen.has(t.name)) throw new UsageError(`The option --${t.name} is given twice; give it once`, usage);
    seen.add(t.name);
    // `--pier=` or `--pier ""`: an empty path resolves to the current directory, never what was meant.
    if ((t.value as string | undefined) === "") throw new UsageError(`The option --${t.name} needs a value; got an empty one`, usage);
  }
  if (values.pier === undefined && env.URTH_PIER === "") throw new UsageError("URTH_PIER is set but empty; name the pier or unset it", usage);
  if (parsed.positionals.some((p) => p === "")) throw new UsageError(`urth ${command} got an empty argument; name a path`, usage);
  const [min, max] = POSITIONALS[command];
  if (parsed.positionals.length < min) throw new UsageError(`urth ${command} needs ${min === 1 ? "an argument" : `${min} arguments`}`, usage);
  if (parsed.positionals.length > max) throw new UsageError(`Unexpected argument "${parsed.positionals[max]}" for urth ${command}`, usage);
  return { command, values, positionals: parsed.positionals };
}

/** parseArgs's complaint in urth's voice (its own messages run long and quote oddly). */
function parseArgsMessage(e: unknown, command: Command): string {
  const err = e as { code?: string; message: string };
  const option = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `Unknown option ${option} for urth ${command}; urth ${command} --help lists its options`;
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return `The option ${option} needs a value`;
  return `${err.message.split("\n")[0]} (urth ${command} --help lists the options)`;
}

/** Parses a byte count: digits with an optional K, M, G or T suffix (powers of 1024). */
export function parseBytes(option: string, text: string): number {
  const m = /^(\d+)([KMGT]i?B?)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--${option} takes a byte count like 268435456 or 256M; got "${text}"`);
  const unit = (m[2] ?? "").toUpperCase()[0];
  const scale = unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : unit === "T" ? 1024 ** 4 : 1;
  const n = Number(m[1]) * scale;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${option} is too large: "${text}"`);
  return n;
}

/** Parses `--shm-kind`: memfd, named or auto; undefined when not given. */
export function parseShmKindOption(text: string | boolean | undefined): ShmKindChoice | undefined {
  if (text === undefined) return undefined;
  try {
    return parseShmKindChoice(String(text), "--shm-kind");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Parses an event number option (`--at EVE`): a whole number from 1 to 2^53-1, as the log numbers
 * events. Throws `UsageError` saying which of those it is not.
 */
export function parseEventOption(option: string, text: string, usage?: string): number {
  const t = text.trim();
  const fail = (why: string) => new UsageError(`--${option} takes an event number from 1 (urth log lists them); got "${text}"${why}`, usage);
  if (/^-[0-9]+$/.test(t)) throw fail(", which is negative");
  if (!/^[0-9]+$/.test(t)) throw fail("");
  const n = Number(t);
  if (n === 0) throw fail(": events are numbered from 1");
  if (!Number.isSafeInteger(n)) throw fail(", which is larger than any event number");
  return n;
}

/** Parses a non-negative whole number option, at most `max`. */
export function parseCount(option: string, text: string, max = Number.MAX_SAFE_INTEGER, why = ""): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${option} takes a whole number; got "${text}"`);
  const n = Number(text);
  if (n > max) throw new UsageError(`--${option} is at most ${max}${why ? ` (${why})` : ""}; got "${text}"`);
  return n;
}
