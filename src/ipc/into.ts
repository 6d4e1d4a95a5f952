/**
 * `%into`, the event vere's Unix mount sends (docs/mount.md, "The event"): one encoder for urth,
 * one parser for mars, one type for both.
 *
 *   ovum = [wire [%into desk=@tas all=? can=(list [path (unit mime)])]]
 *   wire = [%c %sync '0v…' ~]                 the third element is vere's `sev_l`, as `@uv`
 *   mime = [type=path len=@ud data=@]         vere always sends type /text/plain
 *
 * `[path ~]` deletes; `[path ~ mime]` adds or changes. The parser reads an event that comes from
 * another process, so every field is checked and a bad one is described (the kernel turns it into
 * a `%bad-event` goof); the parser throws nothing but
 * `IpcErrorCode.event.malformed`.
 */
import { PleaError } from "../error.ts";
import { ATOM_BYTES_MAX, BigAtom, cord, cordToString, type Atom } from "../noun/atom.ts";
import { Cell, cell } from "../noun/cell.ts";
import { FileAtom } from "../noun/file-atom.ts";
import { list, tuple, type Noun } from "../noun/noun.ts";
import { IpcErrorCode } from "./errors.ts";

/**
 * The error for an event or a peek path that is not well formed (`IpcErrorCode.event.malformed`):
 * the kernel catches it and reports its message in a goof.
 */
export function malformed(message: string): PleaError {
  return new PleaError(IpcErrorCode.event.malformed, message);
}

/**
 * One change of an `%into`. `A` is what its data may be: any atom when urth builds the event
 * (a large file is a file-backed atom, read only when the event is sent), an in-memory atom once
 * mars has parsed it.
 */
export type IntoChange<A extends Atom = Atom> = IntoPut<A> | IntoDel;

/** `[path ~ [type len data]]`: the file at `path` is added or changed. */
export interface IntoPut<A extends Atom = Atom> {
  readonly kind: "put";
  /** The file's path: `(list @ta)`, at least one element. */
  readonly path: Noun;
  /** The mime type, a path: `MIME_TEXT_PLAIN` from urth, as from vere. */
  readonly type: Noun;
  /** The file's length in bytes: `data` drops trailing zero bytes, `len` restores them. */
  readonly len: number;
  readonly data: A;
}

/** `[path ~]`: the file at `path` is deleted (nothing happens if there is none). */
export interface IntoDel {
  readonly kind: "del";
  readonly path: Noun;
}

export interface Into<A extends Atom = Atom> {
  readonly desk: number | BigAtom;
  /** `all = %.y`: the desk becomes exactly the files this event adds. */
  readonly all: boolean;
  readonly changes: IntoChange<A>[];
}

/** `/text/plain`, built once: every mime of an `%into` urth sends shares it. */
export const MIME_TEXT_PLAIN: Noun = list([cord("text"), cord("plain")]);

/** `(scot %uv n)` for a natural number below 2^53: `0v` then base-32 digits, dots every five. */
export function scotUv(n: number): string {
  const DIGITS = "0123456789abcdefghijklmnopqrstuv";
  let digits = "";
  let v = n;
  do {
    digits = DIGITS[v % 32] + digits;
    v = Math.floor(v / 32);
  } while (v > 0);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 5) groups.unshift(digits.slice(Math.max(0, end - 5), end));
  return "0v" + groups.join(".");
}

/**
 * The ovum `[[%c %sync '0v…' ~] [%into desk all can]]`, noun for noun what vere's Unix mount
 * sends; `syncId` is vere's `sev_l` (the mug of the time the driver started).
 */
export function intoOvum(desk: string, changes: readonly IntoChange[], syncId: number, all = false): Noun {
  const wire = list([cord("c"), cord("sync"), cord(scotUv(syncId))]);
  const can = list(changes.map((c) => (c.kind === "del" ? cell(c.path, 0) : cell(c.path, cell(0, tuple(c.type, c.len, c.data))))));
  // `all` is a loobean: %.y = 0, %.n = 1.
  return cell(wire, tuple(cord("into"), cord(desk), all ? 0 : 1, can));
}

const INTO = 0x6f746e69; // %into: the bytes "into" as a little-endian atom

/** The card's tag as text, for "got %foo" messages (undefined if it is not a short atom). */
export function cardTag(ovum: Noun): string | undefined {
  if (!(ovum instanceof Cell) || !(ovum.tail instanceof Cell)) return undefined;
  const tag = ovum.tail.head;
  if (typeof tag === "number" || tag instanceof BigAtom) {
    const text = cordToString(tag);
    return /^[a-z0-9-]{1,32}$/.test(text) ? text : undefined;
  }
  return undefined;
}

