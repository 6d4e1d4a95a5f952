/**
 * The motes that tag protocol messages, as the numbers they are (`%poke` = 0x656b6f70: the ASCII
 * bytes little-endian). All are at most 6 bytes, so all are direct atoms and a tag check is one
 * number comparison.
 */
import { PleaError } from "../error.ts";
import { cord, isCell, type Noun } from "../noun/index.ts";
import { IpcErrorCode } from "./errors.ts";

function tag(text: string): number {
  return cord(text) as number;
}

export const TAG = {
  poke: tag("poke"),
  peek: tag("peek"),
  live: tag("live"),
  sync: tag("sync"),
  quiz: tag("quiz"),
  exit: tag("exit"),
  plea: tag("plea"),
  done: tag("done"),
  drop: tag("drop"),
  ripe: tag("ripe"),
  slog: tag("slog"),
  flog: tag("flog"),
  meld: tag("meld"),
  pack: tag("pack"),
  save: tag("save"),
  quac: tag("quac"),
  quic: tag("quic"),
  once: tag("once"),
  open: tag("open"),
  idle: tag("idle"),
  fail: tag("fail"),
  memfd: tag("memfd"),
  bref: tag("bref"),
  chop: tag("chop"),
} as const;

/** How a head atom reads in an error message: `%poke` for a short text, else its size. */
export function tagText(head: unknown): string {
  if (typeof head === "number" && head > 0 && head < 2 ** 48) {
    let s = "";
    for (let v = head; v > 0; v = Math.floor(v / 256)) {
      const c = v % 256;
      if (c < 0x20 || c > 0x7e) return `the atom ${head}`;
      s += String.fromCharCode(c);
    }
    return `%${s}`;
  }
  if (typeof head === "number") return `the atom ${head}`;
  return "a non-mote";
}

/** The error for a head that is not a tag `where` knows. */
export function unknownTag(where: string, head: Noun): PleaError {
  return new PleaError(IpcErrorCode.protocol.unknownTag, `${where}: ${isCell(head) ? "a cell" : tagText(head)} is not a tag this side understands`);
}
