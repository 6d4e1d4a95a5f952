/**
 * mars releases a plea's mapping as soon as the event is durable, seen from outside through
 * /proc/<mars pid>/maps, for both kinds of segment: the segment is removed at once (a named one's
 * name is unlinked, a memfd's descriptor closed), and once the event is durable its large atom
 * lives in the blob store (mapped again only while something reads it) and every other view is
 * copied to the heap, so no segment stays mapped after the reply (docs/blob-store.md, "In mars").
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isBlobName } from "../../src/blob/index.ts";
import { listMemfdSegments, listSegments } from "../../src/ffi/index.ts";
import { atomFromBytes, equals } from "../../src/noun/index.ts";
import { readFile } from "../../src/urth/peeks.ts";
import type { MarsProcess } from "../../src/urth/mars-process.ts";
import { cleanUp, leftoverSegments, MIB, ovum, pseudoRandomBytes, segmentMappings, startMars, tempPier, TEST_TIMEOUT_MS, waitUntil } from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

/** The distinct segment names mars has mapped, from its /proc maps. */
function mappedSegments(pid: number, namespace: string): string[] {
  const names = new Set<string>();
  for (const line of segmentMappings(pid, namespace)) {
    expect(line).toEndWith("(deleted)");
    names.add(/\/(?:memfd:)?(plea-[a-z0-9-]+)/.exec(line)![1]);
  }
  return [...names];
}

async function openMappings(mars: MarsProcess): Promise<number> {
  const g = await mars.ask({ type: "quiz", kind: "quic" });
  if (g.type !== "quiz" || g.kind !== "quic") throw new Error(`unexpected reply ${g.type}`);
  return g.open;
}

/** Lines of mars's /proc maps that map a file of the pier's blob store. */
function blobMappings(pid: number, pier: string): string[] {
  return readFileSync(`/proc/${pid}/maps`, "utf8")
    .split("\n")
    .filter((l) => l.includes(`${pier}/.urb/bob/`));
}

describe.each(["named", "memfd"] as const)("the lifetime of a mapping in mars, %s segments", (kind) => {
  test(
    "a plea's mapping goes once its event is durable: the large atom reads back from its blob, and nothing of the segment stays mapped",
    async () => {
      const { pier, namespace } = tempPier();
      const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
      const first = pseudoRandomBytes(4 * MIB, 1);
      const r1 = await mars.poke(ovum([{ path: "/big/bin", bytes: first }, { path: "/small/txt", bytes: new TextEncoder().encode("x") }]));
      expect(r1).toMatchObject({ ok: true, path: "plea", eve: 1 });
      expect(listSegments(namespace)).toEqual([]);
      expect(listMemfdSegments(mars.pid, namespace)).toEqual([]);
      await waitUntil(() => mappedSegments(mars.pid, namespace).length === 0, "mars to unmap the segment of a durable event");
      expect(await openMappings(mars)).toBe(0);
      // The file's bytes are in the store, byte-exact, read through a mapping of the blob.
      expect(readdirSync(join(pier, ".urb/bob")).filter(isBlobName)).toHaveLength(1);
      expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes(first))).toBe(true);

      // A plea that replaces the file: again no segment stays, and both versions are blobs.
      const second = pseudoRandomBytes(3 * MIB, 2);
      expect(await mars.poke(ovum([{ path: "/big/bin", bytes: second }]))).toMatchObject({ path: "plea", eve: 2 });
      await waitUntil(() => mappedSegments(mars.pid, namespace).length === 0, "mars to unmap the second segment");
      expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes(second))).toBe(true);
      expect(readdirSync(join(pier, ".urb/bob")).filter(isBlobName)).toHaveLength(2);
      expect(blobMappings(mars.pid, pier).every((l) => !l.includes("(deleted)"))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "atoms under the blob threshold are copied to the heap once durable, so the segment goes too",
    async () => {
      const { pier, namespace } = tempPier();
      const saved = process.env.PLEA_BLOB_BYTES_MIN;
      process.env.PLEA_BLOB_BYTES_MIN = String(64 * MIB);
      let started;
      try {
        started = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
      } finally {
        if (saved === undefined) delete process.env.PLEA_BLOB_BYTES_MIN;
        else process.env.PLEA_BLOB_BYTES_MIN = saved;
      }
      const { mars } = started;
      const bytes = pseudoRandomBytes(4 * MIB, 3);
      expect(await mars.poke(ovum([{ path: "/big/bin", bytes }]))).toMatchObject({ ok: true, path: "plea", eve: 1 });
      await waitUntil(() => mappedSegments(mars.pid, namespace).length === 0, "mars to unmap the segment of a durable event");
      expect(await openMappings(mars)).toBe(0);
      expect(existsSync(join(pier, ".urb/bob")) ? readdirSync(join(pier, ".urb/bob")).filter(isBlobName) : []).toEqual([]);
      expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes(bytes))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
