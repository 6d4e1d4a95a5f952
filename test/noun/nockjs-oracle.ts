/**
 * @urbit/nockjs as an independent oracle for small nouns: its jam keys its dictionary by mug and
 * structural equality like vere's, and its mug is vere's. It recurses, so small nouns only.
 */
import * as nockjs from "@urbit/nockjs";
import { BigAtom, Cell, toBigInt, type Noun } from "../../src/noun/index.ts";

export function toNockjs(n: Noun): nockjs.Noun {
  if (n instanceof Cell) return new nockjs.Cell(toNockjs(n.head), toNockjs(n.tail));
  if (typeof n === "number" || n instanceof BigAtom) return new nockjs.Atom(toBigInt(n));
  throw new Error("the nockjs oracle takes in-memory atoms only");
}

/** nockjs's jam of `n`, as little-endian bytes. */
export function nockjsJam(n: Noun): Uint8Array {
  let v = nockjs.jam(toNockjs(n)).number;
  const out: number[] = [];
  while (v > 0n) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return Uint8Array.from(out);
}

export function nockjsMug(n: Noun): number {
  return toNockjs(n).mug();
}
