/**
 * A real directory tree through the real CLI: committed with `urth commit`, every file read back
 * through `urth cat` byte for byte, listed by `urth ls`; then changed, added to and pruned and
 * committed again (only the changes travel); then read again after urth and mars restart.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanUp, copyRealTree, eachLimited, leftoverSegments, listFiles, pseudoRandomBytes, startRun, stderrLines, tempPier, urth, urthBytes, type RunningUrth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** `urth cat` processes in flight at once when comparing a whole tree (2 cores, other helpers). */
const CAT_CONCURRENCY = 4;

/** Files whose names or contents are edge cases of the mount's mapping and of atoms. */
function writeEdgeFiles(mount: string): string[] {
  const dir = join(mount, "edge");
  mkdirSync(join(dir, "deep/er/still"), { recursive: true });
  const zeros = new Uint8Array(5000);
  const trailing = new Uint8Array(3000);
  trailing.set(pseudoRandomBytes(1000, 7));
  const files: [string, Uint8Array | string][] = [
    ["edge/empty.txt", ""],
    ["edge/zeros.bin", zeros],
    ["edge/trailing-zeros.bin", trailing],
    ["edge/random.bin", pseudoRandomBytes(200_000, 11)],
    ["edge/Makefile", "all:\n\ttrue\n"],
    ["edge/My Notes.txt", "a name with a space and capitals\n"],
    ["edge/many.dots.tar.gz", pseudoRandomBytes(70_000, 13)],
    ["edge/trailing-dot.", "ends in a dot\n"],
    ["edge/!bang.txt", "vere's escape character\n"],
    ["edge/deep/er/still/here.hoon", "|=  a=@  a\n"],
  ];
  for (const [rel, data] of files) writeFileSync(join(mount, rel), data);
  return files.map(([rel]) => rel);
}

/** Compares every file with `urth cat` (through the socket of `run` if one holds the pier). */
async function expectAllRoundTrip(pier: string, mount: string, rels: readonly string[]): Promise<void> {
  const mismatches: string[] = [];
  await eachLimited(rels, CAT_CONCURRENCY, async (rel) => {
    const r = await urthBytes(["cat", rel, "--pier", pier]);
    const want = readFileSync(join(mount, rel));
    if (r.code !== 0 || r.stderr !== "" || Buffer.compare(Buffer.from(r.stdout), want) !== 0) {
      mismatches.push(`${rel}: status ${r.code}, ${r.stdout.length} bytes (want ${want.length}), stderr ${JSON.stringify(r.stderr)}`);
    }
  });
  expect(mismatches).toEqual([]);
}

interface LsEntry {
  path: string;
  clay: string;
  size: number;
}

