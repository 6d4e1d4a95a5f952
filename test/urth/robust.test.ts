/**
 * The command line and the control socket under hostile or clumsy use (issue 12, items 4, 5, 6,
 * 10, 11, 12, 13, 14): each test replays the audit's scenario against the real CLI.
 *
 * - cat beside a running urth: a commit landing mid-read does not disturb it (it writes the version
 *   it began, whole: reads come from the read view, docs/urth.md "Reads during a commit"); the urth
 *   killed mid-read ends cat non-zero with the reason on stderr, stdout a prefix of that version.
 * - Output through a slow pipe is never cut short, and `| head` still ends quietly.
 * - A name that is not UTF-8 is reported as skipped, never dropped without a word.
 * - `--pier=` and a debounce above the timer's limit are usage errors.
 * - A damaged mount cache is a hint to drop, not a TypeError on every commit.
 * - SIGHUP stops `run` as SIGTERM does.
 * - The control socket enforces its request limit, decodes UTF-8 across reads, and answers wrong
 *   JSON types with a typed error.
 * - One meaning per exit status, one message per failure, no stack traces.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { ExitCode, USAGE } from "../../src/urth/cli.ts";
import { exitCodeFor } from "../../src/urth/exit-code.ts";
import { MarsExited } from "../../src/urth/mars-exited.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { PleaError } from "../../src/error.ts";
import { PierLocked } from "../../src/urth/pier-lock.ts";
import { pierPaths } from "../../src/urth/pier.ts";
import { UsageError } from "../../src/urth/cli.ts";
import { cleanUp, leftoverSegments, MAIN, pseudoRandomBytes, REPO, startRun, stderrLines, tempDir, tempPier, urth, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { concat } from "../ipc/random.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** Writes beside the mount and renames in, so a commit never sees a file half-written. */
function placeFile(dir: string, dest: string, data: Uint8Array | string): void {
  const tmp = join(dir, "placing.tmp");
  writeFileSync(tmp, data);
  renameSync(tmp, dest);
}

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

