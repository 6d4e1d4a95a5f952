/**
 * The raw format through a real shared-memory segment between two processes: the parent (mars)
 * creates the segment, a child (urth) fills it with writeShm through its own "write" mapping,
 * and the parent decodes it zero-copy through a private "read" mapping.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { createSegment, namespaceForPier, nextSegmentName, openSegment, PAGE_BYTES, type Segment } from "../../../src/ffi/index.ts";
import { BigAtom, type Cell, readShm, shmSize } from "../../../src/noun/index.ts";
import { fixtureNoun } from "./flat-test-support.ts";
import { equals } from "../../../src/noun/equals.ts";
import { TEST_TIMEOUT_MS } from "../../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** bunfig's test timeout is not applied by Bun 1.4.5 (default 5 s): slow cases set their own. */
const SLOW_TEST_MS = 60_000;

const FIXTURE = join(import.meta.dir, "segment-fixture.ts");
const NAMESPACE = namespaceForPier(`/plea-test/shm-format/${process.pid}/${Date.now()}`);

const segments: Segment[] = [];

/** Every segment goes through here, so afterEach closes and removes it even on failure. */
function track(segment: Segment): Segment {
  segments.push(segment);
  return segment;
}

afterEach(() => {
  for (const segment of segments.splice(0)) {
    segment.close();
    segment.unlink();
  }
});

async function fill(name: string, length: number, windowBytes: number, kind: string, seed: number) {
  const proc = Bun.spawn([process.execPath, FIXTURE, name, String(length), String(windowBytes), kind, String(seed)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  return { exitCode: proc.exitCode, stdout, stderr };
}

/** Sends the fixture noun through a segment; returns the decoded noun and the reader segment. */
async function roundTrip(kind: string, seed: number, windowBytes: number) {
  const noun = fixtureNoun(kind, seed);
  const length = shmSize(noun);
  const name = nextSegmentName(NAMESPACE);
  track(createSegment(name, length, { windowBytes }));
  const result = await fill(name, length, windowBytes, kind, seed);
  expect(result).toEqual({ exitCode: 0, stdout: `wrote ${length}\n`, stderr: "" });
  const reader = track(openSegment(name, { mode: "read", length, windowBytes }));
  // As mars does: unlink at once; the mapping stays valid.
  reader.unlink();
  const back = readShm(reader, { zeroCopy: true, owner: reader });
  return { noun, back, reader, length };
}

describe("the raw format between two processes", () => {
  test("a random DAG with a large atom crosses a segment of page-sized windows intact", async () => {
    const { noun, back, reader, length } = await roundTrip("random", 42, PAGE_BYTES);
    expect(reader.windows.length).toBe(Math.ceil(length / PAGE_BYTES));
    expect(equals(back, noun)).toBe(true);
    // The 3 MiB atom crosses window borders: it is still a view, of its own span of the mapping
    // (Segment.view), owned by the reader and detached when the reader closes.
    const big = ((back as Cell).tail as Cell).head as BigAtom;
    expect(big.bytes.length).toBe(3 * 1024 * 1024 + 5);
    expect(big.owner).toBe(reader);
    expect(reader.windows.some((w) => w.buffer === big.bytes.buffer)).toBe(false);
    reader.close();
    expect(big.bytes.length).toBe(0);
  }, SLOW_TEST_MS);

  test("zero-copy atoms are views into the reader's mapping and die with it", async () => {
    const { noun, back, reader } = await roundTrip("random", 7, 2 ** 32);
    expect(reader.windows.length).toBe(1);
    expect(equals(back, noun)).toBe(true);
    const big = ((back as Cell).tail as Cell).head as BigAtom;
    expect(big.owner).toBe(reader);
    expect(big.bytes.buffer).toBe(reader.windows[0].buffer);
    expect(big.bytes.byteOffset % 4096).toBe(0); // page-aligned in the mapping
    // Closing the mapping detaches every view: the caller must keep it open while nouns use it.
    reader.close();
    expect(big.bytes.length).toBe(0);
  }, SLOW_TEST_MS);

  test("a 1,000,000-item list and a 1,000,000-deep tree cross a segment intact", async () => {
    for (const kind of ["list", "deep"]) {
      const { noun, back } = await roundTrip(kind, 1, 2 ** 32);
      expect(equals(back, noun)).toBe(true);
    }
  }, SLOW_TEST_MS);
});
