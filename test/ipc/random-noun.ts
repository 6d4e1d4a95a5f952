/** Random nouns for parser fuzzing: small and big atoms, protocol tags, and cells. */
import { TAG } from "../../src/ipc/tags.ts";
import { atomFromBytes, cell, type Noun } from "../../src/noun/index.ts";
import { int, randomBytes } from "./random.ts";

const TAGS = Object.values(TAG);

export function randomAtom(r: () => number): Noun {
  const k = r();
  if (k < 0.3) return int(r, 0, 2);
  if (k < 0.6) return TAGS[int(r, 0, TAGS.length - 1)];
  if (k < 0.85) return int(r, 0, 2 ** 32);
  const bytes = randomBytes(r, int(r, 7, 40));
  bytes[bytes.length - 1] |= 1;
  return atomFromBytes(bytes);
}

/** A random noun of at most `depth` levels; heads lean towards tags so parsers go deep. */
export function randomNoun(r: () => number, depth = 6): Noun {
  if (depth === 0 || r() < 0.3) return randomAtom(r);
  const head = r() < 0.5 ? TAGS[int(r, 0, TAGS.length - 1)] : randomNoun(r, depth - 1);
  return cell(head, randomNoun(r, depth - 1));
}

/** `n` with one random subtree replaced by a random noun (iterative descent). */
export function mutate(r: () => number, n: Noun): Noun {
  const path: { node: Noun; wentHead: boolean }[] = [];
  let cur = n;
  while (typeof cur === "object" && "head" in cur && r() < 0.8) {
    const wentHead = r() < 0.5;
    path.push({ node: cur, wentHead });
    cur = wentHead ? cur.head : cur.tail;
  }
  let out = randomNoun(r, 3);
  for (let i = path.length - 1; i >= 0; i--) {
    const { node, wentHead } = path[i];
    const c = node as { head: Noun; tail: Noun };
    out = wentHead ? cell(out, c.tail) : cell(c.head, out);
  }
  return out;
}
