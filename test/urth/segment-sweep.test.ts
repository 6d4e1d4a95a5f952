/**
 * The orphan sweep against a hostile or odd machine (issue 12, items 7 and 9):
 * - another local user's file under a segment name of the pier, in the world-writable segment
 *   directory, neither locks an ordinary user out of the pier nor gets deleted by root;
 * - an orphan left by a SIGKILLed mars is swept whichever name (a symlink or the real path) the
 *   pier was opened by, before and after.
 * Segments live in a private directory per test (PLEA_SHM_DIR), mode 1777 like /dev/shm.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { legacyNamespaceForPier } from "../../src/ffi/index.ts";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { parseGift } from "../../src/ipc/gift.ts";
import { taskToNoun } from "../../src/ipc/task.ts";
import { segmentNamespace, segmentNamespacePath } from "../../src/pier/segment-namespace.ts";
import { MARS_MAIN_PATH } from "../../src/urth/mars-process.ts";
import { cleanUp, leftoverSegments, pseudoRandomBytes, stderrLines, tempPier, urth, type Result, type UrthOptions } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** The ordinary user urth runs as in these tests. */
const NOBODY = 65534;
/** Another local user, the squatter: a uid with no account is as good as any. */
const SQUATTER = 4321;
/** Above Linux's PID_MAX_LIMIT (2^22): a creator that never ran, so the name is an orphan's. */
const PID_NEVER = 2 ** 22 + 1;
const MIB = 1024 * 1024;

const AS_ROOT = process.getuid?.() === 0;
if (!AS_ROOT) console.warn("skipping the tests with another user's files: they need root (chown, and spawning urth as another user)");

/** Checks that a command succeeded and said nothing on stderr but mars's replay note. */
function expectOk(r: Result): void {
  expect({ code: r.code, stderr: stderrLines(r.stderr) }).toEqual({ code: 0, stderr: [] });
}

/** A segment directory like /dev/shm: mode 1777, anyone may create files in it. */
function sharedSegmentDir(parent: string): string {
  const shm = join(parent, "shm");
  mkdirSync(shm);
  chmodSync(shm, 0o1777);
  return shm;
}

/** A file of `uid` under the name of an orphan of `namespace` (its creator never ran). */
function squat(shm: string, namespace: string, uid: number, seq = 0): string {
  const name = `plea-${namespace}-${PID_NEVER}-1-${seq}`;
  writeFileSync(join(shm, name), "mine, not yours\n", { mode: 0o644 });
  chownSync(join(shm, name), uid, uid);
  return name;
}

test.skipIf(!AS_ROOT)(
  "as an ordinary user, another user's files under the pier's segment names lock nobody out and are left alone",
  async () => {
    const { dir, pier, mount } = tempPier();
    const shm = sharedSegmentDir(dir);
    writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(MIB, 1));
    for (const path of [dir, pier, mount, join(mount, "big.bin")]) chownSync(path, NOBODY, NOBODY);
    const asNobody: UrthOptions = { uid: NOBODY, gid: NOBODY, env: { PLEA_SHM_DIR: shm, HOME: dir } };

    // The squatter computes the name the old naming gives the pier's segments (its path's hash).
    const legacy = squat(shm, legacyNamespaceForPier(pier), SQUATTER);
    const first = await urth(["commit", "--pier", pier, "--plea-threshold", "64K"], asNobody);
    expectOk(first);
    expect(first.stdout).toMatch(/^event 1: 1 added, 0 changed, 0 deleted, 1\.00 MiB via plea in /);

    // The pier's namespace is its own, unreadable to others; root (or a peek at a live segment)
    // could still learn it: a squatter there is left alone as well.
    expect(statSync(segmentNamespacePath(pier))).toMatchObject({ uid: NOBODY, mode: 0o100600 });
    const own = squat(shm, segmentNamespace(pier), SQUATTER);
    const status = await urth(["status", "--pier", pier], asNobody);
    expectOk(status);
    expect(status.stdout).toContain("segments    none");
    writeFileSync(join(mount, "more.bin"), pseudoRandomBytes(MIB, 2));
    chownSync(join(mount, "more.bin"), NOBODY, NOBODY);
    const second = await urth(["commit", "--pier", pier, "--plea-threshold", "64K"], asNobody);
    expectOk(second);
    expect(second.stdout).toMatch(/^event 2: 1 added, .* via plea in /);
    expect(await urth(["ls", "--pier", pier], asNobody)).toMatchObject({ code: 0, stdout: expect.stringContaining("more.bin") });

    for (const name of [legacy, own]) expect([name, lstatSync(join(shm, name)).uid]).toEqual([name, SQUATTER]);
    // urth's own segments are gone.
    expect(readdirSync(shm).sort()).toEqual([legacy, own].sort());
  },
  60_000,
);

