/**
 * The `%into` event of vere's Unix mount, noun for noun (docs/mount.md, "The event"):
 *
 *   [%poke 0 [[%c %sync '0v…' ~] [%into desk all can]]]
 *   can = (list [path (unit mime)]),  mime = [[%text %plain ~] len=@ud data=@]
 *
 * A change carries `[path ~ mime]`; a deletion `[path ~]`. The mime is always /text/plain, as
 * vere sends it: Clay picks the mark from the path's extension, not from this field.
 */
import { pathToNoun as pathNoun } from "../ipc/shape.ts";
import { cell, cord, list, tuple, type Noun } from "../noun/index.ts";

export type IntoChange =
  | { kind: "put"; path: readonly string[]; length: number; data: Noun }
  | { kind: "del"; path: readonly string[] };

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

/** `/text/plain`, built once: every mime of an `%into` shares it. */
const TEXT_PLAIN: Noun = pathNoun(["text", "plain"]);

/** The ovum `[[%c %sync '0v…' ~] [%into desk all can]]`; `syncId` is vere's `sev_l`. */
export function intoOvum(desk: string, changes: readonly IntoChange[], syncId: number, all = false): Noun {
  const wire = pathNoun(["c", "sync", scotUv(syncId)]);
  const can = list(
    changes.map((c) =>
      c.kind === "del"
        ? cell(pathNoun(c.path), 0)
        : cell(pathNoun(c.path), cell(0, tuple(TEXT_PLAIN, c.length, c.data))),
    ),
  );
  // `all` is a loobean: %.y = 0, %.n = 1.
  return cell(wire, tuple(cord("into"), cord(desk), all ? 0 : 1, can));
}
