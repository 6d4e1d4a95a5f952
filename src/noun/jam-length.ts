/**
 * jamLength: the byte length of `jam(n)` without making it. The frame writer needs it before a
 * streamed frame's first byte (a newt header carries the body's length). It runs jam's own
 * encoder (same dictionary, same backreference choices, so the same length) against a counter:
 * no bits are stored, and file-backed atoms are not read beyond their last byte.
 */
import { BitCounter } from "./bit-counter.ts";
import { JamEncoder } from "./jam-encoder.ts";
import type { Noun } from "./noun.ts";

export function jamLength(n: Noun): number {
  const encoder = new JamEncoder(n);
  const counter = new BitCounter();
  try {
    encoder.run(counter);
    return Math.ceil(counter.position / 8);
  } finally {
    encoder.close();
  }
}
