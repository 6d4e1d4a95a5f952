/** The read-only commands: `cat`, `ls`, `status`, `log` (they work beside a running `run`). */
import { ExitCode, parseCount } from "../cli.ts";
import { clayPathArg } from "../clay-path.ts";
import { formatBytes } from "../format.ts";
import { readLog } from "../log-view.ts";
import { sessionCat, sessionLs, withPier, type LsEntry } from "../pier-view.ts";
import { resolvePierDir } from "../pier.ts";
import { OutputClosed, stdoutWriter } from "./common.ts";

type Values = Record<string, string | boolean | undefined>;

export async function catCommand(values: Values, arg: string): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const write = stdoutWriter();
  let found: boolean;
  try {
    found = await withPier(
      root,
      (s) => sessionCat(s, clayPathArg(arg), write),
      { op: "cat", path: arg },
      (reply) => {
        if (!reply.ok && reply.code !== "not_found") throw new Error(reply.message ?? "the running urth failed");
        return reply.ok;
      },
      (chunk) => write(chunk),
    );
  } catch (e) {
    // `urth cat BIG | head`: the reader has what it wanted. withPier has let go of the pier.
    if (e instanceof OutputClosed) return ExitCode.ok;
    throw e;
  }
  if (!found) {
    process.stderr.write(`urth: no committed file at ${arg}\n`);
    return ExitCode.notFound;
  }
  return ExitCode.ok;
}

export async function lsCommand(values: Values, arg: string | undefined): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const files = await withPier<LsEntry[]>(
    root,
    (s) => sessionLs(s, arg),
    { op: "ls", prefix: arg ?? "" },
    (reply) => {
      if (!reply.ok) throw new Error(reply.message ?? "the running urth failed");
      return reply.files as LsEntry[];
    },
  );
  if (values.json) {
    process.stdout.write(JSON.stringify(files) + "\n");
  } else {
    for (const f of files) process.stdout.write(`${String(f.size).padStart(12)}  ${f.path}\n`);
  }
  if (arg !== undefined && files.length === 0) {
    process.stderr.write(`urth: no committed files under ${arg}\n`);
    return ExitCode.notFound;
  }
  return ExitCode.ok;
}

export async function statusCommand(values: Values): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const status = await withPier(
    root,
    async (s) => ({ ...(await s.status()), running: false }),
    { op: "status" },
    (reply) => {
      if (!reply.ok) throw new Error(reply.message ?? "the running urth failed");
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