test.skipIf(!AS_ROOT)(
  "run as root, urth does not delete another user's file under a segment name of the pier",
  async () => {
    const { dir, pier, mount } = tempPier();
    const shm = sharedSegmentDir(dir);
    writeFileSync(join(mount, "a.txt"), "a\n");
    const env: UrthOptions = { env: { PLEA_SHM_DIR: shm } };
    const legacy = squat(shm, legacyNamespaceForPier(pier), NOBODY);
    expectOk(await urth(["commit", "--pier", pier], env));
    const own = squat(shm, segmentNamespace(pier), NOBODY);
    // A removable orphan of root's own beside them: the sweep still does its job.
    squat(shm, segmentNamespace(pier), 0, 1);
    const status = await urth(["status", "--pier", pier], env);
    expectOk(status);
    expect(status.stdout).toContain("segments    none");
    expect(readdirSync(shm).sort()).toEqual([legacy, own].sort());
    for (const name of [legacy, own]) expect(lstatSync(join(shm, name)).uid).toBe(NOBODY);
  },
  60_000,
);

/**
 * Starts mars on the pier named `via` as urth would, asks it for a segment of `bytes`, and
 * SIGKILLs it once it has made one: the segment is left behind. Returns its file name.
 */
async function orphanOfKilledMars(via: string, shm: string, bytes: number): Promise<string> {
  const mars = Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", via], { env: { ...process.env, PLEA_SHM_DIR: shm }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(mars.stderr).text();
  const writer = new FrameWriter(mars.stdin, { name: "mars's stdin" });
  try {
    const reader = new FrameReader(mars.stdout, { name: "mars's stdout" });
    expect(parseGift(await cueFrame((await reader.next())!))).toMatchObject({ type: "ripe" });
    await writer.send(taskToNoun({ type: "plea", length: bytes }));
    const grant = parseGift(await cueFrame((await reader.next())!));
    if (grant.type !== "plea" || !grant.ok || grant.kind === "memfd") throw new Error(`expected a granted named segment, got ${JSON.stringify(grant)}`);
    return grant.name.slice(1);
  } finally {
    mars.kill("SIGKILL");
    await mars.exited;
    await stderr;
    await writer.close().catch(() => {});
  }
}

test(
  "an orphan of a SIGKILLed mars is swept whichever name, a symlink or the real path, the pier is opened by",
  async () => {
    const { dir, pier, mount } = tempPier();
    const link = join(dir, "link");
    symlinkSync(pier, link);
    const shm = join(dir, "shm");
    mkdirSync(shm);
    const env: UrthOptions = { env: { PLEA_SHM_DIR: shm } };
    writeFileSync(join(mount, "a.txt"), "a\n");
    expectOk(await urth(["commit", "--pier", link], env));
    for (const [killedVia, openedVia] of [
      [link, pier],
      [pier, link],
    ]) {
      const orphan = await orphanOfKilledMars(killedVia, shm, 4 * MIB);
      expect(readdirSync(shm)).toEqual([orphan]);
      expect(statSync(join(shm, orphan)).size).toBe(4 * MIB);
      const status = await urth(["status", "--pier", openedVia], env);
      expectOk(status);
      expect(status.stdout).toContain("segments    none");
      expect({ killedVia, openedVia, left: readdirSync(shm) }).toEqual({ killedVia, openedVia, left: [] });
    }
    expect(existsSync(join(pier, ".urb/shm-namespace"))).toBe(true);
  },
  60_000,
);
