/**
 * `urth du` and `urth chop` (docs/urth.md, "Disk use and retention"). Both work beside a running
 * `run` (through its control socket, whose read worker forwards them to mars) or alone (a session
 * of their own starts mars, as the reads do).
 */
import { ExitCode, parseCount } from "../cli.ts";
import { formatBytes } from "../format.ts";
import { replyError, withPier } from "../pier-view.ts";
import { resolvePierDir } from "../pier.ts";
import { CHOP_KEEP_MAX } from "../../ipc/task.ts";

type Values = Record<string, string | boolean | undefined>;

/** Older snapshots `chop` keeps beside the newest when `--keep` is not given: one fallback, as Plea kept two before chop. */
export const CHOP_KEEP_DEFAULT = 1;

export async function duCommand(values: Values): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const du = await withPier(
    root,
    (s) => s.du(),
    { op: "du" },
    (reply) => {
      if (!reply.ok) throw replyError(reply);
      return reply.du as Record<string, unknown>;
    },
  );
  process.stdout.write(values.json ? JSON.stringify(du) + "\n" : reportLines(du).join("\n") + "\n");
  return ExitCode.ok;
}

export async function chopCommand(values: Values): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const keep = values.keep === undefined ? CHOP_KEEP_DEFAULT : parseCount("keep", values.keep as string, CHOP_KEEP_MAX);
  const done = await withPier(
    root,
    (s) => s.chop(keep),
    { op: "chop", keep },
    (reply) => {
      if (!reply.ok) throw replyError(reply);
      return { report: reply.report as Record<string, unknown>, du: reply.du as Record<string, unknown> };
    },
  );
  if (values.json) {
    process.stdout.write(JSON.stringify(done) + "\n");
  } else {
    process.stdout.write(["chop:", ...reportLines(done.report).map((l) => `  ${l}`), "disk use after:", ...reportLines(done.du).map((l) => `  ${l}`)].join("\n") + "\n");
  }
  return ExitCode.ok;
}

/**
 * A report (mars's JSON object) as lines for people: one line per figure, nested keys joined by
 * dots, byte counts (keys ending in "bytes"/"Bytes") also in binary units. Generic on purpose:
 * mars's report says what it did, and urth shows all of it rather than a chosen few.
 */
export function reportLines(report: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const stack: [string, unknown][] = Object.entries(report).reverse();
  while (stack.length > 0) {
    const [key, value] = stack.pop()!;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${key}.${k}`, v] as [string, unknown]);
      for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]);
      continue;
    }
    const text = typeof value === "number" && /bytes$/i.test(key) ? `${formatBytes(value)} (${value})` : Array.isArray(value) ? value.join(", ") : String(value);
    lines.push(`${key.padEnd(28)} ${text}`);
  }
  return lines;
}
