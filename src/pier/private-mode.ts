/**
 * A pier's private state is its owner's alone, whatever the umask (docs/urth.md, "Who can read a
 * pier"): `<pier>/.urb` and every directory under it are 0700, every file 0600. The log keeps the
 * bytes of every committed file, so a file committed from a 0600 original must not become readable
 * to other local users through the pier.
 *
 * A mode given to mkdir(2) or open(2) is masked by the umask, which can only take bits away: a file
 * created with PIER_FILE_MODE is 0600 or stricter under any umask, so file creators pass it and are
 * done. Directories are chmodded to exactly PIER_DIR_MODE after mkdir, because their owner needs
 * every bit of it (an umask of 0277 would leave a directory nobody can create files in), and
 * because that also repairs piers made before this rule (their `.urb` followed the umask: 0755, or
 * 0777 under umask 000). Once `.urb` is 0700 nothing under it is reachable by another user, so
 * older files inside need no chmod of their own.
 *
 * Shared by urth and mars: the pier's on-disk rules belong to neither.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";

/** Mode of `.urb` and of every directory under it: the owner only. */
export const PIER_DIR_MODE = 0o700;

/** Mode of every file Plea creates under `.urb`: the owner reads and writes, nobody else. */
export const PIER_FILE_MODE = 0o600;

/** Permission bits of a mode (the file type and set-id bits left out). */
const PERMISSION_BITS = 0o777;

/**
 * Creates `dir` (and missing parents) if needed and makes its mode exactly PIER_DIR_MODE. A
 * directory of an older pier with a looser mode is tightened here.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PIER_DIR_MODE });
  if ((statSync(dir).mode & PERMISSION_BITS) !== PIER_DIR_MODE) chmodSync(dir, PIER_DIR_MODE);
}
