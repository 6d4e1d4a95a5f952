/**
 * Reads never wait behind a commit (docs/urth.md, "Reads during a commit"): while a commit is in
 * flight, `status`, `ls`, `cat` and `log` answer from the last durable state, and `status` shows
 * the commit; once it is acknowledged they show the new state. To hold a commit in flight for as
 * long as the test needs, mars is stopped (SIGSTOP) before the change is made: every answer below
 * comes while mars cannot answer anything, so none of them went through mars.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CommitFlight } from "../../src/urth/commit-flight.ts";
import { ListingCache } from "../../src/urth/view-reads.ts";
import { Session } from "../../src/urth/session.ts";
import { ExitCode } from "../../src/urth/cli.ts";
import { controlHandler } from "../../src/urth/control-handler.ts";
import { controlRequest } from "../../src/urth/control.ts";
import { pierPaths } from "../../src/urth/pier.ts";
import { childrenOf, cleanUp, holdProcess, leftoverSegments, pseudoRandomBytes, startRun, tempPier, urth, urthBytes, waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

interface Status {
  eve: number;
  files: number;
  running: boolean;
  commit: { phase: string; path: string; files: number; bytes: number } | null;
}

async function status(pier: string): Promise<Status> {
  const r = await urth(["status", "--json", "--pier", pier]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

async function lsPaths(pier: string, arg?: string): Promise<string[]> {
  const r = await urth(["ls", "--json", "--pier", pier, ...(arg === undefined ? [] : [arg])]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { path: string }[]).map((f) => f.path) : [`exit ${r.code}: ${r.stderr}`];
}

describe("a running urth", () => {
  test("answers reads from the last durable state while mars is busy with a commit, and from the new state once it is acknowledged", async () => {
    const { pier, mount } = tempPier();
    mkdirSync(join(mount, "dir"));
    writeFileSync(join(mount, "a.txt"), "old a\n");
    writeFileSync(join(mount, "dir/README"), "read me\n");
    const big = pseudoRandomBytes(3 * 1024 * 1024, 11);
    writeFileSync(join(mount, "big.bin"), big);
    const run = await startRun(pier, ["--debounce", "50"]);
    await waitFor(async () => (await status(pier)).eve === 1, "the first commit");
    const marsPid = childrenOf(run.proc.pid)[0];
    expect(marsPid).toBeGreaterThan(0);
    holdProcess(marsPid);
    process.kill(marsPid, "SIGSTOP");
    try {
      writeFileSync(join(mount, "a.txt"), "new a, longer\n");
      writeFileSync(join(mount, "b.txt"), "b\n");
      writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(2 * 1024 * 1024, 12));
      // The commit reaches mars (stopped) and waits there: status shows it in flight.
      let seen: Status | undefined;
      await waitFor(async () => (seen = await status(pier)).commit?.phase === "persisting", "status to show the commit waiting for mars");
      expect(seen!.eve).toBe(1);
      expect(seen!.running).toBe(true);
      expect(seen!.commit).toMatchObject({ files: 3, phase: "persisting" });
      // Every read shows event 1's state, whole: none of the new files, none of the new bytes.
      expect((await urth(["cat", "a.txt", "--pier", pier])).stdout).toBe("old a\n");
      expect(await lsPaths(pier)).toEqual(["a.txt", "big.bin", "dir/README"]);
      expect(await lsPaths(pier, "dir")).toEqual(["dir/README"]);
      const cat = await urthBytes(["cat", "big.bin", "--pier", pier]);
      expect(cat.code).toBe(0);
      expect(Buffer.compare(Buffer.from(cat.stdout), Buffer.from(big))).toBe(0);
      const missing = await urth(["cat", "b.txt", "--pier", pier]);
      expect(missing).toEqual({ code: ExitCode.notFound, stdout: "", stderr: "urth: no committed file at b.txt\n" });
      const log = await urth(["log", "--json", "--pier", pier]);
      expect((JSON.parse(log.stdout) as { eve: number }[]).map((i) => i.eve)).toEqual([1]);
    } finally {
      process.kill(marsPid, "SIGCONT");
    }
    // Acknowledged: the new state, whole, and nothing in flight.
    await waitFor(async () => (await status(pier)).eve === 2, "the second commit");
    const after = await status(pier);
    expect(after.commit).toBeNull();
    expect((await urth(["cat", "a.txt", "--pier", pier])).stdout).toBe("new a, longer\n");
    expect(await lsPaths(pier)).toEqual(["a.txt", "b.txt", "big.bin", "dir/README"]);
    expect(readFileSync(join(mount, "b.txt"), "utf8")).toBe("b\n");
    const stop = await urth(["stop", "--pier", pier]);
    expect(stop.code).toBe(0);
    expect(await run.exited()).toBe(0);
  });
});

describe("CommitFlight", () => {
  test("a reader sees no commit, then each phase with its counts, then none again", () => {
    const writer = new CommitFlight();
    // The reader's view of the same memory, as the read worker has it.
    const reader = new CommitFlight(writer.buffer);
    expect(reader.read()).toBeNull();
    writer.begin(Date.UTC(2026, 11, 5));
    expect(reader.read()).toEqual({ phase: "scanning", path: "unknown", startedAt: "2026-12-05T00:00:00.000Z", files: 0, bytes: 0, filledBytes: 0, stagedBytes: 0 });
    writer.planned(3, 3000);
    writer.update("filling", { path: "plea", filledBytes: 1000 });
    expect(reader.read()).toMatchObject({ phase: "filling", path: "plea", files: 3, bytes: 3000, filledBytes: 1000 });
    writer.update("persisting", { filledBytes: 3000 });
    expect(reader.read()).toMatchObject({ phase: "persisting", path: "plea", filledBytes: 3000 });
    writer.end();
    expect(reader.read()).toBeNull();
    // A new commit starts from zero counts.
    writer.begin(0);
    expect(reader.read()).toMatchObject({ files: 0, filledBytes: 0, path: "unknown" });
  });
});

describe("ListingCache", () => {
  const a = [{ path: "a.txt", clay: "/a/txt", size: 1 }];
  test("keeps a listing for its event only, forgets all on clear, and keeps nothing past its bound", () => {
    const cache = new ListingCache();
    expect(cache.get(1, undefined)).toBeUndefined();
    cache.set(1, undefined, a);
    cache.set(1, "dir", []);
    expect(cache.get(1, undefined)).toBe(a);
    expect(cache.get(1, "dir")).toEqual([]);
    // Another event: what was kept is of the old state.
    expect(cache.get(2, undefined)).toBeUndefined();
    cache.set(2, "dir", a);
    expect(cache.get(1, undefined)).toBeUndefined();
    expect(cache.get(2, "dir")).toBe(a);
    cache.clear();
    expect(cache.get(2, "dir")).toBeUndefined();
    const huge = Array.from({ length: 200_001 }, (_, i) => ({ path: `f${i}`, clay: `/f${i}`, size: 0 }));
    cache.set(3, undefined, huge);
    expect(cache.get(3, undefined)).toBeUndefined();
  });
});

describe("the read worker's failure", () => {
  test("a worker that dies hands the socket to the main thread, which says so and goes on answering through mars", async () => {
    const { pier, mount } = tempPier();
    writeFileSync(join(mount, "a.txt"), "a\n");
    const notes: string[] = [];
    let session: Session | undefined;
    const s = await Session.open(pier, { control: controlHandler(() => session, () => {}), onLog: () => {}, onNote: (line) => notes.push(line) });
    session = s;
    try {
      expect((await s.commit()).eve).toBe(1);
      const socket = pierPaths(pier).socket;
      const ls = async () => ((await controlRequest(socket, { op: "ls", prefix: "" })).files as { path: string }[]).map((f) => f.path);
      expect(await ls()).toEqual(["a.txt"]);
      expect(notes).toEqual([]);
      // A message the worker cannot take makes it throw, uncaught: the worker ends.
      (s as unknown as { reads: { worker: Worker } }).reads.worker.postMessage({ type: "rels", set: null, del: [] });
      await waitFor(() => notes.length > 0, "urth to notice the worker died");
      expect(notes).toEqual([expect.stringMatching(/^urth: reads are now served by the main thread and wait for commits: the read worker /)]);
      await waitFor(async () => (await ls().catch(() => [])).length === 1, "the main thread to answer on the socket");
      let bytes = "";
      await controlRequest(socket, { op: "cat", path: "a.txt" }, (chunk) => void (bytes += new TextDecoder().decode(chunk)));
      expect(bytes).toBe("a\n");
    } finally {
      await s.close();
    }
  });
});