/** Whether the ovum's card is an `%into` (the caller then parses it with `readInto`). */
export function isInto(ovum: Noun): boolean {
  return ovum instanceof Cell && ovum.tail instanceof Cell && ovum.tail.head === INTO;
}

/** Parses and checks an `%into` ovum (a `malformed` error says what is wrong). Its data atoms are in memory. */
export function readInto(ovum: Noun): Into<number | BigAtom> {
  const [, card] = pair(ovum, "the ovum [wire card]");
  const [, rest] = pair(card, "the card [%into desk all can]");
  const [desk, rest2] = pair(rest, "the %into [desk all can]");
  const [allNoun, can] = pair(rest2, "the %into [all can]");
  if (!isTas(desk)) throw malformed(`The %into desk must be a @tas (a-z, 0-9, '-', starting with a letter)`);
  if (allNoun !== 0 && allNoun !== 1) throw malformed(`The %into flag "all" must be %.y (0) or %.n (1); got ${describe(allNoun)}`);
  const changes: IntoChange<number | BigAtom>[] = [];
  let item = can;
  // Messages are built only on failure: this loop runs once per file (100,000 in one commit).
  while (item instanceof Cell) {
    const index = changes.length + 1;
    const change = item.head;
    if (!(change instanceof Cell)) throw malformed(`Change ${index} must be a cell [path (unit mime)]; got ${describe(change)}`);
    const path = change.head;
    const unit = change.tail;
    checkPath(path, "change's path", index);
    if (unit === 0) {
      changes.push({ kind: "del", path });
    } else {
      if (!(unit instanceof Cell) || unit.head !== 0) throw malformed(`Change ${index}'s (unit mime) must be ~ or [~ mime]`);
      const mime = unit.tail;
      if (!(mime instanceof Cell) || !(mime.tail instanceof Cell)) throw malformed(`Change ${index}'s mime must be [type len data]`);
      checkPath(mime.head, "change's mime type", index);
      const len = mime.tail.head;
      const data = mime.tail.tail;
      if (typeof len !== "number" || len > ATOM_BYTES_MAX) {
        throw malformed(`Change ${index}'s length must be at most ${ATOM_BYTES_MAX} bytes; got ${describe(len)}`);
      }
      if (data instanceof Cell) throw malformed(`Change ${index}'s data must be an atom, not a cell`);
      if (data instanceof FileAtom) throw malformed(`Change ${index}'s data is a file-backed atom, which mars cannot keep`);
      const bytes = byteLength(data);
      if (bytes > len) throw malformed(`Change ${index}'s data is ${bytes} bytes, more than its length ${len}`);
      changes.push({ kind: "put", path, type: mime.head, len, data });
    }
    item = item.tail;
  }
  if (item !== 0) throw malformed(`The %into list of changes must end in ~`);
  return { desk: desk as number | BigAtom, all: allNoun === 0, changes };
}

/**
 * A path: a `~`-terminated list of atoms, at least one element (checked, or `malformed`). `what`
 * names it in the message ("change's path"); `index` numbers the change, if any.
 */
export function checkPath(path: Noun, what: string, index?: number): void {
  let n = path;
  let count = 0;
  while (n instanceof Cell) {
    if (n.head instanceof Cell) throw malformed(`Element ${count + 1} of ${name(what, index)} must be an atom, not a cell`);
    if (n.head instanceof FileAtom) throw malformed(`Element ${count + 1} of ${name(what, index)} is a file-backed atom`);
    count++;
    n = n.tail;
  }
  if (n !== 0) throw malformed(`${capitalize(name(what, index))} must be a list ending in ~`);
  if (count === 0) throw malformed(`${capitalize(name(what, index))} is empty`);
}

/** "change's path" with index 3 is "change 3's path". */
function name(what: string, index: number | undefined): string {
  return index === undefined ? what : what.replace(/^change's/, `change ${index}'s`);
}

/** A `@tas`: lowercase letters, digits and '-', starting with a letter. */
export function isTas(n: Noun): boolean {
  if (n instanceof Cell || n instanceof FileAtom || n === 0) return false;
  const text = cordToString(n as number | BigAtom);
  return /^[a-z][a-z0-9-]*$/.test(text);
}

export function byteLength(a: number | BigAtom): number {
  if (typeof a !== "number") return a.byteLength;
  let n = 0;
  for (let v = a; v > 0; v = Math.floor(v / 256)) n++;
  return n;
}

function pair(n: Noun, what: string): [Noun, Noun] {
  if (!(n instanceof Cell)) throw malformed(`${capitalize(what)} must be a cell; got ${describe(n)}`);
  return [n.head, n.tail];
}

function describe(n: Noun): string {
  if (n instanceof Cell) return "a cell";
  if (typeof n === "number") return String(n);
  return "a large atom";
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
