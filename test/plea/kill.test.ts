/**
 * Deaths, with real processes and real segments of both kinds (named in /dev/shm, and memfds):
 * mars SIGKILLed in every state of a plea, mars exiting on a task it cannot parse, mars dying with
 * writs of every kind pending, and urth SIGKILLed while mars waits for `%done`. Every pending writ
 * must reject with `MarsExited` (no hang, no unhandled rejection), no `plea-` segment may outlive
 * the next start (a named one is swept; a memfd vanishes with the last process that holds it), and
 * the log must hold whole events only.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { listMemfdSegments, listSegments, sweepOrphans } from "../../src/ffi/index.ts";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { parseGift } from "../../src/ipc/gift.ts";
import { taskToNoun, type Task } from "../../src/ipc/task.ts";
import type { SegmentKind } from "../../src/plea/segment-ref.ts";
import { cell, cord, list } from "../../src/noun/index.ts";
import { MarsExited } from "../../src/urth/mars-exited.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { MARS_MAIN_PATH, type PokeProgress } from "../../src/urth/mars-process.ts";
import { deskTotals, listFiles } from "../../src/urth/peeks.ts";
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
  WAIT_BOUND_MS,
} from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));


function small(i: number) {
  return ovum([{ path: `/small/s${i}/txt`, bytes: new TextEncoder().encode(`small ${i}`) }]);
}

function large(seed: number) {
  return ovum([{ path: "/big/bin", bytes: pseudoRandomBytes(2 * MIB, seed) }]);
}

const KINDS: readonly SegmentKind[] = ["named", "memfd"];

/** The `%plea` task urth sends for a segment of `kind`. */
function pleaTask(kind: SegmentKind, length: number): Task {
  return kind === "memfd" ? { type: "plea", kind: "memfd", length } : { type: "plea", length };
}

/** The memfd segments of `namespace` this test process (playing urth) still holds or maps: none, always. */
function ownMemfds(namespace: string): string[] {
  const maps = readFileSync("/proc/self/maps", "latin1").split("\n").filter((line) => line.includes(`/memfd:plea-${namespace}-`));
  return [...listMemfdSegments(process.pid, namespace).map((m) => m.name), ...maps];
}

function expectMarsExited(e: unknown, code: MarsExited["code"] = UrthErrorCode.mars.exited): MarsExited {
  expect(e).toBeInstanceOf(MarsExited);
  expect((e as MarsExited).code).toBe(code);
  return e as MarsExited;
}

/**
 * Where mars is killed (synchronously, from the poke's progress callback):
 * - asking: right after urth sends `%plea` (mars has not read it);
 * - filling: mars granted the segment, urth is about to fill it;
 * - sent: urth filled it and sent `%done`, which mars never reads.
 * mars killed between making the segment and urth reading its reply is the raw-pipe test below:
 * from inside urth that moment cannot be hit without racing mars.
 */
type KillPoint = "asking" | "filling" | "sent";

const KILL_POINTS: Array<[KillPoint, string]> = [
  ["asking", "right after %plea is sent"],
  ["filling", "while urth fills the segment"],
  ["sent", "after %done is sent, before mars replies"],
];

