/**
 * Nothing of a killed plea stays in the machine's shared memory: SIGKILL mars, or urth, in the
 * middle of a plea with a 128 MiB segment of either kind, and the machine's Shmem (/proc/meminfo)
 * returns to its level before the commit. A memfd vanishes with the last process that holds it,
 * with no sweep at all; a named segment needs its creator's cleanup or urth's sweep.
 *
 * Shmem is machine-wide, and other processes (other tests, other users) move it too: each check
 * allows SHMEM_NOISE_BYTES_MAX either way, a quarter of the segment, and waits (bounded) for the
 * level to come back rather than reading it once.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { listMemfdSegments, listSegments, sweepOrphans } from "../../src/ffi/index.ts";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { parseGift } from "../../src/ipc/gift.ts";
import { taskToNoun } from "../../src/ipc/task.ts";
import type { SegmentKind } from "../../src/plea/segment-ref.ts";
import { MARS_MAIN_PATH, type PokeProgress } from "../../src/urth/mars-process.ts";
import {
  cleanUp,
  leftoverSegments,
  MIB,
  ovum,
  processGone,
  pseudoRandomBytes,
  rejection,
  startMars,
  startWaitingUrth,
  tempPier,
  TEST_TIMEOUT_MS,
  trackChild,
  waitUntil,
} from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

/** Big enough to see in the machine's Shmem above the noise of other processes. */
const SEGMENT_BYTES = 128 * MIB;

/** How far other processes may move Shmem during a check. */
const SHMEM_NOISE_BYTES_MAX = 32 * MIB;

const KINDS: readonly SegmentKind[] = ["named", "memfd"];

/** The machine's Shmem from /proc/meminfo, in bytes: tmpfs files, named segments and memfds alike. */
function shmemBytes(): number {
  const m = /^Shmem:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "latin1"));
  if (!m) throw new Error("/proc/meminfo has no Shmem line");
  return Number(m[1]) * 1024;
}

/** Waits until Shmem is back within the noise of `before`. */
async function shmemBackTo(before: number): Promise<void> {
  await waitUntil(() => shmemBytes() - before < SHMEM_NOISE_BYTES_MAX, `Shmem to return to ${(before / MIB).toFixed(0)} MiB (it is ${(shmemBytes() / MIB).toFixed(0)} MiB)`);
}

/** The segment was there: Shmem grew by about its size. */
function expectSegmentSeen(before: number, during: number): void {
  expect(during - before).toBeGreaterThan(SEGMENT_BYTES - SHMEM_NOISE_BYTES_MAX);
}

for (const kind of KINDS) {
  describe(`${kind} segments`, () => {
    test(
      "mars SIGKILLed while urth fills a 128 MiB segment: every writ rejects, and Shmem returns to its level before the commit",
      async () => {
        const { pier, namespace } = tempPier();
        const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
        const event = ovum([{ path: "/big/bin", bytes: pseudoRandomBytes(SEGMENT_BYTES, 1) }]);
        const before = shmemBytes();
        let during = 0;
        const onProgress = (p: PokeProgress) => {
          if (p.phase !== "filling" || during !== 0) return;
          // mars made and reserved the segment: it is in Shmem now, before a byte is written.
          during = shmemBytes();
          process.kill(mars.pid, "SIGKILL");
        };
        const errors = await Promise.all([mars.poke(event, { onProgress }), mars.save()].map(rejection));
        for (const e of errors) expect((e as { code?: string }).code).toBe("mars_exited");
        expect(await mars.exited).toBe(137);
        expectSegmentSeen(before, during);
        await shmemBackTo(before);
        expect(listSegments(namespace)).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    test(
      "urth SIGKILLed while mars holds a 128 MiB segment for it: mars removes it and exits, and Shmem returns to its level before the commit",
      async () => {
        const { pier, namespace } = tempPier();
        const before = shmemBytes();
        const { urth, marsPid, read } = await startWaitingUrth([pier, kind, String(SEGMENT_BYTES)]);
        // The fixture holds its 128 MiB event on its heap, not in Shmem; mars holds the segment.
        const during = shmemBytes();
        expectSegmentSeen(before, during);
        const held = kind === "memfd" ? listMemfdSegments(marsPid, namespace).map((m) => m.bytes) : listSegments(namespace).map((s) => s.bytes);
        expect(held).toEqual([expect.any(Number)]);
        expect(held[0]).toBeGreaterThanOrEqual(SEGMENT_BYTES);

        urth.kill("SIGKILL");
        expect(await urth.exited).toBe(137);
        await read;
        await waitUntil(() => processGone(marsPid), "mars to see EOF and exit");
        await shmemBackTo(before);
        expect(listSegments(namespace)).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );
  });
}

test(
  "mars SIGKILLed holding a granted 128 MiB memfd, with no urth to sweep anything: the memfd vanishes with mars; a named segment stays until a sweep",
  async () => {
    for (const kind of KINDS) {
      const { pier, namespace } = tempPier();
      const before = shmemBytes();
      const raw = trackChild(Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", pier], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
      const stderr = new Response(raw.stderr).text();
      const writer = new FrameWriter(raw.stdin, { name: "mars's stdin" });
      const reader = new FrameReader(raw.stdout, { name: "mars's stdout" });
      expect(parseGift(await cueFrame((await reader.next())!))).toMatchObject({ type: "ripe" });
      await writer.send(taskToNoun(kind === "memfd" ? { type: "plea", kind: "memfd", length: SEGMENT_BYTES } : { type: "plea", length: SEGMENT_BYTES }));
      expect(parseGift(await cueFrame((await reader.next())!))).toMatchObject(kind === "memfd" ? { type: "plea", ok: true, kind: "memfd" } : { type: "plea", ok: true });
      expectSegmentSeen(before, shmemBytes());
      raw.kill("SIGKILL");
      expect(await raw.exited).toBe(137);
      await stderr;
      await writer.close();
      if (kind === "named") {
        // The orphan keeps its pages until someone removes its name.
        expect(listSegments(namespace).map((s) => s.creator)).toEqual(["exited"]);
        expect(sweepOrphans(namespace)).toHaveLength(1);
      }
      await shmemBackTo(before);
    }
  },
  TEST_TIMEOUT_MS,
);
