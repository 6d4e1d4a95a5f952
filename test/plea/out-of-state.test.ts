/**
 * One rule for a plea message out of its state (docs/plea.md): each side treats it as the peer
 * breaking the protocol. mars, given `%done` or `%drop` with no plea waiting or `%plea` while one
 * waits, says so on stderr, removes its segment and exits 1 without a reply, its log intact; urth,
 * given a grant that breaks the contract or a `%plea` reply it did not ask for, kills mars and
 * rejects every writ with `MarsExited` (`mars_protocol`).
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { listSegments } from "../../src/ffi/index.ts";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { parseGift, type Gift } from "../../src/ipc/gift.ts";
import { taskToNoun, type Task } from "../../src/ipc/task.ts";
import type { Cell } from "../../src/noun/index.ts";
import { MarsExited } from "../../src/urth/mars-exited.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import type { SegmentKind } from "../../src/plea/segment-ref.ts";
import { MARS_MAIN_PATH } from "../../src/urth/mars-process.ts";
import { deskTotals } from "../../src/urth/peeks.ts";
import { cleanUp, leftoverSegments, MIB, ovum, pseudoRandomBytes, rejection, startMars, tempPier, TEST_TIMEOUT_MS, trackChild, WAIT_BOUND_MS } from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

const SCRIPTED_MARS = join(import.meta.dir, "scripted-mars.ts");

/** mars spawned by hand, urth's side played through its pipes. */
async function rawMars(pier: string) {
  const proc = trackChild(Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", pier], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
  const stderr = new Response(proc.stderr).text();
  const writer = new FrameWriter(proc.stdin, { name: "mars's stdin" });
  const reader = new FrameReader(proc.stdout, { name: "mars's stdout" });
  const next = async (): Promise<Gift | "eof" | "silent"> => {
    const frame = await Promise.race([reader.next(), Bun.sleep(WAIT_BOUND_MS).then(() => "silent" as const)]);
    if (frame === "silent") return "silent";
    return frame === undefined ? "eof" : parseGift(await cueFrame(frame));
  };
  const send = (t: Task) => writer.send(taskToNoun(t));
  expect(await next()).toMatchObject({ type: "ripe" });
  return { proc, stderr, writer, next, send };
}

const smallPoke: Task = { type: "poke", mil: 0, ovum: ovum([{ path: "/a/txt", bytes: new TextEncoder().encode("kept") }]) as Cell };

describe("mars: a plea message out of its state is a protocol error", () => {
  for (const stray of ["done", "drop"] as const) {
    test(
      `%${stray} with no plea waiting: mars sends no reply, says so on stderr and exits 1; the log keeps every event before it`,
      async () => {
        const { pier, namespace } = tempPier();
        const m = await rawMars(pier);
        await m.send(smallPoke);
        expect(await m.next()).toMatchObject({ type: "poke", ok: true });
        await m.send({ type: stray });
        // No reply: one would be paired by urth with whatever writ heads its FIFO.
        expect(await m.next()).toBe("eof");
        expect(await m.proc.exited).toBe(1);
        expect(await m.stderr).toContain(`mars: bad task: %${stray} with no plea waiting: urth and mars disagree about the plea protocol`);
        await m.writer.close();
        expect(listSegments(namespace)).toEqual([]);

        const again = await startMars({ pier });
        expect(again.mars.eve).toBe(1);
        expect(await deskTotals(again.mars)).toEqual({ files: 1, bytes: 4 });
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "%plea while a plea waits for %done: mars sends no reply, removes its segment itself, says so on stderr and exits 1",
    async () => {
      const { pier, namespace } = tempPier();
      const m = await rawMars(pier);
      await m.send({ type: "plea", length: MIB });
      const grant = await m.next();
      expect(grant).toMatchObject({ type: "plea", ok: true });
      expect(listSegments(namespace).map((s) => s.name)).toEqual([(grant as { name: string }).name]);
      await m.send({ type: "plea", length: MIB });
      expect(await m.next()).toBe("eof");
      expect(await m.proc.exited).toBe(1);
      expect(await m.stderr).toContain("mars: bad task: %plea while a plea waits for %done: urth and mars disagree about the plea protocol");
      await m.writer.close();
      // Nobody swept: mars removed its own segment on the way out.
      expect(listSegments(namespace)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("urth: a plea reply out of its state, or a grant that breaks the contract, kills mars", () => {
  const cases: Array<[string, SegmentKind, string, RegExp]> = [
    ["small-grant", "named", "a grant smaller than the event", /mars granted a segment of \d+ bytes for an event of up to \d+ bytes/],
    ["foreign-grant", "named", "a grant naming something that is not a plea- segment", /mars named the segment "\/etc\/passwd", which is not a plea- segment name/],
    ["other-kind", "named", "a memfd grant when urth asked for a named segment", /mars granted a memfd segment \(memfd 0\) when urth asked for a named one/],
    ["other-kind", "memfd", "a named grant when urth asked for a memfd", /mars granted a named segment \("\/plea-00000000-1-1"\) when urth asked for a memfd one/],
  ];
  for (const [scenario, kind, what, message] of cases) {
    test(
      `${what}: the poke and the writs behind it reject with MarsExited mars_protocol, and urth never opens the segment`,
      async () => {
        const { pier } = tempPier();
        const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, main: SCRIPTED_MARS, args: [scenario], shmKind: kind });
        const writs = [mars.poke(ovum([{ path: "/big/bin", bytes: pseudoRandomBytes(2 * MIB, 1) }])), deskTotals(mars), mars.save()];
        for (const e of await Promise.all(writs.map(rejection))) {
          expect(e).toBeInstanceOf(MarsExited);
          expect((e as MarsExited).code).toBe(UrthErrorCode.mars.protocol);
          expect((e as MarsExited).message).toMatch(message);
        }
        expect(await mars.exited).toBe(137);
        expect(mars.dead).toBe(true);
        expect(mars.pending).toBe(0);
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "a %plea grant answering a peek: urth kills mars, and every writ rejects with MarsExited mars_protocol",
    async () => {
      const { pier } = tempPier();
      const { mars } = await startMars({ pier, main: SCRIPTED_MARS, args: ["grant-anything"], shmKind: "named" });
      const writs = [deskTotals(mars), mars.poke(ovum([{ path: "/a/txt", bytes: new TextEncoder().encode("a") }]))];
      for (const e of await Promise.all(writs.map(rejection))) {
        expect(e).toBeInstanceOf(MarsExited);
        expect((e as MarsExited).code).toBe(UrthErrorCode.mars.protocol);
        expect((e as MarsExited).message).toContain("mars answered a %peek task with a %plea reply");
      }
      expect(await mars.exited).toBe(137);
    },
    TEST_TIMEOUT_MS,
  );
});