for (const kind of KINDS) {
  describe(`${kind} segments`, () => {
    describe("mars SIGKILLed in every state of a plea", () => {
      for (const [point, when] of KILL_POINTS) {
        test(
          `mars killed ${when}: the poke and every writ after it reject with MarsExited, no segment survives, and the restart replays exactly the acknowledged events`,
          async () => {
            const { pier, namespace } = tempPier();
            const first = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
            const m = first.mars;
            // Acknowledged events: these must survive the kill.
            expect(await m.poke(small(1))).toMatchObject({ ok: true, path: "pipe", eve: 1 });
            expect(await m.poke(large(1))).toMatchObject({ ok: true, path: "plea", eve: 2 });
            const before = await m.save();
            expect(before.eve).toBe(2);

            let killed = false;
            const onProgress = (p: PokeProgress) => {
              if (p.phase !== point || killed) return;
              killed = true;
              process.kill(m.pid, "SIGKILL");
            };
            const writs: Promise<unknown>[] = [
              m.poke(large(2), { onProgress }),
              deskTotals(m),
              listFiles(m),
              m.poke(small(3)),
              m.ask({ type: "live", kind: "pack" }),
            ];
            const errors = await Promise.all(writs.map(rejection));
            expect(killed).toBe(true);
            for (const e of errors) {
              const exited = expectMarsExited(e);
              expect(exited.signal).toBe("SIGKILL");
            }
            expect(await m.exited).toBe(137);
            expect(m.dead).toBe(true);
            expect(m.pending).toBe(0);

            // mars made a segment in the states after "asking". A named one's name outlived mars,
            // and urth's exit handling swept it; a memfd vanished with mars (and urth's mapping).
            if (point !== "asking" && kind === "named") {
              expect(m.sweptAfterExit.map((s) => [s.namespace, s.pid, s.creator])).toEqual([[namespace, m.pid, "exited"]]);
            } else {
              expect(m.sweptAfterExit).toEqual([]);
            }
            expect(listSegments(namespace)).toEqual([]);
            expect(ownMemfds(namespace)).toEqual([]);

            const second = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
            expect(second.mars.eve).toBe(before.eve);
            expect(second.mars.mug).toBe(before.mug);
            expect(listSegments(namespace)).toEqual([]);
            // And the restarted mars takes pleas again.
            expect(await second.mars.poke(large(3))).toMatchObject({ ok: true, path: "plea", eve: 3 });
            expect(await deskTotals(second.mars)).toEqual({ files: 2, bytes: 2 * MIB + "small 1".length });
          },
          TEST_TIMEOUT_MS,
        );
      }

      test(
        kind === "named"
          ? "mars killed after it made a segment and replied, before urth took it: its orphaned segment is swept and the restart replays exactly the acknowledged events"
          : "mars killed after it made a segment and replied, before urth took it: the memfd vanishes with mars, nothing is left to sweep, and the restart replays exactly the acknowledged events",
        async () => {
          const { pier, namespace } = tempPier();
          const first = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
          expect(await first.mars.poke(small(1))).toMatchObject({ ok: true, path: "pipe", eve: 1 });
          expect(await first.mars.poke(large(1))).toMatchObject({ ok: true, path: "plea", eve: 2 });
          const before = await first.mars.save();
          expect(await first.mars.exit()).toBe(0);

          // urth's side played by hand, so the moment is exact: mars has granted, nobody read it yet.
          const raw = trackChild(Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", pier], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
          const stderr = new Response(raw.stderr).text();
          const writer = new FrameWriter(raw.stdin, { name: "mars's stdin" });
          const reader = new FrameReader(raw.stdout, { name: "mars's stdout" });
          expect(parseGift(await cueFrame((await reader.next())!))).toMatchObject({ type: "ripe", eve: 2, mug: before.mug });
          await writer.send(taskToNoun(pleaTask(kind, 2 * MIB)));
          const grant = parseGift(await cueFrame((await reader.next())!));
          if (grant.type !== "plea" || !grant.ok) throw new Error(`expected a granted plea, got ${JSON.stringify(grant)}`);
          if (grant.kind === "memfd") {
            expect(kind).toBe("memfd");
            // mars holds it as the descriptor it granted; it has no name in /dev/shm.
            expect(listMemfdSegments(raw.pid, namespace).map((m) => [m.fd, m.bytes])).toEqual([[grant.fd, 2 * MIB]]);
            expect(listSegments(namespace)).toEqual([]);
          } else {
            expect(kind).toBe("named");
            expect(listSegments(namespace).map((s) => [s.name, s.pid, s.creator])).toEqual([[grant.name, raw.pid, "alive"]]);
          }
          raw.kill("SIGKILL");
          expect(await raw.exited).toBe(137);
          await stderr;
          await writer.close();

          if (grant.kind === "memfd") {
            // Nothing outlived mars: no name to sweep, no process holding the memfd.
            expect(listSegments(namespace)).toEqual([]);
            expect(sweepOrphans(namespace)).toEqual([]);
            expect(listMemfdSegments(raw.pid, namespace)).toEqual([]);
          } else {
            // The orphan outlived its creator; the sweep (urth's, at start and after mars exits) removes it.
            expect(listSegments(namespace).map((s) => [s.name, s.creator])).toEqual([[grant.name, "exited"]]);
            expect(sweepOrphans(namespace).map((s) => s.name)).toEqual([grant.name]);
            expect(listSegments(namespace)).toEqual([]);
          }

          const second = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
          expect(second.mars.eve).toBe(before.eve);
          expect(second.mars.mug).toBe(before.mug);
          expect(await second.mars.poke(large(3))).toMatchObject({ ok: true, path: "plea", eve: 3 });
          expect(listSegments(namespace)).toEqual([]);
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe("mars's death with writs pending", () => {
      test(
        "mars answers a task it cannot parse by exiting with status 1 and a message on stderr, and removes the segment it was holding",
        async () => {
          const { pier, namespace } = tempPier();
          const proc = trackChild(Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", pier], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
          const stderr = new Response(proc.stderr).text();
          const writer = new FrameWriter(proc.stdin, { name: "mars's stdin" });
          const reader = new FrameReader(proc.stdout, { name: "mars's stdout" });
          expect(parseGift(await cueFrame((await reader.next())!))).toMatchObject({ type: "ripe", eve: 0 });
          await writer.send(taskToNoun(pleaTask(kind, MIB)));
          const grant = parseGift(await cueFrame((await reader.next())!));
          expect(grant).toMatchObject({ type: "plea", ok: true });
          if (kind === "memfd") expect(listMemfdSegments(proc.pid, namespace).map((m) => m.fd)).toEqual([(grant as { fd: number }).fd]);
          else expect(listSegments(namespace).map((s) => s.name)).toEqual([(grant as { name: string }).name]);

          // Not a task: mars says so and exits 1 (vere's "mars: bad"), without any reply.
          await writer.send(cell(cord("bogus"), list([1, 2, 3])));
          expect(await reader.next()).toBeUndefined();
          expect(await proc.exited).toBe(1);
          expect(await stderr).toContain("mars: bad task");
          // Nobody swept: mars removed its own segment on the way out.
          expect(listSegments(namespace)).toEqual([]);
          expect(listMemfdSegments(proc.pid, namespace)).toEqual([]);
          await writer.close();
        },
        TEST_TIMEOUT_MS,
      );

      test(
        "urth reports mars's exit on a task it cannot parse as MarsExited with mars's stderr, to that writ and every writ behind it",
        async () => {
          const { pier } = tempPier();
          const { mars } = await startMars({ pier, shmKind: kind });
          expect(await mars.poke(small(1))).toMatchObject({ ok: true, eve: 1 });
          // A peek path must be a list of atoms: this one holds a cell, which mars cannot parse.
          const bad = mars.peek({ kind: "path", path: list([cell(1, 2)]) });
          const behind = [mars.poke(small(2)), deskTotals(mars), mars.save()];
          const errors = await Promise.all([bad, ...behind].map(rejection));
          for (const e of errors) {
            const exited = expectMarsExited(e);
            expect(exited.exitCode).toBe(1);
            expect(exited.signal).toBeNull();
            expect(exited.stderrTail.join("\n")).toContain("mars: bad task");
            expect(exited.message).toContain("exited with status 1");
          }
          expect(await mars.exited).toBe(1);
        },
        TEST_TIMEOUT_MS,
      );

      test(
        "mars SIGKILLed with writs of every kind pending rejects every one of them, and later calls fail at once",
        async () => {
          const { pier } = tempPier();
          const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
          const writs: Promise<unknown>[] = [
            mars.poke(small(1)),
            mars.poke(large(1)),
            mars.peek({ kind: "path", path: list([cord("d"), cord("base")]) }),
            mars.ask({ type: "live", kind: "pack" }),
            mars.ask({ type: "quiz", kind: "quic" }),
            mars.save(),
            mars.poke(small(2)),
          ];
          process.kill(mars.pid, "SIGKILL");
          const errors = await Promise.all(writs.map(rejection));
          for (const e of errors) expect(expectMarsExited(e).signal).toBe("SIGKILL");
          expect(mars.dead).toBe(true);
          expect(mars.pending).toBe(0);
          // After the death: every call rejects at once with the same error, and exit() resolves.
          for (const later of [mars.poke(small(3)), mars.peek({ kind: "path", path: 0 }), mars.save(), mars.ask({ type: "live", kind: "pack" })]) {
            expect(await rejection(later)).toBe(errors[0]);
          }
          expect(await mars.exit()).toBe(137);
        },
        TEST_TIMEOUT_MS,
      );

      test(
        "pokes and peeks written to a mars that died before urth noticed reject with MarsExited, not with the pipe's EPIPE",
        async () => {
          const { pier } = tempPier();
          // 64 MiB: the 20 MiB event below goes through the pipe, jammed in chunks into it.
          const { mars } = await startMars({ pier, pleaThresholdBytes: 64 * MIB, shmKind: kind });
          expect(await mars.poke(small(1))).toMatchObject({ ok: true, eve: 1 });
          process.kill(mars.pid, "SIGKILL");
          // Hold urth's thread until mars is dead (a zombie: its pipes are closed), so urth has not
          // seen the exit yet when these are written.
          const start = Date.now();
          while (!processGone(mars.pid) && Date.now() - start < WAIT_BOUND_MS) Bun.sleepSync(1);
          expect(processGone(mars.pid)).toBe(true);
          expect(mars.dead).toBe(false);
          const writs = [mars.poke(small(2)), deskTotals(mars), mars.poke(ovum([{ path: "/big/bin", bytes: pseudoRandomBytes(20 * MIB, 9) }]))];
          const errors = await Promise.all(writs.map(rejection));
          for (const e of errors) expect(expectMarsExited(e).signal).toBe("SIGKILL");
          expect(await mars.exited).toBe(137);
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe("urth SIGKILLed while mars waits for %done", () => {
      test(
        "mars, orphaned, notices EOF on its stdin, removes its segment and exits",
        async () => {
          const { pier, namespace } = tempPier();
          const { urth, marsPid, stderr, read } = await startWaitingUrth([pier, kind]);
          // mars granted the segment and waits for %done.
          if (kind === "memfd") expect(listMemfdSegments(marsPid, namespace).map((m) => m.bytes)).toEqual([expect.any(Number)]);
          else expect(listSegments(namespace).map((s) => [s.pid, s.creator])).toEqual([[marsPid, "alive"]]);

          urth.kill("SIGKILL");
          expect(await urth.exited).toBe(137);
          await read;
          // A SIGKILLed parent does not take its child with it: mars must see EOF and clean up.
          await waitUntil(() => listSegments(namespace).length === 0 && listMemfdSegments(marsPid, namespace).length === 0, "mars to remove its segment");
          await waitUntil(() => processGone(marsPid), "mars to exit");
          expect(stderr()).not.toContain("poke failed");
        },
        TEST_TIMEOUT_MS,
      );
    });
  });
}