function alive(pid: number): boolean {
  // A zombie still has a /proc entry; its state letter says it is gone.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Runs a bash script with positional arguments; returns its stdout and stderr. */
async function bash(script: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = Bun.spawn(["bash", "-c", script, "bash", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

describe("cat beside a running urth (item 4)", () => {
  /** Three of cat's 4 MiB pieces: enough for a commit or a kill to land between two of them. */
  const SIZE = 12 * 1024 * 1024;

  /**
   * Starts `urth cat big.bin` and reads its first bytes: cat is streaming the first piece, and as
   * nobody reads on, the pipe and the socket fill and the running urth waits inside that piece.
   */
  async function startCat(pier: string) {
    const cat = Bun.spawn([process.execPath, MAIN, "cat", "big.bin", "--pier", pier], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const stderr = new Response(cat.stderr).text();
    const reader = cat.stdout.getReader();
    const parts: Uint8Array[] = [];
    const first = await reader.read();
    if (first.value) parts.push(first.value);
    return {
      cat,
      async finish(): Promise<{ code: number; out: Uint8Array; stderr: string }> {
        for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
        return { code: await cat.exited, out: concat(parts), stderr: await stderr };
      },
    };
  }

  test("a commit landing mid-read does not disturb cat: it writes the version it began with, whole, and exits 0", async () => {
    const { dir, pier, mount } = tempPier();
    const v1 = pseudoRandomBytes(SIZE, 41);
    placeFile(dir, join(mount, "big.bin"), v1);
    const run = await startRun(pier, ["--debounce", "100"]);
    await run.waitForLine("stdout", /^event 1: /, "the first commit");
    const cat = await startCat(pier);
    placeFile(dir, join(mount, "big.bin"), pseudoRandomBytes(SIZE, 42));
    await run.waitForLine("stdout", /^event 2: 0 added, 1 changed, /, "the commit of the new version");
    const r = await cat.finish();
    // Before the read view, cat failed here ("changed while it was being read"): it read through
    // mars piece by piece, and the commit replaced the file between two pieces.
    expect(r.stderr).toBe("");
    expect(r.code).toBe(ExitCode.ok);
    expect(r.out.length).toBe(SIZE);
    expect(Buffer.compare(r.out, v1)).toBe(0);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  }, 90_000);

  test("an urth killed mid-read ends cat with status 1, saying how many bytes of how many arrived", async () => {
    const { dir, pier, mount } = tempPier();
    const v1 = pseudoRandomBytes(SIZE, 43);
    placeFile(dir, join(mount, "big.bin"), v1);
    const run = await startRun(pier, ["--debounce", "100"]);
    await run.waitForLine("stdout", /^event 1: /, "the first commit");
    const mars = childrenOf(run.proc.pid);
    expect(mars).toHaveLength(1);
    const cat = await startCat(pier);
    run.proc.kill("SIGKILL");
    await run.exited();
    const r = await cat.finish();
    expect(r.code).toBe(ExitCode.failed);
    const m = /^urth: The urth holding the pier went away after sending (\d+) of 12582912 bytes \(it exited or was killed\); the output is incomplete\. Run cat again\n$/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(r.out.length);
    expect(r.out.length).toBeLessThan(SIZE);
    expect(Buffer.compare(r.out, v1.subarray(0, r.out.length))).toBe(0);
    // The killed urth's mars sees its stdin close and exits.
    await waitFor(() => !alive(mars[0]), "the killed urth's mars to exit");
  }, 90_000);
});

describe("output through a pipe (item 5)", () => {
  test("a slow pipe gets every line of ls (alone and beside a run) and of commit's stderr; ls | head exits quietly", async () => {
    const { pier, mount } = tempPier();
    mkdirSync(join(mount, "lib"));
    for (let i = 0; i < 3000; i++) writeFileSync(join(mount, "lib", `file-${String(i).padStart(4, "0")}.txt`), `${i}\n`);
    for (let i = 0; i < 2000; i++) writeFileSync(join(mount, `.dot-${i}`), "");
    // The reader sleeps before it reads: urth's output waits in the pipe, which holds 64 KiB.
    const slow = (command: string) => bash(`"$1" "$2" ${command} --pier "$3" | (sleep 1; wc -l)`, [process.execPath, MAIN, pier]);
    const commit = await bash(`"$1" "$2" commit --pier "$3" 2>&1 >/dev/null | (sleep 1; wc -l)`, [process.execPath, MAIN, pier]);
    expect(commit.stdout.trim()).toBe("2000");
    expect((await slow("ls")).stdout.trim()).toBe("3000");
    const head = await bash(`"$1" "$2" ls --pier "$3" | head -1; echo "\${PIPESTATUS[0]}"`, [process.execPath, MAIN, pier]);
    expect(head).toEqual({ stdout: "           2  lib/file-0000.txt\n0\n", stderr: "", code: 0 });

    const run = await startRun(pier, ["--debounce", "100"]);
    const ls = await slow("ls");
    expect(ls.stderr).toBe("");
    expect(ls.stdout.trim()).toBe("3000");
    const json = await urth(["ls", "--json", "--pier", pier]);
    expect(JSON.parse(json.stdout)).toHaveLength(3000);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  }, 90_000);
});

describe("names that are not UTF-8 (item 6)", () => {
  test("a file or directory whose name is not UTF-8 is reported as skipped, its bytes escaped", async () => {
    const { pier, mount } = tempPier();
    const bytesPath = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
    writeFileSync(bytesPath(mount, "/bad-", [0xe9], ".txt"), "latin-1\n");
    mkdirSync(bytesPath(mount, "/dir-", [0xff]));
    writeFileSync(bytesPath(mount, "/dir-", [0xff], "/inner.txt"), "inner\n");
    writeFileSync(join(mount, "good.txt"), "good\n");
    const r = await urth(["commit", "--pier", pier]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^event 1: 1 added, 0 changed, 0 deleted, 5 B via pipe in /);
    expect(stderrLines(r.stderr).sort()).toEqual(["skipped bad-\\xe9.txt (not-utf-8)", "skipped dir-\\xff (not-utf-8)"]);
    expect((await urth(["ls", "--pier", pier])).stdout).toBe("           5  good.txt\n");
  }, 60_000);
});

describe("usage errors (item 10)", () => {
  test("an empty --pier or URTH_PIER is a usage error, and nothing is created in the current directory", async () => {
    const cwd = tempDir();
    for (const args of [["commit", "--pier="], ["commit", "--pier", ""], ["status", "--pier="], ["--pier="]]) {
      const r = await urth(args, { cwd });
      expect(r.code).toBe(ExitCode.usage);
      expect(r.stderr.split("\n")[0]).toBe("urth: The option --pier needs a value; got an empty one");
    }
    const env = await urth(["commit"], { cwd, env: { URTH_PIER: "" } });
    expect(env.code).toBe(ExitCode.usage);
    expect(env.stderr.split("\n")[0]).toBe("urth: URTH_PIER is set but empty; name the pier or unset it");
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);

  test("a debounce above the timer's limit (2^31-1 ms) is refused before anything starts", async () => {
    const { pier } = tempPier();
    rmSync(pier, { recursive: true });
    for (const value of ["99999999999", "2147483648", "1e3", "-1"]) {
      const r = await urth(["run", "--pier", pier, "--debounce", value]);
      expect(r.code).toBe(ExitCode.usage);
      expect(r.stdout).toBe("");
    }
    const r = await urth(["run", "--pier", pier, "--debounce", "99999999999"]);
    expect(r.stderr.split("\n")[0]).toBe('urth: --debounce is at most 2147483647 (the timer\'s limit, about 24.8 days); got "99999999999"');
    expect(existsSync(pier)).toBe(false);
  }, 60_000);
});

describe("a damaged mount cache (item 11)", () => {
  for (const [what, text] of [
    ["an entry that is null", '{"files":{"/s1/txt":null}}'],
    ["an entry of the wrong types", '{"files":{"/s1/txt":{"rel":5,"size":"3","mtimeMs":null,"ino":[]}}}'],
    ["an entry naming another file", '{"files":{"/s1/txt":{"rel":"other.txt","size":3,"mtimeMs":1,"ino":1}}}'],
    ["files that are a list", '{"files":[1,2,3]}'],
    ["a cache that is not JSON", "{not json"],
    ["a cache that is null", "null"],
  ] as const) {
    test(`${what}: commits still work and the cache is rebuilt`, async () => {
      const { pier, mount } = tempPier();
      writeFileSync(join(mount, "s1.txt"), "s1\n");
      writeFileSync(join(mount, "s2.txt"), "s2\n");
      expect((await urth(["commit", "--pier", pier])).code).toBe(0);
      writeFileSync(pierPaths(pier).mountCache, text);
      writeFileSync(join(mount, "s3.txt"), "s3\n");
      const r = await urth(["commit", "--pier", pier]);
      expect(stderrLines(r.stderr)).toEqual([]);
      // s3 is new; what the cache no longer vouches for is sent again (identical bytes).
      expect(r.stdout).toMatch(/^event 2: 1 added, [12] changed, 0 deleted, /);
      expect(r.code).toBe(0);
      expect(await urth(["commit", "--pier", pier])).toMatchObject({ code: 0, stdout: "nothing to commit\n" });
      expect((await urth(["ls", "--pier", pier])).stdout).toBe("           3  s1.txt\n           3  s2.txt\n           3  s3.txt\n");
      expect((await urth(["cat", "s1.txt", "--pier", pier])).stdout).toBe("s1\n");
    }, 60_000);
  }
});

describe("SIGHUP (item 12)", () => {
  test("SIGHUP during a commit finishes it, exits 0, removes the socket and leaves no mars behind", async () => {
    const { dir, pier, mount } = tempPier();
    const run = await startRun(pier, ["--debounce", "100"]);
    const mars = childrenOf(run.proc.pid);
    expect(mars).toHaveLength(1);
    // 80 MiB: above the progress threshold, so urth says on stderr when the commit is under way.
    placeFile(dir, join(mount, "big.bin"), pseudoRandomBytes(80 * 1024 * 1024, 12));
    await run.waitForLine("stderr", /^commit: 80\.0 MiB via pipe: sending through the pipe$/, "the commit to be in flight");
    run.proc.kill("SIGHUP");
    expect(await run.exited()).toBe(0);
    expect(run.stdoutLines).toEqual([expect.stringMatching(/^event 1: 1 added, 0 changed, 0 deleted, 80\.0 MiB via pipe in /)]);
    expect(run.stderrLines).toContain("urth: stopping");
    expect(existsSync(pierPaths(pier).socket)).toBe(false);
    expect(alive(mars[0])).toBe(false);
    expect(await urth(["commit", "--pier", pier])).toMatchObject({ code: 0, stdout: "nothing to commit\n" });
  }, 90_000);
});

describe("a signal to the whole process group (Ctrl-C in a terminal)", () => {
  test("reaches mars too: mars ignores it, and run finishes the commit in flight and exits 0", async () => {
    const { dir, pier, mount } = tempPier();
    const run = await startRun(pier, ["--debounce", "100"]);
    const mars = childrenOf(run.proc.pid);
    expect(mars).toHaveLength(1);
    placeFile(dir, join(mount, "big.bin"), pseudoRandomBytes(80 * 1024 * 1024, 13));
    await run.waitForLine("stderr", /^commit: 80\.0 MiB via pipe: sending through the pipe$/, "the commit to be in flight");
    // What a terminal's Ctrl-C, a hang-up or `kill -- -PGID` does: every process of the group gets
    // it. Before, mars died of it mid-event and run exited 4.
    for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.kill(mars[0], signal);
    run.proc.kill("SIGINT");
    expect(await run.exited()).toBe(0);
    expect(run.stdoutLines).toEqual([expect.stringMatching(/^event 1: 1 added, 0 changed, 0 deleted, 80\.0 MiB via pipe in /)]);
    expect(alive(mars[0])).toBe(false);
    expect(await urth(["commit", "--pier", pier])).toMatchObject({ code: 0, stdout: "nothing to commit\n" });
  }, 90_000);
});

describe("the control socket (item 13)", () => {
  /** Writes `parts` to the socket, each after a pause so they arrive as separate reads; returns the answer. */
  async function raw(socket: string, parts: Uint8Array[]): Promise<Uint8Array> {
    const sock = createConnection({ path: socket });
    const chunks: Uint8Array[] = [];
    const closed = new Promise<void>((resolve, reject) => {
      sock.on("data", (c: Uint8Array) => chunks.push(new Uint8Array(c)));
      sock.on("close", () => resolve());
      sock.on("error", reject);
    });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    for (const [i, p] of parts.entries()) {
      if (i > 0) await Bun.sleep(200);
      sock.write(p);
    }
    await closed;
    return concat(chunks);
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const enc = (s: string) => new TextEncoder().encode(s);

  test("the 64 KiB limit holds with the newline in the same read; UTF-8 split across writes; wrong types get a typed error", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "café.txt"), "café\n");
    const run = await startRun(pier, ["--debounce", "100"]);
    await run.waitForLine("stdout", /^event 1: /, "the first commit");
    const socket = pierPaths(pier).socket;

    // 200 KiB in one write, newline included: refused, not answered as a status request.
    const long = text(await raw(socket, [enc(`{"op":"status","pad":"${"x".repeat(200 * 1024)}"}\n`)]));
    expect(JSON.parse(long)).toEqual({ ok: false, code: "control_protocol", message: "The request is longer than 65536 bytes; a request is one short JSON line" });
    // A client still sending when it is refused (70 KiB, then the rest 200 ms later) still reads the
    // refusal: the server drops what follows instead of closing on unread bytes, which resets the
    // connection (ECONNRESET, no answer) before the client has read it.
    const pad = `{"op":"status","pad":"${"x".repeat(200 * 1024)}"}\n`;
    const slow = text(await raw(socket, [enc(pad.slice(0, 70 * 1024)), enc(pad.slice(70 * 1024))]));
    expect(JSON.parse(slow)).toMatchObject({ ok: false, code: "control_protocol" });
    // The same without a newline.
    const endless = text(await raw(socket, [enc(`{"op":"status","pad":"${"x".repeat(200 * 1024)}`)]));
    expect(JSON.parse(endless)).toMatchObject({ ok: false, code: "control_protocol" });

    // "é" is two bytes (c3 a9): the first write ends between them.
    const request = enc('{"op":"cat","path":"café.txt"}\n');
    const cut = request.indexOf(0xc3) + 1;
    const cat = text(await raw(socket, [request.subarray(0, cut), request.subarray(cut)]));
    expect(cat).toBe('{"ok":true,"size":6}\n{"bytes":6}\ncafé\n{"ok":true}\n');

    for (const bad of ['{"op":"cat","path":5}', '{"op":"cat"}', '{"op":"cat","path":""}', '{"op":"ls","prefix":[]}', '{"op":7}', '{"op":"nope"}', "[1]", "null", '"status"', "{", '{"op":"status"} trailing']) {
      const reply = JSON.parse(text(await raw(socket, [enc(`${bad}\n`)]))) as { ok: boolean; code: string; message: string };
      expect(reply).toMatchObject({ ok: false, code: "control_protocol" });
      // A sentence for a person, not a JavaScript TypeError.
      expect(reply.message).not.toMatch(/TypeError|is not a function|undefined is not|null is not/);
    }
    // A request that is not UTF-8.
    const latin = JSON.parse(text(await raw(socket, [Uint8Array.of(...enc('{"op":"cat","path":"caf'), 0xe9, ...enc('.txt"}\n'))])));
    expect(latin).toEqual({ ok: false, code: "control_protocol", message: "The request is not UTF-8" });

    // The running urth is unharmed.
    expect(await urth(["cat", "café.txt", "--pier", pier])).toEqual({ code: 0, stdout: "café\n", stderr: "" });
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  }, 90_000);
});

describe("exit statuses and error messages (item 14)", () => {
  test("each failure maps to one exit status; mars's own status 3 and 7 keep their meaning", () => {
    const marsExit = (exitCode: number | null, signal: string | null = null) => new MarsExited(UrthErrorCode.mars.start, "mars exited before it was ready", { exitCode, signal, stderrTail: [] });
    expect(exitCodeFor(new UsageError("bad"))).toBe(ExitCode.usage);
    expect(exitCodeFor(new PierLocked("held by pid 1", 1))).toBe(ExitCode.locked);
    expect(exitCodeFor(new PleaError(UrthErrorCode.pier.version, "other version"))).toBe(ExitCode.pier);
    expect(exitCodeFor(marsExit(7))).toBe(ExitCode.pier);
    expect(exitCodeFor(marsExit(3))).toBe(ExitCode.locked);
    expect(exitCodeFor(marsExit(1))).toBe(ExitCode.marsExited);
    expect(exitCodeFor(marsExit(null, "SIGSEGV"))).toBe(ExitCode.marsExited);
    expect(exitCodeFor(new TypeError("x is not a function"))).toBe(ExitCode.failed);
  });

  test("a writer's mars that dies before it is ready, not by refusing the pier: its own line first, once, then urth's (review)", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    // A file where mars's snapshot directory should be: mars fails at start with EEXIST (status 1).
    rmSync(join(pier, ".urb/chk"), { recursive: true });
    writeFileSync(join(pier, ".urb/chk"), "");
    const r = await urth(["commit", "--pier", pier]);
    const lines = stderrLines(r.stderr);
    expect(r.code).toBe(ExitCode.marsExited);
    // Before: only "urth: mars exited with status 1 before it was ready"; mars's reason was held
    // back until ready and then dropped.
    expect(lines.filter((l) => l.startsWith("mars: ") && /EEXIST.*chk/.test(l)).length).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.startsWith("urth: "))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^urth: mars exited/);
  }, 60_000);

  test("a damaged segment namespace is a damaged pier (7); a bad PLEA_SHM_KIND is a usage error (2) (review)", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    expect((await urth(["status", "--pier", pier], { env: { PLEA_SHM_KIND: "posix" } })).code).toBe(ExitCode.usage);
    writeFileSync(join(pier, ".urb/shm-namespace"), "not hex\n");
    const r = await urth(["status", "--pier", pier]);
    expect(r.code).toBe(ExitCode.pier);
    expect(stderrLines(r.stderr)).toEqual([expect.stringMatching(/^urth: .*shm-namespace/)]);
  }, 60_000);

  test("ExitCode, urth --help and docs/urth.md list the same statuses with the same meanings", () => {
    const docs = readFileSync(join(REPO, "docs/urth.md"), "utf8");
    const section = docs.slice(docs.indexOf("## Exit statuses"), docs.indexOf("\n## ", docs.indexOf("## Exit statuses") + 1));
    const rows = new Map([...section.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]));
    const help = USAGE.slice(USAGE.indexOf("Exit status:")).replace(/\s+/g, " ");
    const codes = Object.values(ExitCode).sort((a, b) => a - b);
    expect([...rows.keys()]).toEqual(codes);
    expect([...help.matchAll(/(\d+) /g)].map((m) => Number(m[1]))).toEqual(codes);
    // The meanings the audit found disagreeing: 3 also covers mars's log lock, 7 a damaged pier.
    expect(rows.get(ExitCode.locked)).toMatch(/another mars/);
    expect(help).toMatch(/3 pier or its log locked/);
    expect(rows.get(ExitCode.pier)).toMatch(/damaged/);
    expect(help).toMatch(/7 not a pier, another version, or damaged/);
    expect(rows.get(ExitCode.marsExited)).toMatch(/crashed/);
  });

  test("a pier whose mars refuses to start: one urth line that carries mars's reason, no stack trace", async () => {
    const { pier, mount } = tempPier();
    // 2 MiB: an atom of 1 MiB or more lives in the blob store (docs/blob-store.md).
    writeFileSync(join(mount, "x.bin"), pseudoRandomBytes(2 * 1024 * 1024, 14));
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    const blobs = readdirSync(join(pier, ".urb/bob")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(blobs).toHaveLength(1);
    rmSync(join(pier, ".urb/bob", blobs[0]));
    for (const command of ["status", "commit", "ls"]) {
      const r = await urth([command, "--pier", pier]);
      const lines = stderrLines(r.stderr);
      expect(lines.filter((l) => /^\s+at /.test(l))).toEqual([]);
      // mars's reason is said once, as urth's own message, and it is the only line.
      expect(lines).toEqual([expect.stringMatching(/^urth: .*blob .* is missing/)]);
      expect(r.code).toBe(ExitCode.pier);
      expect(r.stdout).toBe("");
    }
  }, 60_000);
});
