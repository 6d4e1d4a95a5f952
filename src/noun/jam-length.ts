/**
 * jamLength: the byte length of `jam(n)` without making it. The frame writer needs it before a
 * streamed frame's first byte (a newt header carries the body's length). It runs jam's own
 * encoder (same dictionary, same backreference choices, so the same length) against a counter:
 * no bits are stored, and file-backed atoms are not read beyond their last byte.
 *
 * `measureJam` also records the dictionary's answers as a plan, so the jam that follows
 * (`jamToSink(n, sink, chunkBytes, plan)`) skips the hashing and probing that dominate a noun of
 * many small parts: the length pass of a commit of 100,000 files took about as long as the jam.
 */
import { BitCounter } from "./bit-counter.ts";
import { JamEncoder, type JamPlan, type JamRefs } from "./jam-encoder.ts";
import type { Noun } from "./noun.ts";

/** With `refs`, the length of the jam with refs (whose table it fills, as `jam` would). */
export function jamLength<R>(n: Noun, refs?: JamRefs<R>): number {
  return measure(n, false, refs).bytes;
}

/** A jam's length in bytes and, unless the noun was too big to plan, the plan for jamming it. */
export interface JamMeasure {
  readonly bytes: number;
  readonly plan: JamPlan | undefined;
}

/** The jam's length and, unless the noun is too big to plan, the plan for jamming it. */
export function measureJam<R>(n: Noun, refs?: JamRefs<R>): JamMeasure {
  return measure(n, true, refs);
}

function measure<R>(n: Noun, record: boolean, refs: JamRefs<R> | undefined): JamMeasure {
  const encoder = new JamEncoder(n, undefined, { record, refs });
  const counter = new BitCounter();
  try {
    encoder.run(counter);
    return { bytes: Math.ceil(counter.position / 8), plan: encoder.plan };
  } finally {
    encoder.close();
  }
}

/**
 * `measureJam` in steps of at most `tokensPerStep` nouns, awaiting `pause()` between steps: a
 * length pass over a large state that lets the caller's other work run meanwhile (mars's timed
 * snapshot, docs/event-log.md "Snapshot policy"). The noun must not change meanwhile (nouns are
 * immutable; an atom may change where its bytes live, not its value). Same result as `measureJam`.
 */
export async function measureJamInSteps<R>(n: Noun, refs: JamRefs<R> | undefined, tokensPerStep: number, pause: () => Promise<void>): Promise<JamMeasure> {
  const encoder = new JamEncoder(n, undefined, { record: true, refs });
  const counter = new BitCounter();
  try {
    for (;;) {
      encoder.run(counter, tokensPerStep);
      if (encoder.done) return { bytes: Math.ceil(counter.position / 8), plan: encoder.plan };
      await pause();
    }
  } finally {
    encoder.close();
  }
}
