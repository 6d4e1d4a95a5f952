/**
 * A file that changes between the scan and the read fails the whole commit, clearly, and nothing
 * is committed. The race cannot be won reliably from outside urth, so these tests drive
 * `Session.commit` (commitMount) in this process and rewrite the file at the moment the event is
 * built but its bytes not yet read: the first progress report of the poke.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileAtom, FileAtomError, NounErrorCode } from "../../src/noun/index.ts";
import { listFiles } from "../../src/urth/peeks.ts";
import { Session } from "../../src/urth/session.ts";
import { cleanUp, leftoverSegments, pseudoRandomBytes, tempDir, tempPier } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await cleanUp();
});
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** A session whose commits send every file's bytes (staging off: these tests rewrite a file before its bytes are read). */
async function open(pier: string, pleaThresholdBytes?: number): Promise<Session> {
  const s = await Session.open(pier, { control: false, onLog: () => {}, pleaThresholdBytes, stageBytesMin: 2 ** 40 });
  sessions.push(s);
  return s;
}

describe("FileAtom", () => {
  test("refuses to read a file rewritten after the atom was made", () => {
    const path = join(tempDir(), "f.bin");
    writeFileSync(path, pseudoRandomBytes(100_000, 1));
    const atom = new FileAtom(path);
    writeFileSync(path, pseudoRandomBytes(100_001, 2));
    let err: unknown;
    try {
      atom.open();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileAtomError);
    expect((err as FileAtomError).code).toBe(NounErrorCode.fileAtom.changed);
    expect((err as FileAtomError).message).toBe(`"${path}" changed while it was being committed (size 100000 -> 100001); commit again once it is settled`);
  });

  test("refuses to read a file removed after the atom was made", () => {
    const path = join(tempDir(), "f.bin");
    writeFileSync(path, pseudoRandomBytes(100_000, 1));
    const atom = new FileAtom(path);
    rmSync(path);
    expect(() => atom.open()).toThrow(/^Cannot read ".*f\.bin": ENOENT/);
  });
});

describe("commitMount", () => {
  for (const [how, threshold] of [
    ["pipe", 2 ** 40],
    ["plea", 1024 * 1024],
  ] as const) {
    test(`a file rewritten before its bytes are read fails the commit through the ${how} and nothing is committed`, async () => {
      const { pier, mount } = tempPier();
      const big = join(mount, "big.bin");
      writeFileSync(join(mount, "small.txt"), "small\n");
      writeFileSync(big, pseudoRandomBytes(2 * 1024 * 1024, 3));
      const s = await open(pier, threshold);

      let rewrote = false;
      const failure = await s
        .commit({
          onProgress: (p) => {
            if (rewrote) return;
            rewrote = true;
            expect(p.path).toBe(how);
            writeFileSync(big, pseudoRandomBytes(2 * 1024 * 1024 + 1, 4));
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(rewrote).toBe(true);
      expect(failure).toBeInstanceOf(FileAtomError);
      expect((failure as FileAtomError).code).toBe(NounErrorCode.fileAtom.changed);
      expect((failure as Error).message).toBe(`"${big}" changed while it was being committed (size 2097152 -> 2097153); commit again once it is settled`);

      // Nothing committed, mars still alive, and the next commit carries both files.
      expect(s.mars.dead).toBe(false);
      expect(s.mars.eve).toBe(0);
      expect(await listFiles(s.mars)).toEqual([]);
      const ok = await s.commit();
      expect(ok).toMatchObject({ eve: 1, added: 2, changed: 0, deleted: 0, bytes: 2 * 1024 * 1024 + 1 + 6 });
      expect(await listFiles(s.mars)).toEqual([
        { path: ["big", "bin"], size: 2 * 1024 * 1024 + 1 },
        { path: ["small", "txt"], size: 6 },
      ]);
    }, 60_000);
  }
});
