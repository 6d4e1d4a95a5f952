/**
 * The pier's segment namespace (docs/shm-segments.md, "Names"): 32 random hex digits kept in
 * `<pier>/.urb/shm-namespace` (mode 0600, inside the 0700 `.urb`), made once by whichever of urth
 * and mars needs it first and read by both. Every segment of the pier is named
 * `/plea-<namespace>-...`, so urth's orphan sweep finds exactly its pier's segments.
 *
 * Why random and kept in the pier: a namespace derived from the pier's path (the SHA-256 of it,
 * as Plea did before) is known to every local user, who could then create a file under a name the
 * pier's sweep or mars would use, in the world-writable /dev/shm, and lock the owner out. A
 * namespace read from the pier is also the same however the pier is named: through a symlink, a
 * relative path or a bind mount, urth and mars always agree.
 *
 * The file is written to a temporary name and linked into place, so two processes making it at
 * the same moment agree on the first one's, and a reader never sees half a file. It is not
 * fsynced: segments do not outlive the machine, so a namespace lost in a crash has no orphans.
 *
 * Shared by urth and mars: the pier's on-disk state belongs to neither.
 */
import { randomBytes } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { PleaError } from "../error.ts";
import { legacyNamespaceForPier } from "../ffi/shm-name.ts";
import { PierErrorCode } from "./errors.ts";
import { makePrivateDir, PIER_FILE_MODE } from "./private-mode.ts";

/** The file inside `<pier>/.urb` that holds the namespace. */
export const SEGMENT_NAMESPACE_FILE = "shm-namespace";

/** Random bytes in a namespace: 128 bits, written as 32 hex digits. */
export const SEGMENT_NAMESPACE_BYTES = 16;

const NAMESPACE_TEXT = /^([0-9a-f]{32})\n?$/;

/** Where the namespace of `pier` is kept. */
export function segmentNamespacePath(pier: string): string {
  return join(pier, ".urb", SEGMENT_NAMESPACE_FILE);
}

/**
 * The segment namespace of `pier`, made (with `.urb` if missing) on first use. With
 * `{ create: false }`, undefined when the pier has none yet. Throws `segment_namespace_invalid` when
 * the file holds anything but a namespace.
 */
export function segmentNamespace(pier: string): string;
export function segmentNamespace(pier: string, options: { create: false }): string | undefined;
export function segmentNamespace(pier: string, options: { create?: boolean } = {}): string | undefined {
  const path = segmentNamespacePath(pier);
  const found = readNamespace(path);
  if (found !== undefined || options.create === false) return found;
  makePrivateDir(join(pier, ".urb"));
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", PIER_FILE_MODE);
  try {
    writeSync(fd, `${randomBytes(SEGMENT_NAMESPACE_BYTES).toString("hex")}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    // Another process linked its namespace first: that one is the pier's.
    if ((e as { code?: string }).code !== "EEXIST") throw e;
  } finally {
    unlinkSync(tmp);
  }
  return readNamespace(path)!;
}

function readNamespace(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
  const m = NAMESPACE_TEXT.exec(text);
  if (!m) {
    throw new PleaError(
      PierErrorCode.namespaceInvalid,
      `"${path}" does not hold a segment namespace (32 hex digits). Stop every urth of this pier, remove the file, and start urth again: it makes a new one`,
    );
  }
  return m[1];
}

/**
 * The namespaces older versions of Plea derived from the pier's path, which orphans they left may
 * still carry: the hash of the path as given (resolved) and, when it differs, of its real path
 * (they hashed whichever path they were given, a symlink included). Only urth's sweep uses these;
 * nothing new is ever named in them.
 */
export function legacySegmentNamespaces(pier: string): string[] {
  const names = new Set([legacyNamespaceForPier(resolve(pier))]);
  try {
    names.add(legacyNamespaceForPier(realpathSync(pier)));
  } catch {
    // The pier does not exist (yet): only its path as given can name old segments.
  }
  return [...names];
}
