/**
 * When the plea path cannot be taken: mars cannot make the segment (a full or missing shared
 * memory directory), so the event goes through the pipe instead; or urth cannot fill it (a file
 * changed under the commit), so that one event fails, mars forgets the segment and goes on.
 * Either way the writs sent after it are answered after it, in order, and nothing is left.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listMemfdSegments, listSegments, SHM_DIR_ENV } from "../../src/ffi/index.ts";
import { atomFromBytes, equals, FileAtom, FileAtomError, NounErrorCode } from "../../src/noun/index.ts";
import type { PokeProgress } from "../../src/urth/mars-process.ts";
import { deskTotals, listFiles, readFile } from "../../src/urth/peeks.ts";
import { mountTmpfs } from "../ffi/shm-test-support.ts";
import {
  cleanUp,
  ExpectedDesk,
  leftoverSegments,
  MIB,
  ovum,
  phaseSequence,
  pseudoRandomBytes,
  rejection,
  startMars,
  tempDir,
  tempFile,
  tempPier,
  TEST_TIMEOUT_MS,
  type Change,
} from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const tmpfs = mountTmpfs("4m");
if (tmpfs.reason) console.warn(`skipping the small-tmpfs test: ${tmpfs.reason}`);

afterEach(cleanUp);
afterAll(() => {
  let inTmpfs: string[] = [];
  try {
    if (tmpfs.dir) inTmpfs = readdirSync(tmpfs.dir);
  } finally {
    tmpfs.unmount();
  }
  expect(inTmpfs).toEqual([]);
  expect(leftoverSegments().map((s) => s.name)).toEqual([]);
});


/**
 * Sends a plea-sized event mars cannot make a segment for, with writs fired right behind it, and
 * checks the event went through the pipe first and the writs after it, in order.
 */
async function refusedPleaGoesThroughThePipe(shmDir: string, reason: RegExp, bytes = 6 * MIB): Promise<void> {
  const { pier } = tempPier();
  // Named segments: those live in the directory (a memfd is not bounded by it, see container.test.ts).
  const { mars, log } = await startMars({ pier, pleaThresholdBytes: MIB, env: { [SHM_DIR_ENV]: shmDir }, shmKind: "named" });
  const desk = new ExpectedDesk();
  const big: Change[] = [{ path: "/big/bin", bytes: pseudoRandomBytes(bytes, 5) }];
  const note: Change[] = [{ path: "/note/txt", bytes: new TextEncoder().encode("after the big one") }];
  const progress: PokeProgress[] = [];
  const bigPoke = mars.poke(ovum(big), { onProgress: (p) => progress.push(p) });
  desk.apply(big);
  const totalsAfterBig = desk.totals();
  const totals = deskTotals(mars);
  const notePoke = mars.poke(ovum(note));
  desk.apply(note);
  const files = listFiles(mars);

  expect(await bigPoke).toEqual({ ok: true, effects: [], path: "pipe", eve: 1 });
  expect(phaseSequence(progress)).toEqual(["asking/plea", "sending/pipe", "sent/pipe"]);
  expect(await totals).toEqual(totalsAfterBig);
  expect(await notePoke).toEqual({ ok: true, effects: [], path: "pipe", eve: 2 });
  expect(await files).toEqual(desk.listing());
  expect(equals((await readFile(mars, ["big", "bin"]))!.data, atomFromBytes((big[0] as { bytes: Uint8Array }).bytes))).toBe(true);
  // mars says why it refused (its own line, on its stderr), and urth says what it did instead.
  expect(log.some((line) => line.startsWith("mars refused a plea") && reason.test(line))).toBe(true);
  expect(log.some((line) => line.startsWith("plea refused by mars (plea-create)"))).toBe(true);
}

