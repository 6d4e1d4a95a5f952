/**
 * The orphan sweep: segments whose creator was SIGKILLed, or whose pid now names another
 * process, are removed; everything else is left alone.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createSegment,
  legacyNamespaceForPier,
  listSegments,
  nextSegmentName,
  processStartTime,
  Segment,
  sweepOrphans,
} from "../../src/ffi/index.ts";
import { FIXTURE, leftovers, TEST_NAMESPACE } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Above Linux's PID_MAX_LIMIT (2^22): no process ever has this pid. */
const PID_NEVER = 2 ** 22 + 1;
const OTHER_NAMESPACE = legacyNamespaceForPier(`/plea-test-other/${process.pid}`);

/** Another local user: `nobody`, whose files the tests (run as root) create by chown. */
const OTHER_UID = 65534;
const AS_ROOT = process.getuid?.() === 0;
if (!AS_ROOT) console.warn("skipping the tests of another user's objects: they need root to chown a file to another user");

const made: Segment[] = [];
const children: ReturnType<typeof Bun.spawn>[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
  for (const segment of made.splice(0)) {
    segment.close();
    segment.unlink();
  }
  sweepOrphans(TEST_NAMESPACE);
});

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A segment of `namespace` whose name claims `pid` and `startTime` as its creator. */
function fake(namespace: string, pid: number, startTime: number, seq: number): Segment {
  const segment = createSegment(`/plea-${namespace}-${pid}-${startTime}-${seq}`, 4096);
  made.push(segment);
  return segment;
}

