/**
 * mars keeps a plea's mapping exactly as long as its state holds zero-copy views into it, seen
 * from outside through /proc/<mars pid>/maps, for both kinds of segment: the segment is removed at
 * once (a named one's name is unlinked, a memfd's descriptor closed; the mapping shows as
 * "(deleted)"), and the mapping goes when the event that replaces or deletes the file is committed.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
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

describe.each(["named", "memfd"] as const)("the lifetime of a mapping in mars, %s segments", (kind) => {
  test(
    "a plea's mapping lives while the state references its large atom and is released when a later event replaces or deletes the file",
    async () => {
      const { pier, namespace } = tempPier();
      const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
      const first = pseudoRandomBytes(4 * MIB, 1);
      const r1 = await mars.poke(ovum([{ path: "/big/bin", bytes: first }, { path: "/small/txt", bytes: new TextEncoder().encode("x") }]));
      expect(r1).toMatchObject({ ok: true, path: "plea", eve: 1 });
      // The name is gone from /dev/shm at once (a memfd's descriptor closed); the pages live on in
      // mars's mapping.
      expect(listSegments(namespace)).toEqual([]);
      expect(listMemfdSegments(mars.pid, namespace)).toEqual([]);
      const [firstSegment, ...others] = mappedSegments(mars.pid, namespace);
      expect(others).toEqual([]);
      expect(firstSegment).toBeDefined();
      expect(await openMappings(mars)).toBe(1);

      // An event through the pipe that leaves the large file alone keeps the mapping.
      expect(await mars.poke(ovum([{ path: "/small/txt", bytes: new TextEncoder().encode("y") }]))).toMatchObject({ path: "pipe", eve: 2 });
      expect(mappedSegments(mars.pid, namespace)).toEqual([firstSegment]);
      expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes(first))).toBe(true);

      // A plea that replaces the file: the new segment's mapping stays, the old one goes.
      const second = pseudoRandomBytes(3 * MIB, 2);
      expect(await mars.poke(ovum([{ path: "/big/bin", bytes: second }]))).toMatchObject({ path: "plea", eve: 3 });
      await waitUntil(() => !mappedSegments(mars.pid, namespace).includes(firstSegment), "mars to unmap the replaced file's segment");
      const [secondSegment, ...more] = mappedSegments(mars.pid, namespace);
      expect(more).toEqual([]);
      expect(secondSegment).not.toBe(firstSegment);
      expect(await openMappings(mars)).toBe(1);

      // A pipe event deleting the file releases the last mapping.
      expect(await mars.poke(ovum([{ path: "/big/bin", delete: true }]))).toMatchObject({ path: "pipe", eve: 4 });
      await waitUntil(() => mappedSegments(mars.pid, namespace).length === 0, "mars to unmap the deleted file's segment");
      expect(await openMappings(mars)).toBe(0);
      expect(await readFile(mars, ["big", "bin"])).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});