describe("mars cannot make the segment", () => {
  test.skipIf(!tmpfs.dir)(
    "with a shared-memory filesystem too small for the event, mars refuses the plea and logs why, and the poke goes through the pipe before the writs sent after it",
    async () => {
      await refusedPleaGoesThroughThePipe(tmpfs.dir!, /ENOSPC/);
      expect(readdirSync(tmpfs.dir!)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test.skipIf(!tmpfs.dir)(
    "an event that fits the small filesystem still takes the plea path there, and leaves nothing in it",
    async () => {
      // Both sides must look there: urth opens the segment mars names (mars inherits the variable).
      const saved = process.env[SHM_DIR_ENV];
      process.env[SHM_DIR_ENV] = tmpfs.dir;
      try {
        const { pier } = tempPier();
        const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: "named" });
        const bytes = pseudoRandomBytes(2 * MIB, 6);
        expect(await mars.poke(ovum([{ path: "/fits/bin", bytes }]))).toEqual({ ok: true, effects: [], path: "plea", eve: 1 });
        expect(readdirSync(tmpfs.dir!)).toEqual([]);
        expect(equals((await readFile(mars, ["fits", "bin"]))!.data, atomFromBytes(bytes))).toBe(true);
      } finally {
        if (saved === undefined) delete process.env[SHM_DIR_ENV];
        else process.env[SHM_DIR_ENV] = saved;
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "with the shared-memory directory missing, mars refuses the plea and logs why, and the poke goes through the pipe before the writs sent after it",
    async () => {
      await refusedPleaGoesThroughThePipe(join(tempDir(), "missing"), /ENOENT/);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "an event refused a segment that is large enough to be streamed goes through the pipe jammed in chunks, with the jam length measured for the refusal",
    async () => {
      // 20 MiB is above PIPE_STREAM_BYTES_MIN: the send reuses the measurement (length and plan).
      await refusedPleaGoesThroughThePipe(join(tempDir(), "missing"), /ENOENT/, 20 * MIB);
    },
    TEST_TIMEOUT_MS,
  );
});

describe.each(["named", "memfd"] as const)("urth cannot fill the segment, %s segments", (kind) => {
  test(
    "a file-backed atom whose file changed or vanished after the ovum was built fails its poke with FileAtomError; mars drops the segment and stays usable",
    async () => {
      const { pier, namespace } = tempPier();
      const { mars } = await startMars({ pier, pleaThresholdBytes: MIB, shmKind: kind });
      const desk = new ExpectedDesk();
      const changedPath = tempFile(pseudoRandomBytes(2 * MIB, 1), "changed.bin");
      const vanishedPath = tempFile(pseudoRandomBytes(2 * MIB, 2), "vanished.bin");
      const changed = new FileAtom(changedPath);
      const vanished = new FileAtom(vanishedPath);
      const cases = [
        { atom: changed, code: NounErrorCode.fileAtom.changed, spoil: () => writeFileSync(changedPath, pseudoRandomBytes(2 * MIB + 5, 3)) },
        { atom: vanished, code: NounErrorCode.fileAtom.unreadable, spoil: () => unlinkSync(vanishedPath) },
      ];
      let eve = 0;
      for (const [i, c] of cases.entries()) {
        const failing = ovum([{ path: `/f${i}/bin`, atom: c.atom, length: c.atom.byteLengthMax }]);
        c.spoil();
        const progress: PokeProgress[] = [];
        const poke = mars.poke(failing, { onProgress: (p) => progress.push(p) });
        // Fired behind it: answered after it, on a state without it.
        const totals = deskTotals(mars);
        const note: Change[] = [{ path: `/note/n${i}/txt`, bytes: new TextEncoder().encode(`note ${i}`) }];
        const notePoke = mars.poke(ovum(note));
        const totalsBefore = desk.totals();
        desk.apply(note);

        const error = await rejection(poke);
        expect(error).toBeInstanceOf(FileAtomError);
        expect((error as FileAtomError).code).toBe(c.code);
        expect((error as FileAtomError).path).toBe(c.atom.path);
        expect(phaseSequence(progress)).toEqual(["asking/plea", "filling/plea"]);
        expect(await totals).toEqual(totalsBefore);
        expect(await notePoke).toEqual({ ok: true, effects: [], path: "pipe", eve: ++eve });
        expect(listSegments(namespace)).toEqual([]);
        expect(listMemfdSegments(mars.pid, namespace)).toEqual([]);
      }
      // A failed fill with another plea and a peek right behind it: the plea goes next (the
      // plea path itself still works), then the peek.
      const gonePath = tempFile(pseudoRandomBytes(2 * MIB, 7), "gone.bin");
      const gone = new FileAtom(gonePath);
      const failing = ovum([{ path: "/gone/bin", atom: gone, length: gone.byteLengthMax }]);
      unlinkSync(gonePath);
      const big: Change[] = [{ path: "/ok/bin", bytes: pseudoRandomBytes(2 * MIB, 4) }];
      const failed = mars.poke(failing);
      const bigPoke = mars.poke(ovum(big));
      desk.apply(big);
      const files = listFiles(mars);
      expect(await rejection(failed)).toBeInstanceOf(FileAtomError);
      expect(await bigPoke).toEqual({ ok: true, effects: [], path: "plea", eve: ++eve });
      expect(await files).toEqual(desk.listing());
      expect(listSegments(namespace)).toEqual([]);
      expect(mars.eve).toBe(eve);
    },
    TEST_TIMEOUT_MS,
  );
});
