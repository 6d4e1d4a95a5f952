/**
 * Segment names: `/plea-<namespace>-<pid>-<start time>-<sequence>` (docs/shm-segments.md, "Names").
 *
 * - namespace: the pier's, 1 to 32 characters of [a-z0-9]. A pier keeps 32 random hex digits for
 *   it (src/pier/segment-namespace.ts), so segments of two piers never collide, an orphan sweep
 *   touches only its own pier's segments, and nobody else can predict the names. Older versions
 *   used 8 hex digits of the SHA-256 of the pier's path (`legacyNamespaceForPier`).
 * - pid and start time: the creator's pid and field 22 of /proc/<pid>/stat (clock ticks after
 *   boot). The pair names one process for the life of the machine; a pid alone can be reused,
 *   and the sweep would then keep an orphan forever (or remove a live segment).
 * - sequence: a counter of the creating process, so one process never reuses a name.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Every Plea segment name starts with this (after the leading slash). */
export const SEGMENT_NAME_PREFIX = "plea-";

/** Linux's NAME_MAX: a segment is a file in /dev/shm, so its name (without `/`) fits in 255 bytes. */
export const SEGMENT_NAME_BYTES_MAX = 255;

const NAMESPACE_PATTERN = /^[a-z0-9]{1,32}$/;
const NAME_PATTERN = /^\/?plea-([a-z0-9]{1,32})-([0-9]{1,10})-([0-9]{1,20})-([0-9]{1,16})$/;

export interface SegmentNameParts {
  namespace: string;
  /** The creator's pid. */
  pid: number;
  /** The creator's start time in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
  seq: number;
}

/**
 * The namespace older versions of Plea gave a pier: 8 hex digits of the SHA-256 of its absolute
 * path. Anyone can compute it, so it is no longer used for new segments; urth's sweep still looks
 * for orphans named with it (docs/shm-segments.md, "Orphans"). Pinned by a test: a change would
 * make the sweep miss those orphans.
 */
export function legacyNamespaceForPier(pierPath: string): string {
  return createHash("sha256").update(resolve(pierPath)).digest("hex").slice(0, 8);
}

/**
 * @deprecated Not the pier's namespace any more (that is `segmentNamespace` of
 * src/pier/segment-namespace.ts): the legacy path hash, kept under its old name for the tests and
 * benchmarks that use it to make a namespace out of a string.
 */
export const namespaceForPier = legacyNamespaceForPier;

/**
 * The start time of a process (field 22 of /proc/<pid>/stat), or undefined if it does not exist
 * or is a zombie: a SIGKILLed creator that nobody reaped yet no longer uses its segments.
 * A process whose stat cannot be read (hidepid) counts as alive: never sweep what might be used.
 */
export function processStartTime(pid: number | "self"): number | undefined | "unknown" {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ESRCH") return undefined;
    return "unknown";
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0]; // field 3
  if (state === "Z" || state === "X") return undefined;
  const startTime = Number(fields[22 - 3]);
  if (!Number.isSafeInteger(startTime)) return "unknown";
  return startTime;
}

let selfStartTime: number | undefined;

/** This process's start time, read once. */
export function ownStartTime(): number {
  if (selfStartTime === undefined) {
    const t = processStartTime("self");
    if (typeof t !== "number") throw new Error("Plea cannot read its own start time from /proc/self/stat");
    selfStartTime = t;
  }
  return selfStartTime;
}

/** The segment name for `seq` of this process in `namespace`. */
export function segmentName(namespace: string, seq: number): string {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new RangeError(`A segment namespace is 1 to 32 characters of [a-z0-9]; "${namespace}" is not`);
  }
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`A segment sequence number is a natural number; ${seq} is not`);
  return `/${SEGMENT_NAME_PREFIX}${namespace}-${process.pid}-${ownStartTime()}-${seq}`;
}

let nextSeq = 0;

/** A fresh segment name of this process in `namespace` (a process-wide counter). */
export function nextSegmentName(namespace: string): string {
  return segmentName(namespace, nextSeq++);
}

/** The parts of a Plea segment name (with or without its leading `/`), or undefined if it is not one. */
export function parseSegmentName(name: string): SegmentNameParts | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const parts = { namespace: m[1], pid: Number(m[2]), startTime: Number(m[3]), seq: Number(m[4]) };
  if (!Number.isSafeInteger(parts.startTime) || !Number.isSafeInteger(parts.seq)) return undefined;
  return parts;
}

/**
 * Whether `name` may name a Plea segment: `/plea-` then [A-Za-z0-9._-], at most 255 bytes.
 * Looser than `parseSegmentName` on purpose: tests and tools may use other suffixes, but nothing
 * outside the `plea-` prefix and nothing that could leave the directory (`/`, `..` as a name).
 */
export function isValidSegmentName(name: string): boolean {
  return /^\/plea-[A-Za-z0-9._-]+$/.test(name) && name.length - 1 <= SEGMENT_NAME_BYTES_MAX;
}
