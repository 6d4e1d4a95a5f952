/**
 * A small reader for nouns written as in docs/nouns.md, "Vectors", so test tables stay
 * readable: `[a b c]` (right-nested), decimal and 0x numbers, `%mote`, `'cord'`, `~` (0),
 * `%.y` (0) / `%.n` (1), `/a/b` paths (lists of cords) and `~[a b]` lists. Every cell it
 * builds is a new object, so repeated sub-nouns are equal but never identical.
 */
import { atom, cell, cord, list, type Noun } from "../../src/noun/index.ts";

export function parseNoun(text: string): Noun {
  let i = 0;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const tuple = (close: string, asList: boolean): Noun => {
    const items: Noun[] = [];
    skip();
    while (text[i] !== close) {
      items.push(one());
      skip();
    }
    i++;
    if (asList) return list(items);
    let out = items[items.length - 1];
    for (let k = items.length - 2; k >= 0; k--) out = cell(items[k], out);
    return out;
  };
  const one = (): Noun => {
    skip();
    const c = text[i];
    if (c === "[") {
      i++;
      return tuple("]", false);
    }
    if (text.startsWith("~[", i)) {
      i += 2;
      return tuple("]", true);
    }
    if (text.startsWith("%.y", i) || text.startsWith("%.n", i)) {
      i += 3;
      return text[i - 1] === "y" ? 0 : 1;
    }
    if (c === "~") {
      i++;
      return 0;
    }
    if (c === "%") {
      const m = /^%([a-z0-9-]*)/.exec(text.slice(i))!;
      i += m[0].length;
      return cord(m[1]);
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const s = text.slice(i + 1, end);
      i = end + 1;
      return cord(s);
    }
    if (c === "/") {
      const m = /^(\/[a-zA-Z0-9.-]+)+/.exec(text.slice(i))!;
      i += m[0].length;
      return list(m[0].slice(1).split("/").map((s) => cord(s)));
    }
    const m = /^(0x[0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i));
    if (!m) throw new Error(`Cannot read a noun at ${i} of ${text}`);
    i += m[0].length;
    return atom(BigInt(m[0]));
  };
  const n = one();
  skip();
  if (i !== text.length) throw new Error(`Trailing text at ${i} of ${text}`);
  return n;
}

/** A noun from the JSON of noun-vectors.json: atom = decimal string, cell = [head, tail]. */
export function nounFromJson(x: unknown): Noun {
  // Iterative over an explicit stack: some vectors nest deeper than is comfortable to recurse.
  type Frame = { node: unknown; head?: Noun; state: 0 | 1 | 2 };
  const stack: Frame[] = [{ node: x, state: 0 }];
  let result: Noun = 0;
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (typeof f.node === "string") {
      result = atom(BigInt(f.node));
      stack.pop();
    } else if (f.state === 0) {
      f.state = 1;
      stack.push({ node: (f.node as unknown[])[0], state: 0 });
      continue;
    } else if (f.state === 1) {
      f.head = result;
      f.state = 2;
      stack.push({ node: (f.node as unknown[])[1], state: 0 });
      continue;
    } else {
      result = cell(f.head!, result);
      stack.pop();
    }
  }
  return result;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}
