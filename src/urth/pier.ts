/**
 * A pier: the directory that holds one ship's mount and everything urth and mars keep about it
 * (docs/urth.md, "Pier layout").
 *
 *   <pier>/base/            the Unix mount: files here are committed to the %base desk
 *   <pier>/.urb/pier.json   Plea's pier format version (checked by urth and mars at %ripe)
 *   <pier>/.urb/lock        held (flock) by the one urth holding the pier ("<pid> <role>")
 *   <pier>/.urb/urth.sock   the running urth's control socket (cat, ls, status, stop)
 *   <pier>/.urb/mount.json  what urth last committed from the mount (size, mtime per file)
 *   <pier>/.urb/shm-namespace  the pier's segment namespace (src/pier/segment-namespace.ts)
 *   <pier>/.urb/log/        mars's event log (docs/event-log.md)
 *   <pier>/.urb/chk/        mars's snapshots
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PleaError } from "../error.ts";
import { makePrivateDir, PIER_FILE_MODE } from "../pier/private-mode.ts";
import { UrthErrorCode } from "./errors.ts";

/** Bumped when the on-disk layout of a pier changes incompatibly. */
export const PIER_FORMAT_VERSION = 1;

/** The desk the mount commits to. */
export const MOUNT_DESK = "base";

export interface PierPaths {
  root: string;
  mount: string;
  urb: string;
  formatFile: string;
  lockFile: string;
  socket: string;
  mountCache: string;
}

/** The pier directory: `--pier`, else `$URTH_PIER`, else `./pier`; always absolute. */
export function resolvePierDir(option: string | undefined, env = process.env): string {
  return resolve(option ?? env.URTH_PIER ?? "pier");
}

export function pierPaths(root: string): PierPaths {
  const urb = join(root, ".urb");
  return {
    root,
    mount: join(root, MOUNT_DESK),
    urb,
    formatFile: join(urb, "pier.json"),
    lockFile: join(urb, "lock"),
    socket: join(urb, "urth.sock"),
    mountCache: join(urb, "mount.json"),
  };
}

/** Whether `root` looks like a pier (it has `.urb/pier.json`). */
export function isPier(root: string): boolean {
  return existsSync(pierPaths(root).formatFile);
}

/**
 * Creates the pier's directories and format file if missing; checks the version if present.
 * `.urb` is made (or, in an older pier, tightened to) 0700: src/pier/private-mode.ts.
 */
export function ensurePier(root: string): PierPaths {
  const p = pierPaths(root);
  mkdirSync(p.mount, { recursive: true });
  makePrivateDir(p.urb);
  if (!existsSync(p.formatFile)) {
    const tmp = p.formatFile + ".tmp";
    writeFileSync(tmp, JSON.stringify({ format: PIER_FORMAT_VERSION, created: new Date().toISOString() }) + "\n", { mode: PIER_FILE_MODE });
    renameSync(tmp, p.formatFile);
  }
  checkPierVersion(root);
  return p;
}

/** Throws a pier error (`UrthErrorCode.pier`) if the pier is of another format version than this urth understands. */
export function checkPierVersion(root: string): void {
  const p = pierPaths(root);
  let format: unknown;
  try {
    format = JSON.parse(readFileSync(p.formatFile, "utf8")).format;
  } catch (cause) {
    if (!existsSync(p.formatFile)) {
      throw new PleaError(UrthErrorCode.pier.missing, `No pier at "${root}" (no .urb/pier.json). Run "urth commit --pier ${root}" or "urth run" to create one`);
    }
    throw new PleaError(UrthErrorCode.pier.notAPier, `"${p.formatFile}" is not valid JSON: ${(cause as Error).message}. Restore it or move the pier aside`, { cause });
  }
  if (format !== PIER_FORMAT_VERSION) {
    throw new PleaError(UrthErrorCode.pier.version, `The pier at "${root}" has format version ${String(format)}; this urth reads version ${PIER_FORMAT_VERSION}. Use the matching Plea release`);
  }
}