/** The first line a child prints (its segment's name), read as it arrives. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    const end = text.indexOf("\n");
    if (end >= 0) return text.slice(0, end);
  }
  throw new Error(`the child ended its output without a line: ${JSON.stringify(text)}`);
}

describe("sweepOrphans", () => {
  test("removes the segment of a SIGKILLed creator", async () => {
    const child = Bun.spawn([process.execPath, FIXTURE, "create-and-wait", TEST_NAMESPACE], { stdout: "pipe", stderr: "pipe" });
    children.push(child);
    const stderr = new Response(child.stderr).text();
    const name = await firstLine(child.stdout);
    expect(name).toStartWith(`/plea-${TEST_NAMESPACE}-${child.pid}-`);
    expect(listSegments(TEST_NAMESPACE).find((s) => s.name === name)?.creator).toBe("alive");
    expect(sweepOrphans(TEST_NAMESPACE).map((s) => s.name)).not.toContain(name);

    child.kill("SIGKILL");
    expect(await child.exited).toBe(137);
    await stderr;
    expect(leftovers()).toContain(name.slice(1));
    expect(listSegments(TEST_NAMESPACE).find((s) => s.name === name)).toMatchObject({ creator: "exited", bytes: 4096 });

    const removed = sweepOrphans(TEST_NAMESPACE);
    expect(removed.map((s) => s.name)).toEqual([name]);
    expect(removed[0]).toMatchObject({ namespace: TEST_NAMESPACE, pid: child.pid, creator: "exited" });
    expect(leftovers()).not.toContain(name.slice(1));
    expect(sweepOrphans(TEST_NAMESPACE)).toEqual([]);
  });

  test("treats a live pid with another start time as a reused pid, and keeps live creators", () => {
    const start = processStartTime("self") as number;
    const reused = fake(TEST_NAMESPACE, process.pid, start + 1, 1);
    const live = fake(TEST_NAMESPACE, process.pid, start, 2);
    const ours = made[made.push(createSegment(nextSegmentName(TEST_NAMESPACE), 4096)) - 1];
    const gone = fake(TEST_NAMESPACE, PID_NEVER, start, 3);

    const states = Object.fromEntries(listSegments(TEST_NAMESPACE).map((s) => [s.name, s.creator]));
    expect(states).toEqual({ [reused.name]: "pid-reused", [live.name]: "alive", [ours.name]: "alive", [gone.name]: "exited" });

    const removed = sweepOrphans(TEST_NAMESPACE);
    expect(removed.map((s) => s.name).sort()).toEqual([gone.name, reused.name].sort());
    expect(listSegments(TEST_NAMESPACE).map((s) => s.name).sort()).toEqual([live.name, ours.name].sort());
    // A removed segment's mapping is still valid for whoever holds it.
    reused.windows[0][0] = 1;
    expect(reused.windows[0][0]).toBe(1);
  });

  test("leaves other namespaces and names it cannot parse alone", () => {
    const other = fake(OTHER_NAMESPACE, PID_NEVER, 1, 1);
    const odd = createSegment(`/plea-${TEST_NAMESPACE}-not-a-segment`, 4096);
    made.push(odd);
    expect(sweepOrphans(TEST_NAMESPACE)).toEqual([]);
    expect(listSegments(OTHER_NAMESPACE).map((s) => s.name)).toEqual([other.name]);
    expect(listSegments().some((s) => s.name === other.name)).toBe(true);
    expect(listSegments(TEST_NAMESPACE).map((s) => s.name)).not.toContain(odd.name);
    expect(sweepOrphans(OTHER_NAMESPACE).map((s) => s.name)).toEqual([other.name]);
  });

  test("sweeps several namespaces at once (the pier's and the legacy ones)", () => {
    const a = fake(TEST_NAMESPACE, PID_NEVER, 1, 1);
    const b = fake(OTHER_NAMESPACE, PID_NEVER, 1, 2);
    expect(sweepOrphans([TEST_NAMESPACE, OTHER_NAMESPACE]).map((s) => s.name).sort()).toEqual([a.name, b.name].sort());
    expect([...listSegments(TEST_NAMESPACE), ...listSegments(OTHER_NAMESPACE)]).toEqual([]);
  });
});

describe("objects of other users in a world-writable segment directory", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh directory of mode 1777, as /dev/shm is. */
  function stickyDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "plea-shm-sticky-"));
    dirs.push(dir);
    chmodSync(dir, 0o1777);
    return dir;
  }

  /** A file under an orphan's name (its creator never ran), owned by `uid`. */
  function squat(dir: string, namespace: string, seq: number, uid: number): string {
    const name = `plea-${namespace}-${PID_NEVER}-1-${seq}`;
    writeFileSync(join(dir, name), "not yours", { mode: 0o600 });
    chownSync(join(dir, name), uid, uid);
    return name;
  }

  test.skipIf(!AS_ROOT)("root's sweep neither lists nor removes another user's file under its namespace's name, and removes its own orphan", () => {
    const dir = stickyDir();
    const theirs = squat(dir, TEST_NAMESPACE, 1, OTHER_UID);
    const ours = squat(dir, TEST_NAMESPACE, 2, 0);
    expect(listSegments(TEST_NAMESPACE, { dir }).map((s) => s.name)).toEqual([`/${ours}`]);
    expect(sweepOrphans(TEST_NAMESPACE, { dir }).map((s) => s.name)).toEqual([`/${ours}`]);
    expect(existsSync(join(dir, ours))).toBe(false);
    // Root could remove it (it can unlink anything): the sweep must choose not to.
    expect(lstatSync(join(dir, theirs)).uid).toBe(OTHER_UID);
  });

  test.skipIf(!AS_ROOT)("a symlink under a segment's name is neither followed nor removed", () => {
    const dir = stickyDir();
    const target = join(dir, "target");
    writeFileSync(target, "x");
    const name = `plea-${TEST_NAMESPACE}-${PID_NEVER}-1-3`;
    symlinkSync(target, join(dir, name));
    expect(listSegments(TEST_NAMESPACE, { dir })).toEqual([]);
    expect(sweepOrphans(TEST_NAMESPACE, { dir })).toEqual([]);
    expect(lstatSync(join(dir, name)).isSymbolicLink()).toBe(true);
    expect(existsSync(target)).toBe(true);
  });
});
