/** The read-only commands: `cat`, `ls`, `status`, `log` (they work beside a running `run`). */
import { isPleaError, PleaError } from "../../error.ts";
import { ExitCode, parseCount, parseEventOption } from "../cli.ts";
import { clayPathArg } from "../clay-path.ts";
import { formatBytes } from "../format.ts";
import { readLog } from "../log-view.ts";
import { replyError, sessionCat, sessionLs, withPier, type LsEntry } from "../pier-view.ts";
import { checkPierVersion, resolvePierDir } from "../pier.ts";
import { UrthErrorCode } from "../errors.ts";
import { stdoutWriter } from "./common.ts";

type Values = Record<string, string | boolean | undefined>;

/**
 * `cat` either writes the whole file, byte-exact, of the version it started on and exits 0, or
 * exits non-zero with the reason on stderr (a commit changed the file, the running urth or mars
 * went away): stdout then holds a prefix of that version, never anything else.
 */
export async function catCommand(values: Values, arg: string): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const at = atOption(values);
  const write = stdoutWriter();
  let size: number | undefined;
  let written = 0;
  const out = (chunk: Uint8Array) => {
    written += chunk.length;
    return write(chunk);
  };
  let found: boolean;
  try {
    found = await withPier(
      root,
      (s) => sessionCat(s, clayPathArg(arg), out, (n) => void (size = n), arg, at),
      at === undefined ? { op: "cat", path: arg } : { op: "cat", path: arg, at },
      (reply) => {
        if (!reply.ok && reply.code !== UrthErrorCode.control.notFound) throw replyError(reply);
        if (reply.ok) size = reply.size as number;
        return reply.ok;
      },
      out,
    );
  } catch (e) {
    // `urth cat BIG | head`: the reader has what it wanted. withPier has let go of the pier.
    if (isPleaError(e, UrthErrorCode.output.closed)) return ExitCode.ok;
    throw e;
  }
  if (!found) {
    process.stderr.write(`urth: no committed file at ${arg}${at === undefined ? "" : ` after event ${at}`}\n`);
    return ExitCode.notFound;
  }
  if (written !== size) throw new PleaError(UrthErrorCode.output.catShort, `cat wrote ${written} of the ${size} bytes of ${arg}; the output is incomplete. Run cat again`);
  return ExitCode.ok;
}

export async function lsCommand(values: Values, arg: string | undefined): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const at = atOption(values);
  const files = await withPier<LsEntry[]>(
    root,
    (s) => sessionLs(s, arg, at),
    at === undefined ? { op: "ls", prefix: arg ?? "" } : { op: "ls", prefix: arg ?? "", at },
    (reply) => {
      if (!reply.ok) throw replyError(reply);
      return reply.files as LsEntry[];
    },
  );
  if (values.json) {
    process.stdout.write(JSON.stringify(files) + "\n");
  } else {
    for (const f of files) process.stdout.write(`${String(f.size).padStart(12)}  ${f.path}\n`);
  }
  if (arg !== undefined && files.length === 0) {
    process.stderr.write(`urth: no committed files under ${arg}${at === undefined ? "" : ` after event ${at}`}\n`);
    return ExitCode.notFound;
  }
  return ExitCode.ok;
}

/** `--at EVE`, checked by parseCommandLine (cli.ts), or undefined. */
function atOption(values: Values): number | undefined {
  return values.at === undefined ? undefined : parseEventOption("at", values.at as string);
}

export async function statusCommand(values: Values): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const status = await withPier(
    root,
    async (s) => ({ ...(await s.status({ du: values.json === true })), running: false }),
    { op: "status" },
    (reply) => {
      if (!reply.ok) throw replyError(reply);
      return { ...(reply.status as Record<string, unknown>), running: true };
    },
  );
  if (values.json) {
    process.stdout.write(JSON.stringify(status) + "\n");
    return ExitCode.ok;
  }
  const st = status as { pier: string; eve: number; mug: number; files: number; bytes: number; running: boolean; lastCommit: { at: string; summary: { path: string } } | null; shm?: { kind: string; choice: string; reason: string }; segments: { name: string; bytes: number; creator: string }[] };
  const lines = [
    `pier        ${st.pier}${st.running ? " (urth running)" : ""}`,
    `event       ${st.eve}`,
    `mug         0x${st.mug.toString(16)}`,
    `files       ${st.files}`,
    `bytes       ${formatBytes(st.bytes)} (${st.bytes})`,
    `last commit ${st.lastCommit ? `${st.lastCommit.at} via ${st.lastCommit.summary.path}` : "none this session"}`,
    `shm kind    ${st.shm ? `${st.shm.kind} (${st.shm.choice === "auto" ? "auto: " : ""}${st.shm.reason})` : "unknown"}`,
    `segments    ${st.segments.length === 0 ? "none" : st.segments.map((g) => `${g.name} ${formatBytes(g.bytes)} (${g.creator})`).join(", ")}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return ExitCode.ok;
}

export async function logCommand(values: Values): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const limitOption = values.limit === undefined ? undefined : parseCount("limit", values.limit as string);
  const infos = await readLog(root, limitOption);
  if (values.json) {
    process.stdout.write(JSON.stringify(infos) + "\n");
  } else {
    for (const i of infos) {
      process.stdout.write(`${String(i.eve).padStart(6)}  ${new Date(i.timeMs).toISOString()}  ${i.kind.padEnd(8)} ${formatBytes(i.jamBytes).padStart(10)}  ${i.path}\n`);
    }
  }
  return ExitCode.ok;
}
