/**
 * A segment holds a file's bytes while it is committed: it is created 0600 (its creator's user
 * only) whatever the umask, in /dev/shm (shm_open) and in the test-only directory (open).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSegment, nextSegmentName, segmentPath } from "../../src/ffi/index.ts";
import { leftovers, TEST_NAMESPACE, trackSegments } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const track = trackSegments();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

test("a segment is created 0600 under umask 000, in /dev/shm and in another directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "plea-shm-mode-"));
  dirs.push(dir);
  const old = process.umask(0);
  try {
    const inShm = track(createSegment(nextSegmentName(TEST_NAMESPACE), 4096));
    const inDir = track(createSegment(nextSegmentName(TEST_NAMESPACE), 4096, { dir }));
    expect(statSync(segmentPath(inShm.name, "/dev/shm")).mode & 0o777).toBe(0o600);
    expect(statSync(segmentPath(inDir.name, dir)).mode & 0o777).toBe(0o600);
  } finally {
    process.umask(old);
  }
});
