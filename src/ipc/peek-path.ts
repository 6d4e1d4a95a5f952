/**
 * The peek paths both processes use, and the marks of the casks that answer them (docs/ipc.md,
 * "Peeks"). A `%peek` task carries its path as `[%.y path]`; there are two kinds:
 *
 * - The kernel's, `[care desk spur]` (`/x/base/lib/foo/js`), answered by the kernel from its
 *   state (docs/kernel.md, "Peeks"): cares `%x %t %d %r`, marks `%mime %plea-list %plea-desk
 *   %plea-range`.
 * - Plea's extensions, `[%plea ...]`, answered by mars itself from its event log (mars is the
 *   only process that writes it; urth may read its read view and INFO read-only instead,
 *   docs/read-view.md):
 *
 *     /plea/mug/EVE        [~ [%plea-mug mug=@]]       the mug stored with event EVE
 *     /plea/log/FROM/TO    [~ [%plea-log (list @t)]]   the INFO of events FROM..TO (event-info.ts)
 *     /plea/du             [~ [%plea-du @t]]           where the pier's disk went: a JSON object
 *                                                      (docs/event-log.md, "Retention")
 *     /plea/at/EVE/[care desk spur]                    the kernel's peek [care desk spur] in the
 *                                                      state after event EVE (a retained event)
 *
 *   EVE, FROM and TO are decimal knots (`'12'`), as `/r`'s offsets; an event the log does not
 *   hold answers `~` (mug) or is left out (log). vere's mars answers no such path: it reaches
 *   Arvo, which has no `%plea` care.
 */
import { PleaError } from "../error.ts";
import { BigAtom, cord, cordToString } from "../noun/atom.ts";
import { Cell } from "../noun/cell.ts";
import { list, type Noun } from "../noun/noun.ts";
import { IpcErrorCode } from "./errors.ts";
import { describeNoun } from "./shape.ts";

/** The marks of the casks that answer the paths above. */
export const PEEK_MARK = {
  mime: "mime",
  list: "plea-list",
  desk: "plea-desk",
  range: "plea-range",
  mug: "plea-mug",
  log: "plea-log",
  du: "plea-du",
} as const;

/**
 * Most events one `/plea/log` peek may name. urth asks for a long log page by page, so neither
 * mars's answer nor urth's copy of it grows with the log (1,000 INFO cords are about 250 KB).
 */
export const LOG_PEEK_EVENTS_MAX = 1000;

/** The kernel's peek path `[care desk spur]` from text: `peekPath("x", "base", ["lib", "foo", "js"])`. */
export function peekPath(care: "x" | "t" | "d" | "r", desk: string, spur: readonly string[] = []): Noun {
  return list([cord(care), cord(desk), ...spur.map((s) => cord(s))]);
}

/** A peek mars answers from its log: a Plea extension. */
export type LogPeek =
  | { readonly kind: "mug"; readonly eve: number }
  | { readonly kind: "log"; readonly from: number; readonly to: number }
  | { readonly kind: "du" }
  /** `path` is the kernel's peek path `[care desk spur]`, asked of the state after event `eve`. */
  | { readonly kind: "at"; readonly eve: number; readonly path: Noun };

const PLEA = cord("plea");
const MUG = cord("mug");
const LOG = cord("log");
const DU = cord("du");
const AT = cord("at");

/** The path of a log peek: `/plea/mug/12`, `/plea/log/1/1000`, `/plea/du`, `/plea/at/12/x/base/a/txt`. */
export function logPeekPath(p: LogPeek): Noun {
  switch (p.kind) {
    case "mug":
      return list([PLEA, MUG, cord(String(p.eve))]);
    case "log":
      return list([PLEA, LOG, cord(String(p.from)), cord(String(p.to))]);
    case "du":
      return list([PLEA, DU]);
    case "at":
      return new Cell(PLEA, new Cell(AT, new Cell(cord(String(p.eve)), p.path)));
  }
}

/** Whether mars (not its kernel) answers `path`: its head is `%plea`. */
export function isLogPeekPath(path: Noun): boolean {
  return path instanceof Cell && path.head === PLEA;
}

/**
 * Reads a `/plea/...` path (from the other process, so checked): a protocol error (`IpcErrorCode.protocol`) names what is
 * wrong. Event numbers are 1 to 2^53-1; a `/plea/log` range names at most LOG_PEEK_EVENTS_MAX.
 */
export function parseLogPeekPath(path: Noun): LogPeek {
  // The first three items are read one by one: /plea/at's fourth onward is a kernel path, kept
  // whole as the noun it is (the kernel checks it), and no other path has more than four.
  const items: Noun[] = [];
  let rest: Noun = path;
  while (rest !== 0 && items.length < 3) {
    if (!(rest instanceof Cell)) throw bad(USAGE);
    items.push(rest.head);
    rest = rest.tail;
  }
  if (items[0] !== PLEA) throw bad(`a /plea peek path starts with %plea; got ${describeNoun(items[0] ?? 0)}`);
  if (items[1] === DU && items.length === 2) return { kind: "du" };
  if (items[1] === AT && items.length === 3) {
    if (!(rest instanceof Cell)) throw bad("/plea/at/EVE is followed by a kernel path [care desk spur]");
    return { kind: "at", eve: eventKnot(items[2], "EVE"), path: rest };
  }
  if (items[1] === MUG && items.length === 3 && rest === 0) return { kind: "mug", eve: eventKnot(items[2], "EVE") };
  if (items[1] === LOG && items.length === 3 && rest instanceof Cell && rest.tail === 0) {
    const from = eventKnot(items[2], "FROM");
    const to = eventKnot(rest.head, "TO");
    if (to < from) throw bad(`/plea/log/FROM/TO names no events: TO ${to} is below FROM ${from}`);
    if (to - from + 1 > LOG_PEEK_EVENTS_MAX) {
      throw new PleaError(IpcErrorCode.protocol.outOfRange, `/plea/log/FROM/TO names ${to - from + 1} events; one peek names at most ${LOG_PEEK_EVENTS_MAX}`);
    }
    return { kind: "log", from, to };
  }
  throw bad(USAGE);
}

const USAGE = "a /plea peek path is /plea/mug/EVE, /plea/log/FROM/TO, /plea/du or /plea/at/EVE/CARE/DESK/...";

/** An event number as a decimal knot: '1' to '9007199254740991', no leading zeros. */
function eventKnot(n: Noun, what: string): number {
  // 16 digits at most: a longer atom is refused before it is decoded.
  if (!(typeof n === "number" || (n instanceof BigAtom && n.byteLength <= 16))) {
    throw bad(`the ${what} of a /plea peek is a decimal knot; got ${describeNoun(n)}`);
  }
  const text = cordToString(n);
  const value = Number(text);
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new PleaError(IpcErrorCode.protocol.outOfRange, `the ${what} of a /plea peek is an event number from 1 to ${Number.MAX_SAFE_INTEGER}; got "${text.slice(0, 32)}"`);
  }
  return value;
}

function bad(message: string): PleaError {
  return new PleaError(IpcErrorCode.protocol.badShape, message);
}
