/**
 * A memfd segment is sealed against shrinking for its whole life in a real plea: another process
 * of the same user that finds it among mars's descriptors while urth fills it, and truncates it,
 * gets EPERM; urth and mars take no SIGBUS, and the event commits whole. (A named segment has no
 * such protection: test/ffi/shm-lifetime.test.ts pins that a truncation under a mapping is SIGBUS.)
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { listMemfdSegments, memfdPath } from "../../src/ffi/index.ts";
import { atomFromBytes, equals } from "../../src/noun/index.ts";
import type { PokeProgress } from "../../src/urth/mars-process.ts";
import { readFile } from "../../src/urth/peeks.ts";
import { cleanUp, leftoverSegments, MIB, ovum, pseudoRandomBytes, startMars, tempPier, TEST_TIMEOUT_MS } from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

test(
  "a peer that truncates mars's memfd while urth fills it gets EPERM, and the event commits whole with neither process killed",
  async () => {
    const { pier, namespace } = tempPier();
    const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: "memfd" });
    const bytes = pseudoRandomBytes(8 * MIB, 3);
    const attempts: string[] = [];
    const onProgress = (p: PokeProgress) => {
      if (p.phase !== "filling" || attempts.length > 0) return;
      // The peer: this test process, as any process of the user could, through /proc.
      const [segment] = listMemfdSegments(mars.pid, namespace);
      const fd = openSync(memfdPath(mars.pid, segment.fd), "r+");
      try {
        for (const [what, size] of [["shrink to 0", 0], ["shrink to a page", 4096], ["grow by a page", segment.bytes + 4096]] as const) {
          try {
            ftruncateSync(fd, size);
            attempts.push(`${what}: done`);
          } catch (e) {
            attempts.push(`${what}: ${(e as { code?: string }).code}`);
          }
        }
      } finally {
        closeSync(fd);
      }
    };
    expect(await mars.poke(ovum([{ path: "/big/bin", bytes }]), { onProgress })).toEqual({ ok: true, effects: [], path: "plea", eve: 1 });
    expect(attempts).toEqual(["shrink to 0: EPERM", "shrink to a page: EPERM", "grow by a page: EPERM"]);
    expect(mars.dead).toBe(false);
    expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes(bytes))).toBe(true);
    expect(await mars.exit()).toBe(0);
  },
  TEST_TIMEOUT_MS,
);
