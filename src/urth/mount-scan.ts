/**
 * Scans the Unix mount (`<pier>/base/`) into the list of files a commit may carry, with the
 * Clay path of each (docs/mount.md).
 *
 * Path mapping is vere's (`_unix_string_to_path` in pkg/vere/io/unix.c): the path relative to the
 * mount, split on `/`, its last component split at the last `.` (`app/foo.hoon` -> `/app/foo/hoon`),
 * and one leading `!` (vere's escape) dropped from each element. Where vere would silently skip a
 * file (no `.` in its name, or a name that is not a valid `@ta` once its `!` is dropped), Plea keeps
 * the whole name, as it is, as the last path element so that every regular file round-trips
 * (`LICENSE` -> `/LICENSE`, `README.md` -> `/README.md`); dot-files, names ending in `~`, symlinks,
 * special files and names that are not UTF-8 are skipped and reported.
 *
 * The walk is iterative (a deep tree must not overflow the stack) and reads no file contents.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { ATOM_BYTES_MAX } from "../noun/index.ts";
import { UrthErrorCode } from "./errors.ts";

export interface MountFile {
  /** Path relative to the mount, with `/` separators (`lib/foo.js`). */
  rel: string;
  /** Clay path elements (`["lib", "foo", "js"]`). */
  path: string[];
  /** `clayKey(path)`, made once by the scan: the plan and the commit look files up by it. */
  key: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface Skipped {
  rel: string;
  reason: "dot-file" | "backup-file" | "symlink" | "special-file" | "not-utf-8";
}

export interface MountScan {
  files: MountFile[];
  skipped: Skipped[];
}

/** `(sane %ta)`: `(star ;~(pose nud low hep dot sig cab))`, the characters a knot may hold. */
const SANE_TA = /^[0-9a-z\-.~_]*$/;

/** vere's `_unix_string_to_knot`: a leading `!` escapes a name; drop it (unless nothing is left). */
export function knotOf(name: string): string {
  return name.length > 1 && name.startsWith("!") ? name.slice(1) : name;
}

/**
 * The Clay path of a mount-relative Unix path (`a/b.c` -> `["a", "b", "c"]`). A last component
 * that vere would not commit (no dot, nothing on one side of its last dot, or not `(sane %ta)`)
 * stays whole: `LICENSE` -> `["LICENSE"]`, `lib/README.md` -> `["lib", "README.md"]`.
 */
export function clayPathOf(rel: string): string[] {
  const parts = rel.split("/").filter((p) => p.length > 0);
  const last = parts.pop() ?? "";
  const dirs = parts.map(knotOf);
  const name = knotOf(last);
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1 || !SANE_TA.test(name)) return [...dirs, last];
  return [...dirs, name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The mount-relative Unix path a Clay path most plausibly came from (`/a/b/c` -> `a/b.c`,
 * `/lib/LICENSE` -> `lib/LICENSE`): the last two elements joined by a dot if that maps back to the
 * same Clay path, else the elements joined by `/`. Used only where the mount cache does not know
 * the file's Unix path.
 */
export function relOfClayPath(path: readonly string[]): string {
  if (path.length >= 2) {
    const dotted = [...path.slice(0, -2), `${path[path.length - 2]}.${path[path.length - 1]}`].join("/");
    if (clayKey(clayPathOf(dotted)) === clayKey(path)) return dotted;
  }
  return path.join("/");
}

/**
 * A name's bytes for a person: UTF-8 where it is valid, every other byte and every control
 * character as `\xNN`, a backslash as `\\` (so the escapes are unambiguous).
 * `bad-<e9>.txt` -> `bad-\xe9.txt`.
 */
export function escapeName(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let char: string | undefined;
    if (length > 0 && i + length <= bytes.length) {
      try {
        char = strictUtf8.decode(bytes.subarray(i, i + length));
      } catch {
        // not a valid sequence: the lead byte is escaped below
      }
    }
    if (char === undefined || char === "\\" || /[\x00-\x1f\x7f]/.test(char)) {
      out += char === "\\" ? "\\\\" : `\\x${b.toString(16).padStart(2, "0")}`;
      i += 1;
    } else {
      out += char;
      i += length;
    }
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Key of a Clay path for maps and clash detection. */
export function clayKey(path: readonly string[]): string {
  return "/" + path.join("/");
}


/** Lists every committable regular file under `mountDir`, sorted by relative path. */
export function scanMount(mountDir: string): MountScan {
  const files: MountFile[] = [];
  const skipped: Skipped[] = [];
  const stack: string[] = [""];
  while (stack.length > 0) {
    const dirRel = stack.pop()!;
    let raw: Buffer[];
    try {
      // As bytes: a name that is not UTF-8 would come back with U+FFFD in it, name no file, and
      // vanish from the commit without a word.
      raw = readdirSync(join(mountDir, dirRel), { encoding: "buffer" });
    } catch (cause) {
      throw new PleaError(UrthErrorCode.mount.unreadable, `Cannot read the directory "${dirRel || "."}" in the mount: ${(cause as Error).message}`, { cause });
    }
    for (const bytes of raw) {
      let name: string;
      try {
        name = strictUtf8.decode(bytes);
      } catch {
        // A Clay path element is a knot, text: a name that is not UTF-8 has no Clay path.
        const shown = escapeName(bytes);
        skipped.push({ rel: dirRel ? `${dirRel}/${shown}` : shown, reason: "not-utf-8" });
        continue;
      }
      const rel = dirRel ? `${dirRel}/${name}` : name;
      // vere skips dot-files and dot-directories, and files (not directories) ending in `~`.
      if (name.startsWith(".")) {
        skipped.push({ rel, reason: "dot-file" });
        continue;
      }
      let st: Stats;
      try {
        st = lstatSync(join(mountDir, rel));
      } catch (cause) {
        // Removed since readdir (an editor's temporary file): it is not in the mount.
        if ((cause as { code?: string }).code === "ENOENT") continue;
        throw new PleaError(UrthErrorCode.mount.unreadable, `Cannot stat "${rel}" in the mount: ${(cause as Error).message}`, { cause });
      }
      if (st.isSymbolicLink()) skipped.push({ rel, reason: "symlink" });
      else if (st.isDirectory()) stack.push(rel);
      else if (!st.isFile()) skipped.push({ rel, reason: "special-file" });
      else if (name.endsWith("~")) skipped.push({ rel, reason: "backup-file" });
      else {
        if (st.size > ATOM_BYTES_MAX) {
          throw new PleaError(UrthErrorCode.mount.tooLarge, `"${rel}" is ${st.size} bytes; one file is at most ${ATOM_BYTES_MAX} bytes (4 GiB, one atom). Split it or move it out of the mount`);
        }
        const path = clayPathOf(rel);
        files.push({ rel, path, key: clayKey(path), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      }
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = f.key;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new PleaError(UrthErrorCode.mount.pathClash, `"${other}" and "${f.rel}" both map to the Clay path ${key}; rename one of them`);
    }
    seen.set(key, f.rel);
  }
  return { files, skipped };
}
