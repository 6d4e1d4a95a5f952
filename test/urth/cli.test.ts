/**
 * The command line as an operator meets it: help, version, usage errors with their exit status,
 * the ways to name a pier, the pier lock, the read-only commands beside a running urth (through its
 * control socket), `stop`, and `urth cat BIG | head`.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { COMMANDS, HELP, USAGE } from "../../src/urth/cli.ts";
import { PierLock } from "../../src/urth/pier-lock.ts";
import { pierPaths } from "../../src/urth/pier.ts";
import { cleanUp, leftoverSegments, MAIN, notePier, pseudoRandomBytes, spawnUrth, startRun, stderrLines, tempDir, tempPier, urth, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const USAGE_LINE = USAGE.split("\n")[0];

describe("help, version and usage errors", () => {
  test("--help on every command prints its help on stdout and exits 0", async () => {
    const dir = tempDir();
    const all = await Promise.all([["--help"], ["-h"], ...COMMANDS.map((c) => [c, "--help"]), ["cat", "-h"]].map((args) => urth(args, { cwd: dir })));
    expect(all[0]).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: "" });
    expect(all[1]).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: "" });
    COMMANDS.forEach((c, i) => expect(all[i + 2]).toEqual({ code: 0, stdout: `${HELP[c]}\n`, stderr: "" }));
    expect(all.at(-1)).toEqual({ code: 0, stdout: `${HELP.cat}\n`, stderr: "" });
    // Help is not an action: no pier was created.
    expect(existsSync(join(dir, "pier"))).toBe(false);
  });

  test("--version prints urth's and Bun's versions", async () => {
    expect(await urth(["--version"])).toEqual({ code: 0, stdout: `urth ${pkg.version} (Plea, Bun ${Bun.version})\n`, stderr: "" });
  });

  test("usage errors exit 2 with the reason and a usage line on stderr", async () => {
    const dir = tempDir();
    const cases: [string[], string, string][] = [
      [["frobnicate"], `Unknown command "frobnicate"; commands: ${COMMANDS.join(", ")}`, USAGE_LINE],
      [["ls", "--bogus"], "Unknown option --bogus for urth ls; urth ls --help lists its options", HELP.ls.split("\n")[0]],
      [["--bogus"], "Unknown option --bogus for urth run; urth run --help lists its options", USAGE_LINE],
      [["cat", "--json", "x"], "Unknown option --json for urth cat; urth cat --help lists its options", HELP.cat.split("\n")[0]],
      [["ls", "--pier", "a", "--pier=b"], "The option --pier is given twice; give it once", HELP.ls.split("\n")[0]],
      [["ls", "--pier"], "The option --pier needs a value", HELP.ls.split("\n")[0]],
      [["cat"], "urth cat needs an argument", HELP.cat.split("\n")[0]],
      [["cat", "a", "b"], 'Unexpected argument "b" for urth cat', HELP.cat.split("\n")[0]],
      [["status", "extra"], 'Unexpected argument "extra" for urth status', HELP.status.split("\n")[0]],
      [["commit", "--plea-threshold", "lots"], '--plea-threshold takes a byte count like 268435456 or 256M; got "lots"', USAGE_LINE],
      [["run", "--debounce", "soon"], '--debounce takes a whole number; got "soon"', USAGE_LINE],
      [["log", "--limit", "-1"], "The option --limit needs a value", HELP.log.split("\n")[0]],
      [["log", "--limit", "x"], '--limit takes a whole number; got "x"', USAGE_LINE],
    ];
    const results = await Promise.all(cases.map(([args]) => urth(args, { cwd: dir })));
    results.forEach((r, i) => expect({ args: cases[i][0], ...r }).toEqual({ args: cases[i][0], code: 2, stdout: "", stderr: `urth: ${cases[i][1]}\n${cases[i][2]}\n` }));
    // A refused command line touches nothing: no pier was created.
    expect(existsSync(join(dir, "pier"))).toBe(false);
  });

  test("commands other than run and commit refuse a directory that is not a pier (exit 7)", async () => {
    const dir = tempDir();
    const results = await Promise.all([["cat", "a.txt"], ["ls"], ["status"], ["log"], ["stop"]].map((args) => urth([...args, "--pier", join(dir, "nope")])));
    for (const r of results) expect(r).toEqual({ code: 7, stdout: "", stderr: `urth: No pier at "${join(dir, "nope")}" (no .urb/pier.json). Run "urth commit --pier ${join(dir, "nope")}" or "urth run" to create one\n` });
    mkdirSync(join(dir, "old/.urb"), { recursive: true });
    writeFileSync(join(dir, "old/.urb/pier.json"), '{"format":99}\n');
    const old = await urth(["commit", "--pier", join(dir, "old")]);
    expect(old).toEqual({ code: 7, stdout: "", stderr: `urth: The pier at "${join(dir, "old")}" has format version 99; this urth reads version 1. Use the matching Plea release\n` });
  });
});

describe("naming the pier", () => {
  test("--pier DIR, --pier=DIR, URTH_PIER and ./pier all name the pier", async () => {
    const dir = tempDir();
    const pier = join(dir, "pier");
    notePier(pier);
    mkdirSync(join(pier, "base"), { recursive: true });
    writeFileSync(join(pier, "base/a.txt"), "a\n");
    expect((await urth(["commit", "--pier", pier])).stdout).toMatch(/^event 1: 1 added, /);
    writeFileSync(join(pier, "base/b.txt"), "b\n");
    expect((await urth(["commit", `--pier=${pier}`])).stdout).toMatch(/^event 2: 1 added, /);
    writeFileSync(join(pier, "base/c.txt"), "c\n");
    expect((await urth(["commit"], { env: { URTH_PIER: pier } })).stdout).toMatch(/^event 3: 1 added, /);
    writeFileSync(join(pier, "base/d.txt"), "d\n");
    expect((await urth(["commit"], { cwd: dir })).stdout).toMatch(/^event 4: 1 added, /);
    // --pier wins over URTH_PIER; a relative --pier is relative to the working directory.
    const other = join(dir, "other");
    notePier(other);
    expect((await urth(["commit", "--pier", pier], { env: { URTH_PIER: other } })).stdout).toBe("nothing to commit\n");
    expect(existsSync(other)).toBe(false);
    expect(await urth(["cat", "d.txt", "--pier", "pier"], { cwd: dir })).toEqual({ code: 0, stdout: "d\n", stderr: "" });
    expect(await urth(["cat", "c.txt"], { env: { URTH_PIER: pier } })).toEqual({ code: 0, stdout: "c\n", stderr: "" });
  }, 60_000);
});

describe("beside a running urth", () => {
  test("a second run or commit exits 3; cat, ls, status and log answer through the socket; stop stops it", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(8 * 1024 * 1024, 5));
    const run = await startRun(pier);
    await run.waitForLine("stdout", /^event 1: 2 added, /, "the first commit");

    const [commit, second] = await Promise.all([urth(["commit", "--pier", pier]), urth(["run", "--pier", pier])]);
    const locked = `urth: The pier "${pier}" is in use by another urth (pid ${run.proc.pid}). Stop it first ("urth stop --pier ${pier}"), or use cat, ls, status or log alongside it\n`;
    expect(commit).toEqual({ code: 3, stdout: "", stderr: locked });
    expect(second).toEqual({ code: 3, stdout: "", stderr: locked });

    const [cat, catClay, missing, ls, status, log] = await Promise.all([
      urth(["cat", "a.txt", "--pier", pier]),
      urth(["cat", "/a/txt", "--pier", pier]),
      urth(["cat", "nope.txt", "--pier", pier]),
      urth(["ls", "--pier", pier]),
      urth(["status", "--pier", pier]),
      urth(["log", "--json", "--pier", pier]),
    ]);
    expect(cat).toEqual({ code: 0, stdout: "a\n", stderr: "" });
    expect(catClay).toEqual({ code: 0, stdout: "a\n", stderr: "" });
    expect(missing).toEqual({ code: 5, stdout: "", stderr: "urth: no committed file at nope.txt\n" });
    expect(ls).toEqual({ code: 0, stdout: `           2  a.txt\n     8388608  big.bin\n`, stderr: "" });
    expect(status.code).toBe(0);
    expect(status.stderr).toBe("");
    expect(status.stdout).toMatch(new RegExp(`^pier        ${pier} \\(urth running\\)\nevent       1\nmug         0x[0-9a-f]+\nfiles       2\nbytes       8\\.00 MiB \\(8388610\\)\nlast commit \\S+ via pipe\nshm kind    (memfd|named) \\(auto: [^\n]+\\)\nsegments    none\n$`));
    expect(JSON.parse(log.stdout)).toMatchObject([{ eve: 1, kind: "into", path: "pipe" }]);
    expect(await urth(["ls", "nothing/here", "--pier", pier])).toEqual({ code: 5, stdout: "", stderr: "urth: no committed files under nothing/here\n" });

    // cat BIG | head through the socket: quiet, status 0, and the running urth is unharmed.
    expect(await catHead(pier, "big.bin")).toEqual({ catStatus: 0, headBytes: 10, stderr: "" });
    expect((await urth(["cat", "a.txt", "--pier", pier])).stdout).toBe("a\n");

    const stop = await urth(["stop", "--pier", pier]);
    expect(stop).toEqual({ code: 0, stdout: "", stderr: "urth: stopped\n" });
    expect(await run.exited()).toBe(0);
    expect(run.stderrLines.at(-1)).toBe("urth: stopping");
    expect(run.stdoutLines).toEqual([expect.stringMatching(/^event 1: 2 added, 0 changed, 0 deleted, 8\.00 MiB via pipe in /)]);
    // The socket is gone and the lock is free.
    expect(existsSync(pierPaths(pier).socket)).toBe(false);
    const lock = PierLock.tryAcquire(pierPaths(pier).lockFile);
    expect(lock).toBeDefined();
    lock?.release();
    expect(await urth(["stop", "--pier", pier])).toEqual({ code: 6, stdout: "", stderr: `urth: no urth is running on ${pier}\n` });
  }, 90_000);

  test("urth cat BIG | head -c 10 exits quietly with status 0 and leaves the pier free", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(16 * 1024 * 1024, 6));
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    expect(await catHead(pier, "big.bin")).toEqual({ catStatus: 0, headBytes: 10, stderr: "" });
    // cat's own session let go of the pier and its mars: a commit takes the pier at once.
    expect(await urth(["commit", "--pier", pier])).toMatchObject({ code: 0, stdout: "nothing to commit\n" });
  }, 60_000);

  test("two readers of an idle pier take turns instead of failing", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    const results = await Promise.all([0, 1, 2, 3].map(() => urth(["cat", "a.txt", "--pier", pier])));
    for (const r of results) expect(r).toEqual({ code: 0, stdout: "a\n", stderr: "" });
  }, 60_000);
});

describe("readers and writers", () => {
  test("a commit waits for a reader's own session to let go of the pier instead of refusing", async () => {
    const { pier, mount } = tempPier();
    const big = join(mount, "big.bin");
    writeFileSync(big, pseudoRandomBytes(16 * 1024 * 1024, 7));
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);

    // A cat whose stdout nobody reads yet holds the pier (its session) while it is blocked.
    const cat = Bun.spawn([process.execPath, MAIN, "cat", "big.bin", "--pier", pier], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    try {
      const lockFile = pierPaths(pier).lockFile;
      await waitFor(() => PierLock.holderInfo(lockFile).pid === cat.pid && PierLock.tryAcquire(lockFile) === undefined, "cat to hold the pier");
      writeFileSync(join(mount, "new.txt"), "new\n");
      const commit = spawnUrth(["commit", "--pier", pier], pier);
      await commit.waitForLine("stderr", new RegExp(`^urth: waiting for a reader \\(pid ${cat.pid}\\) to let go of the pier$`), "commit to wait for the reader");

      const hasher = new Bun.CryptoHasher("sha256");
      for await (const chunk of cat.stdout) hasher.update(chunk);
      expect(await cat.exited).toBe(0);
      expect(hasher.digest("hex")).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(big)).digest("hex"));
      expect(await commit.exited()).toBe(0);
      expect(commit.stdoutLines).toEqual([expect.stringMatching(/^event 2: 1 added, 0 changed, 0 deleted, 4 B via pipe in /)]);
    } finally {
      cat.kill("SIGKILL");
    }
  }, 60_000);
});

/** `bash -c 'urth cat PATH | head -c 10 | wc -c'`: cat's exit status, what head passed on, cat's stderr. */
async function catHead(pier: string, path: string): Promise<{ catStatus: number; headBytes: number; stderr: string }> {
  const dir = tempDir();
  const errFile = join(dir, "cat.err");
  const script = `"$1" "$2" cat "$3" --pier "$4" 2>"$5" | head -c 10 | wc -c; echo "\${PIPESTATUS[0]}"`;
  const p = Bun.spawn(["bash", "-c", script, "bash", process.execPath, MAIN, path, pier, errFile], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(stderrLines(err)).toEqual([]);
  const [bytes, status] = out.trim().split(/\s+/).map(Number);
  return { catStatus: status, headBytes: bytes, stderr: await Bun.file(errFile).text() };
}
