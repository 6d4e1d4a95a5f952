/**
 * urth's side of retention (docs/urth.md, "Disk use and retention"): `du` asks mars where the
 * pier's disk went (`/plea/du`: the log, the blobs live, retained and dead, the snapshots) and
 * adds the mount, which only urth knows; `chop` asks mars to drop what retention no longer keeps
 * (`[%chop keep]`, docs/event-log.md "Retention") and returns mars's report. Both go through
 * mars, the log's only writer: a running urth's read worker forwards them (read-server.ts).
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { goofToText } from "../ipc/goof.ts";
import { logPeekPath, PEEK_MARK } from "../ipc/peek-path.ts";
import { readCord } from "../ipc/shape.ts";
import { UrthErrorCode } from "./errors.ts";
import type { MarsProcess } from "./mars-process.ts";

/** What mars reports, as mars built it (docs/event-log.md, "Retention"): checked to be a JSON object, passed on whole. */
export type MarsReport = Record<string, unknown>;

export interface MountUse {
  files: number;
  bytes: number;
}

/** mars's `/plea/du` answer. */
export async function marsDu(mars: MarsProcess): Promise<MarsReport> {
  const r = await mars.peek({ kind: "path", path: logPeekPath({ kind: "du" }) });
  if (!r.ok) throw new PleaError(UrthErrorCode.peek.failed, `mars could not say where the disk went: ${goofToText(r.goof)}`);
  if (r.result === null || r.result.mark !== PEEK_MARK.du) throw new PleaError(UrthErrorCode.peek.shape, `mars answered /plea/du with ${r.result === null ? "~" : `a %${r.result.mark} cask`}; expected %${PEEK_MARK.du}`);
  return reportObject(readCord(r.result.noun, "/plea/du"), "/plea/du");
}

/** Asks mars to chop, keeping `keep` snapshots older than the newest; resolves with its report. */
export async function marsChop(mars: MarsProcess, keep: number): Promise<MarsReport> {
  const g = await mars.chop(keep);
  if (!g.ok) throw new PleaError(UrthErrorCode.retention.chopFailed, `mars did not chop the log: ${goofToText(g.goof)}`);
  return reportObject(g.report, "%chop");
}

function reportObject(text: string, what: string): MarsReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PleaError(UrthErrorCode.retention.report, `mars's ${what} report is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new PleaError(UrthErrorCode.retention.report, `mars's ${what} report is not a JSON object`);
  return value as MarsReport;
}

/**
 * The files of the mount and their bytes (st_size of regular files; symlinks and other special
 * files count as nothing: the mount commits regular files only, docs/mount.md). A walk on an
 * explicit stack; an unreadable directory is skipped, not fatal: du reports, it does not judge.
 */
export function mountUse(dir: string): MountUse {
  let files = 0;
  let bytes = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile()) {
        files++;
        bytes += st.size;
      }
    }
  }
  return { files, bytes };
}
