/**
 * copy_file_range with its buffered fallback (src/ffi/file-range.ts): the bytes arrive whole
 * whichever way they go, the file offsets advance, and a copy the kernel refuses (here: from a
 * tmpfs to the disk, which many kernels refuse with EXDEV) falls back instead of failing.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyRange, startWriteback, type CopyMethod } from "../../src/ffi/file-range.ts";
import { pseudoRandomBytes } from "../support/prng.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function tempDir(under = tmpdir()): string {
  const d = mkdtempSync(join(under, "plea-file-range-"));
  dirs.push(d);
  return d;
}

/** Copies `src` to a new file `dst` in pieces of `piece` bytes; returns the method it ended with. */
function copyAll(src: string, dst: string, size: number, piece: number, start: CopyMethod): CopyMethod {
  const fi = openSync(src, "r");
  const fo = openSync(dst, "wx", 0o600);
  const state: { method: CopyMethod; buffer?: Uint8Array } = { method: start };
  try {
    for (let done = 0; done < size; ) {
      const n = copyRange(fi, fo, Math.min(piece, size - done), state, "test");
      expect(n).toBeGreaterThan(0);
      startWriteback(fo, done, n);
      done += n;
    }
    expect(copyRange(fi, fo, 100, state, "test")).toBe(0); // the end of the input
  } finally {
    closeSync(fi);
    closeSync(fo);
  }
  return state.method;
}

describe("copyRange", () => {
  const bytes = pseudoRandomBytes(9 * 1024 * 1024 + 5, 11);

  test("in the kernel and through a buffer, the copy is byte for byte", () => {
    const d = tempDir();
    writeFileSync(join(d, "in"), bytes);
    for (const start of ["kernel", "buffered"] as const) {
      const out = join(d, `out-${start}`);
      const method = copyAll(join(d, "in"), out, bytes.length, 3 * 1024 * 1024 + 1, start);
      if (start === "buffered") expect(method).toBe("buffered");
      expect(Buffer.compare(readFileSync(out), bytes)).toBe(0);
    }
  });

  test("from /dev/shm to the disk, refused or not by the kernel, the copy is whole", () => {
    const shm = tempDir("/dev/shm");
    const disk = tempDir();
    writeFileSync(join(shm, "in"), bytes);
    const method = copyAll(join(shm, "in"), join(disk, "out"), bytes.length, 4 * 1024 * 1024, "kernel");
    console.log(`copy_file_range from tmpfs to ${disk}: ended ${method}`);
    expect(Buffer.compare(readFileSync(join(disk, "out")), bytes)).toBe(0);
  });
});
