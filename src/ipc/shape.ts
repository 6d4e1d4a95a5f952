/**
 * Checked readers (and the matching builders) for the small Hoon shapes protocol messages are
 * made of: motes, loobeans, `~`, units, lists, paths. The readers are for nouns from the other
 * process: every wrong shape is a protocol error (`IpcErrorCode.protocol`) naming the field (`where`), never a TypeError.
 */
import { PleaError } from "../error.ts";
import { BigAtom, cell, cord, cordToString, isCell, list, type Cell, type Noun } from "../noun/index.ts";
import { IpcErrorCode } from "./errors.ts";

/**
 * Longest mote (`@tas`) accepted, in bytes. Real ones are a few letters; the bound keeps a
 * hostile multi-MiB "mote" from being decoded into a string just to print an error.
 */
export const MOTE_BYTES_MAX = 256;

/** A short description of a noun for error messages (never prints a whole large noun). */
export function describeNoun(n: Noun): string {
  if (isCell(n)) return "a cell";
  if (typeof n === "number") return `the atom ${n}`;
  if (n instanceof BigAtom) return `an atom of ${n.byteLength} bytes`;
  return "a file-backed atom";
}

function bad(where: string, expected: string, got: Noun): PleaError {
  return new PleaError(IpcErrorCode.protocol.badShape, `${where}: expected ${expected}, got ${describeNoun(got)}`);
}

export function readCell(n: Noun, where: string): Cell {
  if (!isCell(n)) throw bad(where, "a cell", n);
  return n;
}

/** An in-memory atom (a number or a BigAtom). */
export function readAtom(n: Noun, where: string): number | BigAtom {
  if (typeof n === "number" || n instanceof BigAtom) return n;
  throw bad(where, "an atom", n);
}

/** An atom that is at most `max` (<= 2^53-1), as a number. */
export function readNumber(n: Noun, max: number, where: string): number {
  if (typeof n === "number") {
    if (n <= max) return n;
    throw new PleaError(IpcErrorCode.protocol.outOfRange, `${where}: ${n} is above its limit of ${max}`);
  }
  if (n instanceof BigAtom) {
    throw new PleaError(IpcErrorCode.protocol.outOfRange, `${where}: an atom of ${n.byteLength} bytes is above its limit of ${max}`);
  }
  throw bad(where, "an atom", n);
}

/** `~`: the atom 0. */
export function readNull(n: Noun, where: string): void {
  if (n !== 0) throw bad(where, "~ (0)", n);
}

/** A loobean: %.y = 0 is true, %.n = 1 is false. */
export function readLoobean(n: Noun, where: string): boolean {
  if (n === 0) return true;
  if (n === 1) return false;
  throw bad(where, "a loobean (0 or 1)", n);
}

export function loobean(b: boolean): number {
  return b ? 0 : 1;
}

/** A mote (`@tas`) or other short cord, as text. */
export function readMote(n: Noun, where: string): string {
  const a = readAtom(n, where);
  if (typeof a !== "number" && a.byteLength > MOTE_BYTES_MAX) {
    throw new PleaError(IpcErrorCode.protocol.outOfRange, `${where}: a mote of ${a.byteLength} bytes is above its limit of ${MOTE_BYTES_MAX}`);
  }
  return cordToString(a);
}

/** The mote (`%poke`) for a text: its UTF-8 bytes as a little-endian atom. */
export function mote(text: string): number | BigAtom {
  return cord(text);
}

/** A cord of any length, as text. */
export function readCord(n: Noun, where: string): string {
  return cordToString(readAtom(n, where));
}

/** `(unit a)`: `~` is null, `[~ a]` is a. */
export function readUnit(n: Noun, where: string): Noun | null {
  if (n === 0) return null;
  if (isCell(n) && n.head === 0) return n.tail;
  throw bad(where, "a unit (~ or [~ value])", n);
}

export function unit(value: Noun | null): Noun {
  return value === null ? 0 : cell(0, value);
}

/** A null-terminated list, as an array (iterative: any length). */
export function readList(n: Noun, where: string): Noun[] {
  const items: Noun[] = [];
  let cur = n;
  while (isCell(cur)) {
    items.push(cur.head);
    cur = cur.tail;
  }
  if (cur !== 0) throw bad(`${where} (after ${items.length} items)`, "a list ending in ~", cur);
  return items;
}

/** A path or wire: a list of knots (atoms). Returned as the noun itself, after checking it. */
export function readPath(n: Noun, where: string): Noun {
  let cur = n;
  let i = 0;
  while (isCell(cur)) {
    readAtom(cur.head, `${where}, segment ${i}`);
    cur = cur.tail;
    i++;
  }
  if (cur !== 0) throw bad(`${where} (after ${i} segments)`, "a path ending in ~", cur);
  return n;
}

/** A path from its segments: `pathToNoun(["c", "sync", "0v1"])` is `/c/sync/0v1`. */
export function pathToNoun(segments: readonly string[]): Noun {
  return list(segments.map((s) => cord(s)));
}

/** The segments of a path noun (checked). */
export function pathFromNoun(n: Noun, where = "path"): string[] {
  readPath(n, where);
  return readList(n, where).map((a) => cordToString(a as number | BigAtom));
}
