/**
 * What the mount may hold that a commit must refuse or skip, through the real CLI: a file above
 * one atom's 4 GiB, two files that map to one Clay path, dot-files, backups, symlinks and FIFOs.
 * A refused commit commits nothing at all, not even the good files beside the bad one.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanUp, leftoverSegments, stderrLines, tempPier, urth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** What a pier holds, seen through ls and log. */
async function committed(pier: string): Promise<{ files: string[]; events: number }> {
  const ls = await urth(["ls", "--json", "--pier", pier]);
  expect(ls.code).toBe(0);
  const log = await urth(["log", "--json", "--pier", pier]);
  expect(log.code).toBe(0);
  return { files: (JSON.parse(ls.stdout) as { path: string }[]).map((f) => f.path), events: (JSON.parse(log.stdout) as unknown[]).length };
}

test("a file above 4 GiB is refused with its size and nothing is committed", async () => {
  const { pier, mount } = tempPier();
  writeFileSync(join(mount, "good.txt"), "good\n");
  const huge = join(mount, "huge.img");
  writeFileSync(huge, "");
  truncateSync(huge, 4 * 1024 ** 3 + 1); // sparse: no disk used
  const r = await urth(["commit", "--pier", pier]);
  expect(r).toEqual({
    code: 1,
    stdout: "",
    stderr: `urth: "huge.img" is 4294967297 bytes; one file is at most 4294967296 bytes (4 GiB, one atom). Split it or move it out of the mount\n`,
  });
  expect(await committed(pier)).toEqual({ files: [], events: 0 });

  rmSync(huge);
  const ok = await urth(["commit", "--pier", pier]);
  expect(ok.stdout).toMatch(/^event 1: 1 added, 0 changed, 0 deleted, 5 B via pipe /);
}, 60_000);

test("two files that map to the same Clay path fail the commit, naming both", async () => {
  const { pier, mount } = tempPier();
  mkdirSync(join(mount, "a/b"), { recursive: true });
  writeFileSync(join(mount, "a/b.c"), "file b.c\n");
  writeFileSync(join(mount, "a/b/c"), "file c in b\n");
  writeFileSync(join(mount, "good.txt"), "good\n");
  const r = await urth(["commit", "--pier", pier]);
  expect(r).toEqual({ code: 1, stdout: "", stderr: `urth: "a/b.c" and "a/b/c" both map to the Clay path /a/b/c; rename one of them\n` });
  expect(await committed(pier)).toEqual({ files: [], events: 0 });

  // A file and a directory of the same stem do not clash: /a/b/c and /a/b/c/d/e are both files.
  rmSync(join(mount, "a/b/c"));
  mkdirSync(join(mount, "a/b/c"));
  writeFileSync(join(mount, "a/b/c/d.e"), "deeper\n");
  const ok = await urth(["commit", "--pier", pier]);
  expect(ok).toMatchObject({ code: 0, stderr: "" });
  expect(ok.stdout).toMatch(/^event 1: 3 added, /);
  expect((await committed(pier)).files.sort()).toEqual(["a/b.c", "a/b/c/d.e", "good.txt"]);
}, 60_000);

test("dot-files, backups ending in ~, symlinks and FIFOs are skipped and reported on stderr", async () => {
  const { pier, mount } = tempPier();
  mkdirSync(join(mount, "dir/.git"), { recursive: true });
  writeFileSync(join(mount, "dir/.git/HEAD"), "ref\n");
  writeFileSync(join(mount, ".hidden.txt"), "hidden\n");
  writeFileSync(join(mount, "notes.txt~"), "backup\n");
  writeFileSync(join(mount, "notes.txt"), "notes\n");
  mkdirSync(join(mount, "old~"));
  writeFileSync(join(mount, "old~/kept.txt"), "a directory ending in ~ is walked, as vere does\n");
  symlinkSync("notes.txt", join(mount, "link.txt"));
  symlinkSync("dir", join(mount, "dirlink"));
  const fifo = Bun.spawnSync(["mkfifo", join(mount, "pipe.fifo")]);
  expect(fifo.exitCode).toBe(0);

  const r = await urth(["commit", "--pier", pier]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^event 1: 2 added, 0 changed, 0 deleted, /);
  expect(stderrLines(r.stderr).sort()).toEqual(
    [
      "skipped .hidden.txt (dot-file)",
      "skipped dir/.git (dot-file)",
      "skipped notes.txt~ (backup-file)",
      "skipped link.txt (symlink)",
      "skipped dirlink (symlink)",
      "skipped pipe.fifo (special-file)",
    ].sort(),
  );
  expect((await committed(pier)).files.sort()).toEqual(["notes.txt", "old~/kept.txt"]);

  // --json reports the same skips, and a commit with nothing new says so.
  const again = await urth(["commit", "--json", "--pier", pier]);
  expect(again.code).toBe(0);
  const j = JSON.parse(again.stdout);
  expect(j).toMatchObject({ eve: null, path: "none", added: 0, changed: 0, deleted: 0 });
  expect(j.skipped).toHaveLength(6);
}, 60_000);

/** root reads a mode-000 file anyway, so "permission denied" cannot be produced when tests run as root. */
const AS_ROOT = process.getuid?.() === 0;
if (AS_ROOT) console.log("skipping the unreadable-file test: the tests run as root, who can read a mode-000 file");

test.skipIf(AS_ROOT)("an unreadable file fails the commit, naming it, and nothing is committed", async () => {
  const { pier, mount } = tempPier();
  writeFileSync(join(mount, "good.txt"), "good\n");
  writeFileSync(join(mount, "secret.txt"), "secret\n", { mode: 0o000 });
  const r = await urth(["commit", "--pier", pier]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^urth: Cannot read "secret\.txt": EACCES/);
  expect(await committed(pier)).toEqual({ files: [], events: 0 });
}, 60_000);
