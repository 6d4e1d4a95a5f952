/**
 * Child program for segment.test.ts: the filler side (urth). Builds the noun named by
 * KIND and SEED, opens the segment its parent created for writing, writes the noun with
 * writeShm and prints the bytes written.
 * Usage: bun segment-fixture.ts NAME LENGTH WINDOW_BYTES KIND SEED
 */
import { openSegment } from "../../../src/ffi/index.ts";
import { writeShm } from "../../../src/noun/index.ts";
import { fixtureNoun } from "./flat-test-support.ts";

const [name, length, windowBytes, kind, seed] = process.argv.slice(2);
const noun = fixtureNoun(kind, Number(seed));
const segment = openSegment(name, { mode: "write", length: Number(length), windowBytes: Number(windowBytes) });
try {
  console.log(`wrote ${writeShm(noun, segment)}`);
} finally {
  segment.close();
}
