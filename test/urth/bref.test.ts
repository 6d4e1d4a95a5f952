/**
 * Blob references between real urth and mars processes (docs/ipc.md, "Plea extension: blob
 * references"): a file whose bytes the pier's blob store holds is sent as a reference, on the
 * pipe (a `%bref`) and through a plea segment (a blob-reference entry), so its bytes do not move
 * between the processes, and `urth cat` still reads it back byte for byte.
 *
 * The blob threshold is lowered (PLEA_BLOB_BYTES_MIN = 64 KiB) so the files are small; a file is
 * 256 KiB plus a little (above EAGER_FILE_BYTES_MAX, so urth makes it a file-backed atom).
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlobStore } from "../../src/blob/index.ts";
import { atomFromBytes, mug } from "../../src/noun/index.ts";
import { catSha256, cleanUp, fileSha256, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const ENV = { PLEA_BLOB_BYTES_MIN: String(64 * 1024) };
const LENGTH = 256 * 1024 + 123;

/** Bytes of a file whose last byte is nonzero (its atom is all of it). */
function fileBytes(seed: number): Uint8Array {
  const b = pseudoRandomBytes(LENGTH, seed);
  b[LENGTH - 1] |= 1;
  return b;
}

interface LogEntry {
  eve: number;
  path: string;
  jamBytes: number;
  detail?: Record<string, number | string>;
}

async function logOf(pier: string): Promise<LogEntry[]> {
  const r = await urth(["log", "--json", "--pier", pier], { env: ENV });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as LogEntry[];
}

describe("a file already in the blob store moves as a reference", () => {
  test("through the pipe (%bref) and through a plea segment, and reads back byte for byte", async () => {
    const { pier, mount } = tempPier();
    // mars holds the pier while the blobs are stored, as it would have stored them itself: its
    // start-up sweep is behind it, so the test's blobs stay.
    const run = await startRun(pier, [], { env: ENV });
    const store = new BlobStore(pier);
    const a = fileBytes(1);
    await store.put(a, mug(atomFromBytes(a)));
    writeFileSync(join(mount, "a.bin"), a);
    await run.waitForLine("stdout", /^event 1: /, "the first commit");
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);

    // A second run takes every poke through plea (threshold 0): the reference is a segment entry.
    const plea = await startRun(pier, ["--plea-threshold", "0"], { env: ENV });
    const b = fileBytes(2);
    await store.put(b, mug(atomFromBytes(b)));
    writeFileSync(join(mount, "b.bin"), b);
    await plea.waitForLine("stdout", /^event 2: /, "the plea commit");
    plea.proc.kill("SIGTERM");
    expect(await plea.exited()).toBe(0);

    const log = await logOf(pier);
    expect(log.map((e) => [e.eve, e.path, e.detail?.refs, e.detail?.refBytes])).toEqual([
      [1, "pipe", 1, LENGTH],
      [2, "plea", 1, LENGTH],
    ]);
    for (const [rel, bytes] of [
      ["a.bin", a],
      ["b.bin", b],
    ] as const) {
      const got = await catSha256(pier, rel);
      expect({ rel, code: got.code, bytes: got.bytes, sha256: got.sha256 }).toEqual({ rel, code: 0, bytes: LENGTH, sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex") });
    }
  });

  test("a file of a blob's length with other bytes is hashed and sent whole", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "first.bin"), fileBytes(3));
    expect((await urth(["commit", "--pier", pier], { env: ENV })).code).toBe(0);
    // The first commit stored its file as a blob; the second file has its length, not its bytes.
    writeFileSync(join(mount, "other.bin"), fileBytes(4));
    const c = await urth(["commit", "--json", "--pier", pier], { env: ENV });
    expect(c.code).toBe(0);
    const summary = JSON.parse(c.stdout);
    expect(summary).toMatchObject({ eve: 2, added: 1, blobs: { hashedFiles: 1, hashedBytes: LENGTH, refs: 0, refBytes: 0, marsRefs: 0 } });
    expect(summary.sentBytes).toBeGreaterThan(LENGTH);
    const got = await catSha256(pier, "other.bin");
    expect(got.sha256).toBe(await fileSha256(join(mount, "other.bin")));
  });
});

describe("a byte-identical re-commit", () => {
  test("after touch, the next commit sends a reference (a %bref, or a segment's entry through plea): the bytes stay put, and cat is byte-exact", async () => {
    const { pier, mount } = tempPier();
    const path = join(mount, "big.bin");
    const bytes = fileBytes(5);
    writeFileSync(path, bytes);
    const first = await urth(["commit", "--json", "--pier", pier], { env: ENV });
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one).toMatchObject({ eve: 1, path: "pipe", blobs: { refs: 0, marsRefs: 0 } });
    expect(one.sentBytes).toBeGreaterThan(LENGTH);

    // touch: same bytes, a new mtime, so urth sees a change and commits the file again.
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    const second = await urth(["commit", "--json", "--pier", pier], { env: ENV });
    expect(second.code).toBe(0);
    const two = JSON.parse(second.stdout);
    expect(two).toMatchObject({ eve: 2, path: "pipe", changed: 1, blobs: { hashedFiles: 1, hashedBytes: LENGTH, refs: 1, refBytes: LENGTH, marsRefs: 1, marsRefBytes: LENGTH } });
    // What went to mars is the event without the file: a few hundred bytes.
    expect(two.sentBytes).toBeLessThan(4096);
    expect(two.blobs.hashMs).toBeGreaterThan(0);

    // Through plea (threshold 0): the segment holds a reference entry, not the file.
    utimesSync(path, new Date(), new Date(Date.now() + 20_000));
    const third = await urth(["commit", "--json", "--plea-threshold", "0", "--pier", pier], { env: ENV });
    expect(third.code).toBe(0);
    const three = JSON.parse(third.stdout);
    expect(three).toMatchObject({ eve: 3, path: "plea", changed: 1, blobs: { refs: 1, refBytes: LENGTH, marsRefs: 1, marsRefBytes: LENGTH } });
    expect(three.sentBytes).toBeLessThan(4096);

    // One blob for the three commits of the same bytes.
    expect(new BlobStore(pier).list().length).toBe(1);
    const got = await catSha256(pier, "big.bin");
    expect({ code: got.code, bytes: got.bytes, sha256: got.sha256 }).toEqual({ code: 0, bytes: LENGTH, sha256: await fileSha256(path) });
  });
});
