/**
 * readBlobPieces (src/blob/blob-pieces.ts): a blob's bytes in checked slices with plain reads, as
 * `cat` streams a large file from the read view; a flipped byte or a short file is a typed error.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { openSync, closeSync, readSync, writeSync, truncateSync, statSync } from "node:fs";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError } from "../../src/error.ts";
import { BLOB_PIECE_BYTES, BlobErrorCode, BlobStore, readBlobPieces } from "../../src/blob/index.ts";
import { mug, atomFromBytes } from "../../src/noun/index.ts";
import { atomBytes, removeTempPiers, tempPier } from "./blob-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(removeTempPiers);

/** Two whole pieces and part of a third: slices cross no piece boundary unchecked. */
const BYTES = 2 * BLOB_PIECE_BYTES + 12345;

async function stored() {
  const store = new BlobStore(tempPier());
  const bytes = atomBytes(BYTES, 42);
  const { ref } = await store.put(bytes, mug(atomFromBytes(bytes)));
  return { store, bytes, ref, path: store.pathOf(ref.name) };
}

function readAll(path: string, name: string, byteLength: number, slice: number): Uint8Array[] {
  return [...readBlobPieces(path, name, byteLength, slice)];
}

describe("readBlobPieces", () => {
  test("yields the blob's bytes in slices of at most the size asked", async () => {
    const { bytes, ref, path } = await stored();
    const slices = readAll(path, ref.name, ref.byteLength, 1_000_000);
    expect(Math.max(...slices.map((s) => s.length))).toBeLessThanOrEqual(1_000_000);
    expect(Buffer.concat(slices).equals(Buffer.from(bytes))).toBe(true);
  });

  test("a flipped byte in any piece is blob_piece, and no slice of that piece goes out", async () => {
    for (const at of [0, BLOB_PIECE_BYTES + 7, BYTES - 1]) {
      const { ref, path } = await stored();
      const fd = openSync(path, "r+");
      const one = new Uint8Array(1);
      readSync(fd, one, 0, 1, at);
      one[0] ^= 0x10;
      writeSync(fd, one, 0, 1, at);
      closeSync(fd);
      const out: Uint8Array[] = [];
      let caught: unknown;
      try {
        for (const s of readBlobPieces(path, ref.name, ref.byteLength, 1 << 20)) out.push(s);
      } catch (e) {
        caught = e;
      }
      expect(isPleaError(caught, BlobErrorCode.damaged.piece)).toBe(true);
      expect((caught as Error).message).toContain(path);
      // Only the pieces before the damaged one were handed out.
      expect(out.reduce((n, s) => n + s.length, 0)).toBe(Math.floor(at / BLOB_PIECE_BYTES) * BLOB_PIECE_BYTES);
    }
  });

  test("a truncated blob is blob_size before any byte is read; a missing one is blob_missing", async () => {
    const { ref, path } = await stored();
    truncateSync(path, statSync(path).size - 1);
    expect(() => readAll(path, ref.name, ref.byteLength, 1 << 20)).toThrow(/truncated/);
    try {
      readAll(path, ref.name, ref.byteLength, 1 << 20);
      expect.unreachable();
    } catch (e) {
      expect(isPleaError(e, BlobErrorCode.size)).toBe(true);
    }
    try {
      readAll(`${path}-gone`, ref.name, ref.byteLength, 1 << 20);
      expect.unreachable();
    } catch (e) {
      expect(isPleaError(e, BlobErrorCode.missing)).toBe(true);
    }
  });
});
