/**
 * Goofs and tanks: how mars reports a failure (`goof = [mote=@tas tang]`, `tang = (list tank)`)
 * and prints a message (`%slog pri tank`).
 *
 * A tank is `$@(cord $%([%leaf p=tape] [%palm p=[tape tape tape tape] q=(list tank)] [%rose
 * p=[tape tape tape] q=(list tank)]))`. Plea's own goofs carry cords; `tankToText` renders any
 * tank on one line, best effort, so urth can show what vere or Plea's mars said.
 */
import { BigAtom, cell, cord, cordToString, isCell, list, type Atom, type Noun } from "../noun/index.ts";
import { readCell, readMote } from "./shape.ts";

export interface Goof {
  /** The failure's mote: `%exit`, `%evil`, `%plea-fail`, ... */
  readonly mote: string;
  /** The trace, a `(list tank)`, kept as the noun (render it with `tangToLines`). */
  readonly tang: Noun;
}

/** A goof whose tang is one cord per line (what Plea's mars builds). */
export function goof(moteText: string, ...lines: string[]): Goof {
  return { mote: moteText, tang: list(lines.map((l) => cord(l))) };
}

export function goofToNoun(g: Goof): Noun {
  return cell(cord(g.mote), g.tang);
}

/** Reads `[mote tang]`. The tang is kept as it came; rendering it never throws. */
export function readGoof(n: Noun, where: string): Goof {
  const c = readCell(n, where);
  return { mote: readMote(c.head, `${where}, mote`), tang: c.tail };
}

/** Longest text one rendering produces; the rest is cut with "...". */
export const TANK_TEXT_CHARS_MAX = 64 * 1024;

const LEAF = cord("leaf");
const PALM = cord("palm");
const ROSE = cord("rose");

/** The tang's tanks, one line each. A malformed tang renders what it can. */
export function tangToLines(tang: Noun): string[] {
  const lines: string[] = [];
  let cur = tang;
  while (isCell(cur) && lines.length < 1000) {
    lines.push(tankToText(cur.head));
    cur = cur.tail;
  }
  if (isCell(cur)) lines.push("...");
  return lines;
}

/** A goof as one readable string: `%mote: line; line`. */
export function goofToText(g: Goof): string {
  const lines = tangToLines(g.tang);
  return lines.length === 0 ? `%${g.mote}` : `%${g.mote}: ${lines.join("; ")}`;
}

/**
 * One tank flattened to one line (rose: open, items joined by the separator, close; palm the
 * same with its first tape as separator). Iterative over an explicit stack: any depth; never
 * throws; output capped at TANK_TEXT_CHARS_MAX characters.
 */
export function tankToText(tank: Noun): string {
  // The stack holds tanks still to render and literal strings to emit between them.
  const stack: (Noun | { text: string })[] = [tank];
  let out = "";
  while (stack.length > 0 && out.length < TANK_TEXT_CHARS_MAX) {
    const top = stack.pop()!;
    if (typeof top === "object" && top !== null && "text" in top) {
      out += top.text;
      continue;
    }
    const t = top as Noun;
    if (!isCell(t)) {
      out += atomText(t);
      continue;
    }
    if (t.head === LEAF) {
      out += tapeText(t.tail);
      continue;
    }
    if ((t.head === ROSE || t.head === PALM) && isCell(t.tail) && isCell(t.tail.head)) {
      const p = t.tail.head;
      const separator = tapeText(p.head);
      const rest = p.tail;
      const open = isCell(rest) ? tapeText(rest.head) : "";
      const close = isCell(rest) ? (t.head === ROSE ? tapeText(rest.tail) : isCell(rest.tail) ? tapeText(rest.tail.head) : "") : "";
      const items: Noun[] = [];
      let cur = t.tail.tail;
      while (isCell(cur) && items.length < 10_000) {
        items.push(cur.head);
        cur = cur.tail;
      }
      stack.push({ text: close });
      for (let i = items.length - 1; i >= 0; i--) {
        stack.push(items[i]);
        if (i > 0) stack.push({ text: separator });
      }
      stack.push({ text: open });
      continue;
    }
    out += "<tank>";
  }
  return out.length > TANK_TEXT_CHARS_MAX ? out.slice(0, TANK_TEXT_CHARS_MAX) + "..." : out;
}

function atomText(a: Atom): string {
  if (typeof a === "number") return cordToString(a);
  if (a instanceof BigAtom) return new TextDecoder().decode(a.bytes.subarray(0, TANK_TEXT_CHARS_MAX));
  return "<file-backed atom>";
}

/** A tape (list of bytes or chars) as text; stops at the output cap. */
function tapeText(n: Noun): string {
  const bytes: number[] = [];
  let cur = n;
  while (isCell(cur) && bytes.length < TANK_TEXT_CHARS_MAX) {
    const c = cur.head;
    if (typeof c === "number" && c < 256) bytes.push(c);
    else if (typeof c === "number") for (const b of new TextEncoder().encode(cordToString(c))) bytes.push(b);
    cur = cur.tail;
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
