/**
 * The file store's peeks (docs/kernel.md, "Peeks"). A peek path is `[care desk spur]`, Clay's
 * shape without ship and case (`/x/base/lib/foo/js`); vere's `%once` peek `[%once care desk
 * path]` maps onto it directly. Answers are `(unit cask)`:
 *
 *   /x/desk/spur   the file:            [~ [%mime [type len data]]]   ~ if there is no such file
 *   /t/desk/spur   files under spur:    [~ [%plea-list (list [path len])]]  sorted by path;
 *                                       spur ~ lists the whole desk; no desk lists nothing
 *   /d/desk        the desk's totals:   [~ [%plea-desk [files=@ud bytes=@ud]]]  zeros for no desk
 *   /r/desk/off/n/spur  bytes [off, off+n) of a file, so a reader streams a large file in pieces:
 *                  [~ [%plea-range [type len mug slice]]]   ~ if there is no such file;
 *                  off and n are decimal knots ('0', '4194304'); mug is the whole file atom's
 *                  (cached), so a reader can tell that the file changed between two pieces
 *
 * `len` is the file's byte length: a reader prints `data`'s bytes and then zeros up to `len`
 * (an atom cannot end in zero bytes; the file can). Any other path is a `%bad-peek` goof.
 */
import { isPleaError } from "../../error.ts";
import { atomFromBytes, BigAtom, cord, cordToString, toBytes } from "../../noun/atom.ts";
import { FileAtom } from "../../noun/file-atom.ts";
import { mug } from "../../noun/mug.ts";
import { Cell } from "../../noun/cell.ts";
import { equals } from "../../noun/equals.ts";
import { list, tuple, type Noun } from "../../noun/noun.ts";
import type { PeekResult } from "./kernel.ts";
import { mapForEach, mapGet } from "./hoon-map.ts";
import { IpcErrorCode } from "../../ipc/errors.ts";
import { checkPath, isTas, malformed } from "../../ipc/into.ts";
import { PEEK_MARK } from "../../ipc/peek-path.ts";
import { readDesk, readMime } from "./state.ts";

const CARE_FILE = cord("x");
const CARE_LIST = cord("t");
const CARE_DESK = cord("d");
const MARK_MIME = cord(PEEK_MARK.mime);
const MARK_LIST = cord(PEEK_MARK.list);
const MARK_DESK = cord(PEEK_MARK.desk);
const MARK_RANGE = cord(PEEK_MARK.range);
const CARE_RANGE = cord("r");
const BAD_PEEK = cord("bad-peek");

export function peekDesks(desks: Noun, path: Noun): PeekResult {
  try {
    if (!(path instanceof Cell) || !(path.tail instanceof Cell)) throw malformed("A peek path is [care desk spur]");
    const care = path.head;
    const deskName = path.tail.head;
    const spur = path.tail.tail;
    if (!isTas(deskName)) throw malformed("The peek's desk must be a @tas");
    const deskNoun = mapGet(desks, deskName);
    const desk = deskNoun === undefined ? undefined : readDesk(deskNoun);
    if (care === CARE_FILE) {
      checkPath(spur, "the peek's file path");
      const mime = desk === undefined ? undefined : mapGet(desk.tree, spur);
      return { ok: true, unit: mime === undefined ? 0 : some(new Cell(MARK_MIME, mime)) };
    }
    if (care === CARE_LIST) {
      if (spur !== 0) checkPath(spur, "the peek's directory path");
      return { ok: true, unit: some(new Cell(MARK_LIST, desk === undefined ? 0 : listing(desk.tree, spur))) };
    }
    if (care === CARE_RANGE) {
      if (!(spur instanceof Cell) || !(spur.tail instanceof Cell)) throw malformed("A /r peek is /r/desk/offset/length/path");
      const offset = decimalKnot(spur.head, "offset");
      const length = decimalKnot(spur.tail.head, "length");
      const path = spur.tail.tail;
      checkPath(path, "the peek's file path");
      const mime = desk === undefined ? undefined : mapGet(desk.tree, path);
      if (mime === undefined) return { ok: true, unit: 0 };
      const m = readMime(mime);
      const bytes = toBytes(m.data as number | BigAtom);
      const slice = offset >= bytes.length ? 0 : atomFromBytes(bytes.subarray(offset, Math.min(bytes.length, offset + length)));
      return { ok: true, unit: some(new Cell(MARK_RANGE, tuple(m.type, m.len, mug(m.data), slice))) };
    }
    if (care === CARE_DESK) {
      if (spur !== 0) throw malformed("A /d peek names a desk only");
      const totals = new Cell(desk?.files ?? 0, desk?.bytes ?? 0);
      return { ok: true, unit: some(new Cell(MARK_DESK, totals)) };
    }
    throw malformed("The file store answers the cares %x (a file), %r (a piece of a file), %t (a listing) and %d (a desk's totals)");
  } catch (e) {
    if (isPleaError(e, IpcErrorCode.event.malformed)) return { ok: false, goof: new Cell(BAD_PEEK, list([cord(e.message)])) };
    throw e;
  }
}

/** A decimal knot (`'4194304'`) as a number; anything else is a bad peek. */
function decimalKnot(n: Noun, what: string): number {
  if (n instanceof Cell || n instanceof FileAtom) throw malformed(`The ${what} of a /r peek must be a decimal knot`);
  const text = cordToString(n as number | BigAtom);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) throw malformed(`The ${what} of a /r peek must be a decimal knot; got "${text}"`);
  return Number(text);
}

function some(n: Noun): Noun {
  return new Cell(0, n);
}

/** `(list [path len])` of the files under `prefix`, sorted by path (element by element, bytewise). */
function listing(tree: Noun, prefix: Noun): Noun {
  const found: { path: Noun; key: string[]; len: number }[] = [];
  mapForEach(tree, (path, mime) => {
    if (!hasPrefix(path, prefix)) return;
    found.push({ path, key: elementKeys(path), len: readMime(mime).len });
  });
  found.sort((a, b) => compareKeys(a.key, b.key));
  return list(found.map((f) => new Cell(f.path, f.len)));
}

function hasPrefix(path: Noun, prefix: Noun): boolean {
  let p = path;
  let q = prefix;
  while (q instanceof Cell) {
    if (!(p instanceof Cell) || !equals(p.head, q.head)) return false;
    p = p.tail;
    q = q.tail;
  }
  return true;
}

/** Each element's bytes as a latin1 string: one char per byte, so string order is byte order. */
function elementKeys(path: Noun): string[] {
  const keys: string[] = [];
  for (let p = path; p instanceof Cell; p = p.tail) {
    keys.push(Buffer.from(toBytes(p.head as number | BigAtom)).toString("latin1"));
  }
  return keys;
}

function compareKeys(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}
