/**
 * The small-file reader of a commit (src/urth/small-reads.ts): every file's bytes in its own slot,
 * read on two threads above READ_WORKER_FILES_MIN files, and a file that grew, shrank or cannot be
 * read reported as such (commitMount turns those into its errors).
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { READ_WORKER_FILES_MIN, SmallFileReader } from "../../src/urth/small-reads.ts";
import { cleanUp, pseudoRandomBytes, tempDir } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const readers: SmallFileReader[] = [];
afterEach(async () => {
  for (const r of readers.splice(0)) r.close();
  await cleanUp();
});

function reader(useWorker: boolean): SmallFileReader {
  const r = new SmallFileReader(useWorker);
  readers.push(r);
  return r;
}

/** `count` files of varied sizes (0 to 300 bytes) in `dir`, with their contents. */
function files(dir: string, count: number): { paths: string[]; contents: Uint8Array[] } {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  const contents: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = pseudoRandomBytes((i * 37) % 301, i + 1);
    const path = join(dir, `f${i}`);
    writeFileSync(path, bytes);
    paths.push(path);
    contents.push(bytes);
  }
  return { paths, contents };
}

describe("SmallFileReader", () => {
  for (const useWorker of [true, false]) {
    test(`reads every file into its own slot (${useWorker ? "two threads" : "one thread"})`, async () => {
      const { paths, contents } = files(tempDir(), READ_WORKER_FILES_MIN + 3);
      const r = reader(useWorker);
      expect(r.threaded).toBe(useWorker);
      const out = await r.read(paths, contents.map((c) => c.length));
      expect(out.length).toBe(paths.length);
      for (let i = 0; i < out.length; i++) {
        const o = out[i];
        if (!o.ok) throw new Error(`file ${i}: ${o.message}`);
        expect(o.bytes).toEqual(contents[i]);
        expect(o.bytes.byteOffset % 8).toBe(0);
      }
      // One buffer for all: no allocation per file.
      const first = out[0];
      const last = out[out.length - 1];
      if (first.ok && last.ok) expect(last.bytes.buffer).toBe(first.bytes.buffer);
    });
  }

  test("a file that grew reads one byte past its size, one that shrank short, one that is gone as an error, in either thread", async () => {
    const { paths, contents } = files(tempDir(), READ_WORKER_FILES_MIN + 10);
    const sizes = contents.map((c) => c.length);
    const last = paths.length - 1; // read by the worker
    writeFileSync(paths[1], new Uint8Array(sizes[1] + 50).fill(1));
    writeFileSync(paths[last], new Uint8Array(sizes[last] + 50).fill(1));
    writeFileSync(paths[2], new Uint8Array(3).fill(1));
    const gone = last - 1;
    const missing = join(tempDir(), "missing");
    const all = [...paths];
    all[gone] = missing;
    const out = await reader(true).read(all, sizes);
    const lengthOf = (i: number) => {
      const o = out[i];
      return o.ok ? o.bytes.length : -1;
    };
    expect(lengthOf(1)).toBe(sizes[1] + 1);
    expect(lengthOf(last)).toBe(sizes[last] + 1);
    expect(lengthOf(2)).toBe(3);
    expect(out[gone].ok).toBe(false);
    if (!out[gone].ok) expect(out[gone].message).toMatch(/ENOENT/);
    expect(lengthOf(0)).toBe(sizes[0]);
  });
});