async function lsJson(pier: string): Promise<LsEntry[]> {
  const r = await urth(["ls", "--json", "--pier", pier]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as LsEntry[];
}

function sizesOnDisk(mount: string, rels: readonly string[]): Record<string, number> {
  return Object.fromEntries(rels.map((rel) => [rel, statSync(join(mount, rel)).size]));
}

describe("a real directory tree", () => {
  let run: RunningUrth | undefined;
  afterEach(() => {
    run = undefined;
  });

  test("is committed once and every file reads back through urth cat byte for byte", async () => {
    const { pier, mount } = tempPier();
    const rels = [...copyRealTree(mount, "pkg"), ...writeEdgeFiles(mount)].sort();
    expect(rels.length).toBeGreaterThan(50);

    const c = await urth(["commit", "--pier", pier]);
    expect(stderrLines(c.stderr)).toEqual([]);
    expect(c.stdout).toMatch(new RegExp(`^event 1: ${rels.length} added, 0 changed, 0 deleted, [0-9.]+ [KMG]?i?B via pipe in [0-9.]+ m?s\\n$`));
    expect(c.code).toBe(0);

    // The Clay form, a few through a session of cat's own (no urth holds the pier).
    for (const [clay, rel] of [
      ["/pkg/cli-progress/lib/eta/js", "pkg/cli-progress/lib/eta.js"],
      ["/pkg/lz4/LICENSE", "pkg/lz4/LICENSE"],
      ["/pkg/lz4/lib/liblz4.pc/in", "pkg/lz4/lib/liblz4.pc.in"],
      ["/pkg/lmdb-linux-x64/node.napi.glibc/node", "pkg/lmdb-linux-x64/node.napi.glibc.node"],
      ["/edge/My Notes.txt", "edge/My Notes.txt"],
      ["/edge/bang/txt", "edge/!bang.txt"],
    ]) {
      const r = await urthBytes(["cat", clay, "--pier", pier]);
      expect({ clay, code: r.code, stderr: r.stderr, same: Buffer.compare(Buffer.from(r.stdout), readFileSync(join(mount, rel))) === 0 }).toEqual({ clay, code: 0, stderr: "", same: true });
    }

    // Every file, mount-relative, through the control socket of a `run` holding the pier.
    run = await startRun(pier);
    await expectAllRoundTrip(pier, mount, rels);

    // ls: every file with its size, mount-relative; the text form lines up with --json.
    const listed = await lsJson(pier);
    expect(Object.fromEntries(listed.map((e) => [e.path, e.size]))).toEqual(sizesOnDisk(mount, rels));
    expect(listed.find((e) => e.path === "pkg/lz4/LICENSE")?.clay).toBe("/pkg/lz4/LICENSE");
    expect(listed.find((e) => e.path === "edge/many.dots.tar.gz")?.clay).toBe("/edge/many.dots.tar/gz");
    const text = await urth(["ls", "pkg/lz4/lib/dll", "--pier", pier]);
    expect(text).toEqual({
      code: 0,
      stdout: ["pkg/lz4/lib/dll/example/README.md", "pkg/lz4/lib/dll/example/fullbench-dll.sln", "pkg/lz4/lib/dll/example/fullbench-dll.vcxproj", "pkg/lz4/lib/dll/liblz4.def"]
        .map((rel) => `${String(statSync(join(mount, rel)).size).padStart(12)}  ${rel}\n`)
        .sort((a, b) => (a.slice(14) < b.slice(14) ? -1 : 1))
        .join(""),
      stderr: "",
    });

    // ls of one file lists that file; of nothing committed, exits 5.
    const one = await urth(["ls", "edge/many.dots.tar.gz", "--pier", pier]);
    expect(one).toEqual({ code: 0, stdout: `${String(statSync(join(mount, "edge/many.dots.tar.gz")).size).padStart(12)}  edge/many.dots.tar.gz\n`, stderr: "" });
    expect((await urth(["ls", "edge/none.txt", "--pier", pier])).code).toBe(5);

    // --json on status and log parses and agrees.
    const st = await urth(["status", "--json", "--pier", pier]);
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout);
    expect(status).toMatchObject({ eve: 1, files: rels.length, bytes: rels.reduce((n, rel) => n + statSync(join(mount, rel)).size, 0), running: true, segments: [] });
    const lg = await urth(["log", "--json", "--pier", pier]);
    expect(lg.code).toBe(0);
    const log = JSON.parse(lg.stdout);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ eve: 1, kind: "into", path: "pipe" });

    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  }, 180_000);

  test("changes, additions and deletions are committed as such, and only changed files travel", async () => {
    const { pier, mount } = tempPier();
    const rels = copyRealTree(mount, "pkg");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);

    // 2 changed (one in place, one replaced), 3 added, 1 deleted alone, 1 directory of 6 deleted.
    appendFileSync(join(mount, "pkg/cli-progress/lib/eta.js"), "\n// changed\n");
    writeFileSync(join(mount, "pkg/lz4/LICENSE"), "replaced\n");
    writeFileSync(join(mount, "pkg/new.txt"), "new\n");
    mkdirSync(join(mount, "fresh/dir"), { recursive: true });
    writeFileSync(join(mount, "fresh/dir/a.md"), "# a\n");
    writeFileSync(join(mount, "fresh/LICENSE"), pseudoRandomBytes(100, 3));
    rmSync(join(mount, "pkg/cli-progress/CHANGES.md"));
    const presets = rels.filter((r) => r.startsWith("pkg/cli-progress/presets/"));
    expect(presets).toHaveLength(5);
    rmSync(join(mount, "pkg/cli-progress/presets"), { recursive: true });

    const c = await urth(["commit", "--pier", pier]);
    expect(stderrLines(c.stderr)).toEqual([]);
    expect(c.stdout).toMatch(/^event 2: 3 added, 2 changed, 6 deleted, [0-9.]+ (B|KiB) via pipe in [0-9.]+ m?s\n$/);
    expect(c.code).toBe(0);

    const gone = ["pkg/cli-progress/CHANGES.md", ...presets];
    const listed = await lsJson(pier);
    const now = listFiles(mount);
    expect(listed.map((e) => e.path).sort()).toEqual(now);
    for (const rel of gone) expect(listed.some((e) => e.path === rel)).toBe(false);
    for (const rel of gone.slice(0, 2)) {
      expect(await urth(["cat", rel, "--pier", pier])).toEqual({ code: 5, stdout: "", stderr: `urth: no committed file at ${rel}\n` });
    }
    for (const rel of ["pkg/cli-progress/lib/eta.js", "pkg/lz4/LICENSE", "pkg/new.txt", "fresh/dir/a.md", "fresh/LICENSE"]) {
      const r = await urthBytes(["cat", rel, "--pier", pier]);
      expect({ rel, code: r.code, same: Buffer.compare(Buffer.from(r.stdout), readFileSync(join(mount, rel))) === 0 }).toEqual({ rel, code: 0, same: true });
    }

    // One small file changed in a 16 MB tree: the event carries that file, not the tree.
    appendFileSync(join(mount, "pkg/new.txt"), "more\n");
    const one = await urth(["commit", "--pier", pier]);
    expect(one.stdout).toMatch(/^event 3: 0 added, 1 changed, 0 deleted, 9 B via pipe in /);
    const log = JSON.parse((await urth(["log", "--json", "--pier", pier])).stdout) as { eve: number; jamBytes: number; path: string }[];
    expect(log.map((e) => e.eve)).toEqual([1, 2, 3]);
    // The first event's bytes: its jam, plus its files of 1 MiB or more in the blob store.
    const stored = readdirSync(join(pier, ".urb/bob")).filter((n) => /^[0-9a-f]{64}$/.test(n)).reduce((n, f) => n + statSync(join(pier, ".urb/bob", f)).size, 0);
    expect(log[0].jamBytes + stored).toBeGreaterThan(15_000_000);
    expect(log[2].jamBytes).toBeLessThan(1024);
    const limited = JSON.parse((await urth(["log", "--json", "--limit", "1", "--pier", pier])).stdout);
    expect(limited.map((e: { eve: number }) => e.eve)).toEqual([3]);
    const text = await urth(["log", "--pier", pier]);
    expect(text.code).toBe(0);
    expect(text.stdout.trimEnd().split("\n")).toHaveLength(3);
    expect(text.stdout).toMatch(/^ {5}1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}into +[0-9.]+ (KiB|MiB) {2}pipe\n/);
  }, 120_000);

  test("after a restart nothing is re-sent and every file still reads back", async () => {
    const { pier, mount } = tempPier();
    const rels = [...copyRealTree(mount, "pkg"), ...writeEdgeFiles(mount)].sort();
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    writeFileSync(join(mount, "edge/random.bin"), pseudoRandomBytes(300_000, 99));
    expect((await urth(["commit", "--pier", pier])).stdout).toMatch(/^event 2: 0 added, 1 changed, 0 deleted, /);

    // A new urth and a new mars: the mount cache and mars's state agree, so nothing to commit.
    const again = await urth(["commit", "--pier", pier]);
    expect(stderrLines(again.stderr)).toEqual([]);
    expect(again).toMatchObject({ code: 0, stdout: "nothing to commit\n" });

    // Without the mount cache every file is sent again as "changed" (same bytes): nothing is lost.
    rmSync(join(pier, ".urb/mount.json"));
    const resent = await urth(["commit", "--pier", pier]);
    expect(resent.stdout).toMatch(new RegExp(`^event 3: 0 added, ${rels.length} changed, 0 deleted, `));

    run = await startRun(pier);
    expect(run.stdoutLines).toEqual([]);
    await expectAllRoundTrip(pier, mount, rels);
    const listed = await lsJson(pier);
    expect(Object.fromEntries(listed.map((e) => [e.path, e.size]))).toEqual(sizesOnDisk(mount, rels));
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
    // A run with nothing to commit prints no status line.
    expect(run.stdoutLines).toEqual([]);
  }, 180_000);
});
