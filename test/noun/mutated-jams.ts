/**
 * Inputs for the differential cue fuzz (vere-peer.test.ts): jams of random nouns, mutated the
 * ways a damaged or hostile input differs from a good one, and jams forged token by token with
 * backreferences to places a real jam never points at.
 */
import { type BigAtom, isCell, jam, metBits, toBigInt, type Noun } from "../../src/noun/index.ts";
import { Bits } from "./bit-builder.ts";
import type { Rng } from "./random-nouns.ts";

export type MutationKind = "bit flips" | "truncation" | "appended bytes" | "forged backreferences" | "non-minimal lengths" | "random bytes";

export interface MutatedJam {
  kind: MutationKind;
  bytes: Uint8Array;
}

/** One input derived from `source` (or, for "random bytes", from nothing), of the given kind. */
export function mutatedJam(rng: Rng, kind: MutationKind, source: Noun): MutatedJam {
  switch (kind) {
    case "bit flips": {
      const bytes = jam(source).slice();
      for (let k = 1 + rng.int(4); k > 0; k--) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      return { kind, bytes };
    }
    case "truncation": {
      const j = jam(source);
      // Mostly inside the noun; sometimes also with the bits after the cut cleared, so that a
      // reader that runs on past the end finds exactly the zeros it would invent.
      const cut = rng.int(j.length);
      const bytes = j.slice(0, cut);
      if (cut > 0 && rng.chance(0.3)) bytes[cut - 1] &= (1 << rng.int(8)) - 1;
      return { kind, bytes };
    }
    case "appended bytes": {
      const j = jam(source);
      const extra = rng.chance(0.5) ? rng.bytes(1 + rng.int(16)) : new Uint8Array(1 + rng.int(16));
      const bytes = new Uint8Array(j.length + extra.length);
      bytes.set(j);
      bytes.set(extra, j.length);
      return { kind, bytes };
    }
    case "forged backreferences":
      return { kind, bytes: forge(rng, source, 0.2, 0) };
    case "non-minimal lengths":
      return { kind, bytes: forge(rng, source, 0.03, 0.4) };
    case "random bytes":
      return { kind, bytes: rng.bytes(rng.int(48)) };
  }
}

/**
 * A jam of `noun` written token by token without the encoder's choices: no backreference where
 * jam would make one, but with probability `backrefChance` a backreference instead of any noun,
 * to an earlier noun (what jam would do), an ancestor still open, a backreference, a random
 * earlier offset or a later one; with probability `wideChance` an atom written in more bits than
 * it needs (up to 80 more, so small values cross vere's 62-bit direct-atom line).
 */
export function forge(rng: Rng, noun: Noun, backrefChance: number, wideChance: number): Uint8Array {
  const bits = new Bits();
  const finished: number[] = [];
  const open: number[] = [];
  const backrefs: number[] = [];
  const stack: ({ noun: Noun } | { close: number })[] = [{ noun }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ("close" in item) {
      open.pop();
      finished.push(item.close);
      continue;
    }
    const at = bits.length;
    const root = at === 0;
    if (rng.chance(root ? backrefChance / 10 : backrefChance)) {
      const r = rng.next() / 4294967296;
      let target: number;
      if (r < 0.4 && finished.length > 0) target = finished[rng.int(finished.length)];
      else if (r < 0.55 && open.length > 0) target = open[rng.int(open.length)];
      else if (r < 0.65 && backrefs.length > 0) target = backrefs[rng.int(backrefs.length)];
      else if (r < 0.9) target = rng.int(at + 1);
      else target = at + 1 + rng.int(200);
      bits.backref(target);
      backrefs.push(at);
      continue;
    }
    const n = item.noun;
    if (isCell(n)) {
      bits.cell();
      open.push(at);
      stack.push({ close: at }, { noun: n.tail }, { noun: n.head });
      continue;
    }
    const a = n as number | BigAtom; // random nouns hold no file-backed atoms
    const width = rng.chance(wideChance) ? metBits(a) + 1 + rng.int(80) : undefined;
    bits.atom(toBigInt(a), width);
    finished.push(at);
  }
  return bits.bytes();
}
