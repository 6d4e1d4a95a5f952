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
import { closeSync, openSync, readdirSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BlobStore } from "../../src/blob/index.ts";
import { atomFromBytes, mug } from "../../src/noun/index.ts";
import { catSha256, childrenOf, cleanUp, fileSha256, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const ENV = { PLEA_BLOB_BYTES_MIN: String(64 * 1024) };
const LENGTH = 256 * 1024 + 123;
/** The file's bytes go to mars, which stores the blob itself (what these tests start from). */
const NO_STAGING = ["--stage-threshold", "1T"];

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

/** `urth cat` of each file gives exactly its bytes (LENGTH of them), compared by hash as it streams. */
async function expectCatOf(pier: string, files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<void> {
  for (const [rel, bytes] of files) {
    const got = await catSha256(pier, rel);
    expect({ rel, code: got.code, bytes: got.bytes, sha256: got.sha256 }).toEqual({ rel, code: 0, bytes: LENGTH, sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex") });
  }
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
    await expectCatOf(pier, [
      ["a.bin", a],
      ["b.bin", b],
    ]);
  });

  test("a file of a blob's length with other bytes is hashed and sent whole", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "first.bin"), fileBytes(3));
    expect((await urth(["commit", ...NO_STAGING, "--pier", pier], { env: ENV })).code).toBe(0);
    // The first commit stored its file as a blob; the second file has its length, not its bytes.
    writeFileSync(join(mount, "other.bin"), fileBytes(4));
    const c = await urth(["commit", "--json", ...NO_STAGING, "--pier", pier], { env: ENV });
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
    const first = await urth(["commit", "--json", ...NO_STAGING, "--pier", pier], { env: ENV });
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one).toMatchObject({ eve: 1, path: "pipe", blobs: { refs: 0, marsRefs: 0 } });
    expect(one.sentBytes).toBeGreaterThan(LENGTH);

    // touch: same bytes, a new mtime, so urth sees a change and commits the file again.
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    const second = await urth(["commit", "--json", ...NO_STAGING, "--pier", pier], { env: ENV });
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

describe("a new large file is staged by urth (docs/blob-store.md, \"Staged by urth\")", () => {
  test("its bytes never go to mars: the pipe and the plea carry a reference, mars installs the blob, cat and verify agree", async () => {
    const { pier, mount } = tempPier();
    const a = fileBytes(7);
    writeFileSync(join(mount, "a.bin"), a);
    const first = await urth(["commit", "--json", "--pier", pier], { env: ENV });
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one).toMatchObject({ eve: 1, path: "pipe", added: 1, blobs: { refs: 0, marsRefs: 1, marsRefBytes: LENGTH }, staged: { files: 1, bytes: LENGTH } });
    expect(one.sentBytes).toBeLessThan(4096);
    expect(one.phases.stageCopyMs).toBeGreaterThan(0);

    // Through plea: the segment holds the staged blob's reference entry.
    const b = fileBytes(8);
    writeFileSync(join(mount, "b.bin"), b);
    const second = await urth(["commit", "--json", "--plea-threshold", "0", "--stage-threshold", "64K", "--pier", pier], { env: ENV });
    expect(second.code).toBe(0);
    const two = JSON.parse(second.stdout);
    expect(two).toMatchObject({ eve: 2, path: "plea", blobs: { marsRefs: 1 }, staged: { files: 1, bytes: LENGTH } });
    expect(two.sentBytes).toBeLessThan(4096);

    // Each blob installed once, nothing left staged, every byte where the log says.
    const store = new BlobStore(pier);
    expect(store.list().length).toBe(2);
    expect(readdirSync(store.paths.staging)).toEqual([]);
    await expectCatOf(pier, [
      ["a.bin", a],
      ["b.bin", b],
    ]);
    expect((await urth(["verify", "--pier", pier], { env: ENV })).code).toBe(0);
    expect((await logOf(pier)).map((e) => [e.eve, e.path, e.detail?.refs])).toEqual([
      [1, "pipe", 1],
      [2, "plea", 1],
    ]);
  });

  test("a mars refusal (a damaged staged blob) fails the commit, names the blob, leaves nothing staged; the next commit succeeds", async () => {
    const { pier, mount } = tempPier();
    const run = await startRun(pier, ["--debounce", "50"], { env: ENV });
    let mars: number | undefined;
    await waitFor(() => (mars = childrenOf(run.proc.pid)[0]) !== undefined, "urth run's mars");
    // mars stopped: urth stages b.bin and waits; the staged blob's footer is damaged meanwhile.
    process.kill(mars!, "SIGSTOP");
    try {
      writeFileSync(join(mount, "b.bin"), fileBytes(10));
      const staging = join(pier, ".urb/bob/stg");
      let staged: string | undefined;
      await waitFor(() => (staged = readdirSync(staging).find((n) => n.endsWith(".staged"))) !== undefined, "the staged blob");
      const fd = openSync(join(staging, staged!), "r+");
      writeSync(fd, new Uint8Array([0xff]), 0, 1, statSync(join(staging, staged!)).size - 20); // the footer's digest
      closeSync(fd);
    } finally {
      process.kill(mars!, "SIGCONT");
    }
    const line = await run.waitForLine("stderr", /commit failed|rejected/, "the refused commit");
    expect(run.stderrLines.join("\n")).toContain("footer");
    expect(line).toBeDefined();
    expect(readdirSync(join(pier, ".urb/bob/stg"))).toEqual([]);
    expect(new BlobStore(pier).list()).toEqual([]);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
    // The next commit stages the file again and succeeds.
    const again = await urth(["commit", "--pier", pier], { env: ENV });
    expect(again.code).toBe(0);
    const got = await catSha256(pier, "b.bin");
    expect(got.sha256).toBe(await fileSha256(join(mount, "b.bin")));
  });
});

