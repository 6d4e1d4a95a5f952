/**
 * What bench/pier.ts's piers hold, and what building them may need: the small pier's files, the
 * big piers' sizes, the room a run needs, and which snapshot is the newest.
 */
import { GIB, KIB, MIB } from "./format.ts";

/** The small pier's files (mount-relative path, bytes): 1 MiB in all, each far under any blob threshold. */
export const SMALL_FILES: readonly (readonly [string, number])[] = [
  ["docs/note-4k.bin", 4 * KIB],
  ["docs/readme.bin", 60 * KIB],
  ["lib/part0.bin", 240 * KIB],
  ["lib/part1.bin", 240 * KIB],
  ["lib/part2.bin", 240 * KIB],
  ["lib/part3.bin", 240 * KIB],
];
/** The folder `ls` lists and the 4 KiB file `cat` reads, both among SMALL_FILES. */
export const LS_FOLDER = "docs";
export const CAT_FILE = "docs/note-4k.bin";

/** Room kept free beyond the computed worst case, on disk and in memory. */
export const ROOM_MARGIN_BYTES = 2 * GIB;

/** `2,8` -> [2, 8]: distinct counts of at least 1, ascending (one pier grows through them). */
export function parseBigCounts(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new RangeError(`--big-gib takes a comma-separated list of whole numbers of at least 1, like 2,8; got "${text}"`);
  }
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

/**
 * What a run needs at worst, on disk and in memory, for a big pier of `bigMax` files of
 * `fileBytes`: the baseline on main keeps every committed byte in its log, a snapshot and mars's
 * heap.
 */
export function roomNeeded(bigMax: number, fileBytes: number, manyFiles: number | undefined): { diskBytes: number; memoryBytes: number } {
  // Inputs: the big files, the small ones, and the many-files tree (a 4 KiB block per 1 KiB file).
  const cache = bigMax * fileBytes + MIB + (manyFiles ?? 0) * 4 * KIB;
  // The big pier: each file once in the log, twice more for the two re-commits, once in a
  // snapshot, and the copy moved over the file.
  const pier = (2 * bigMax + 3) * fileBytes;
  // mars replays the whole state into its heap, and a commit adds one file's segment.
  const memory = (bigMax + 2) * fileBytes;
  return { diskBytes: cache + pier + ROOM_MARGIN_BYTES, memoryBytes: memory + ROOM_MARGIN_BYTES };
}

/** The newest `snapshot-<eve>.plea` among `names` (by event number), or undefined. */
export function newestSnapshot(names: readonly string[]): { name: string; eve: number } | undefined {
  let best: { name: string; eve: number } | undefined;
  for (const name of names) {
    const m = /^snapshot-(\d+)\.plea$/.exec(name);
    if (m && (best === undefined || Number(m[1]) > best.eve)) best = { name, eve: Number(m[1]) };
  }
  return best;
}
