/**
 * Segments: create, open, windows, errors, and two real processes sharing one segment.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { unlinkSync, writeFileSync } from "node:fs";
import {
  createSegment,
  FfiErrorCode,
  nextSegmentName,
  openSegment,
  PAGE_BYTES,
  Segment,
  segmentPath,
  SysError,
} from "../../src/ffi/index.ts";
import { isPleaError } from "../../src/error.ts";
import { firstMismatch, leftovers, pattern, runFixture, TEST_NAMESPACE, trackSegments } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Every segment a test makes goes through here, so it is removed even when the test fails. */
const track = trackSegments();

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

describe("a segment in one process", () => {
  test("create maps a zeroed, shared segment that a reader sees", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const writer = track(createSegment(name, 10_000));
    expect(writer.name).toBe(name);
    expect(writer.length).toBe(10_000);
    expect(writer.mode).toBe("create");
    expect(writer.windows.length).toBe(1);
    expect(writer.windows[0].every((b) => b === 0)).toBe(true);
    writer.write(0, pattern(0, 10_000, 3));
    const reader = track(openSegment(name, { mode: "read", length: 10_000 }));
    expect(firstMismatch(reader.windows[0], 0, 3)).toBe(-1);
  });

  test("read and write cross the borders of small windows", () => {
    const window = PAGE_BYTES;
    const length = 4 * window + 123; // five windows, the last one short
    const segment = track(createSegment(nextSegmentName(TEST_NAMESPACE), length, { windowBytes: window }));
    expect(segment.windows.map((w) => w.length)).toEqual([window, window, window, window, 123]);

    // One write over every border, then reads of every shape.
    segment.write(0, pattern(0, length, 9));
    expect(firstMismatch(segment.windows[4], 4 * window, 9)).toBe(-1);
    for (const [pos, len] of [[0, length], [window - 1, 2], [window - 10, 2 * window + 20], [length - 1, 1], [5, 0], [length, 0]]) {
      const target = new Uint8Array(len);
      segment.read(pos, target);
      expect(firstMismatch(target, pos, 9)).toBe(-1);
    }

    // A write that starts and ends inside windows leaves its neighbours alone.
    segment.write(window - 3, new Uint8Array(window + 6).fill(0xff));
    const around = new Uint8Array(window + 10);
    segment.read(window - 5, around);
    expect(Array.from(around.subarray(0, 2))).toEqual([pattern(window - 5, 2, 9)[0], pattern(window - 5, 2, 9)[1]]);
    expect(around.subarray(2, window + 8).every((b) => b === 0xff)).toBe(true);
    expect(firstMismatch(around.subarray(window + 8), 2 * window + 3, 9)).toBe(-1);
  });

  test("subarray is a view inside one window and refuses to span two", () => {
    const segment = track(createSegment(nextSegmentName(TEST_NAMESPACE), 3 * PAGE_BYTES, { windowBytes: PAGE_BYTES }));
    const view = segment.subarray(PAGE_BYTES + 10, 100);
    view.fill(5);
    expect(segment.windows[1][10]).toBe(5);
    expect(segment.subarray(PAGE_BYTES, PAGE_BYTES).length).toBe(PAGE_BYTES);
    expect(segment.subarray(3 * PAGE_BYTES, 0).length).toBe(0);
    expect(() => segment.subarray(PAGE_BYTES - 1, 2)).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.outOfRange }));
  });

  test("reads, writes and views outside the segment are refused", () => {
    const segment = track(createSegment(nextSegmentName(TEST_NAMESPACE), 100));
    const out = expect.objectContaining({ code: FfiErrorCode.segment.outOfRange });
    expect(() => segment.read(99, new Uint8Array(2))).toThrow(out);
    expect(() => segment.write(-1, new Uint8Array(1))).toThrow(out);
    expect(() => segment.write(0.5, new Uint8Array(1))).toThrow(out);
    expect(() => segment.subarray(50, 51)).toThrow(out);
  });

  test("a stray write on a reader's mapping stays private", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const writer = track(createSegment(name, 3 * PAGE_BYTES));
    writer.write(0, pattern(0, writer.length, 1));
    const reader = track(openSegment(name, { mode: "read" }));
    reader.windows[0].fill(0xee, 10, 2 * PAGE_BYTES);
    expect(reader.windows[0][PAGE_BYTES]).toBe(0xee);
    expect(firstMismatch(writer.windows[0], 0, 1)).toBe(-1);
    // And a writer's later writes still reach the reader's untouched pages.
    writer.write(2 * PAGE_BYTES + 1, new Uint8Array([0x42]));
    expect(reader.windows[0][2 * PAGE_BYTES + 1]).toBe(0x42);
  });

  test("madvise dontneed drops a reader's private copies", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const writer = track(createSegment(name, 2 * PAGE_BYTES));
    writer.write(0, pattern(0, writer.length, 4));
    const reader = track(openSegment(name, { mode: "read" }));
    reader.windows[0][7] = 0xee;
    reader.advise("dontneed");
    expect(firstMismatch(reader.windows[0], 0, 4)).toBe(-1);
    expect(() => reader.advise("dontneed", 1)).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.outOfRange }));
  });

  test("a name that exists already is EEXIST and the existing segment is untouched", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const first = track(createSegment(name, PAGE_BYTES));
    first.windows[0][0] = 9;
    let error: unknown;
    try {
      createSegment(name, 2 * PAGE_BYTES);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SysError);
    expect(error).toMatchObject({ code: "EEXIST", call: "shm_open" });
    expect((error as Error).message).toContain(name);
    expect(first.windows[0][0]).toBe(9);
    expect(track(openSegment(name, { mode: "read" })).length).toBe(PAGE_BYTES);
  });

  test("opening a missing name is ENOENT", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    for (const mode of ["read", "write"] as const) {
      expect(() => openSegment(name, { mode })).toThrow(expect.objectContaining({ code: "ENOENT", call: "shm_open" }));
    }
  });

  test("an object shorter than its peer announced is refused before mapping", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    track(createSegment(name, PAGE_BYTES));
    let error: unknown;
    try {
      openSegment(name, { mode: "read", length: 2 * PAGE_BYTES });
    } catch (e) {
      error = e;
    }
    expect(isPleaError(error, FfiErrorCode.segment)).toBe(true);
    expect(error).toMatchObject({ code: FfiErrorCode.segment.tooSmall });
    expect((error as Error).message).toContain(`holds ${PAGE_BYTES} bytes but its peer announced ${2 * PAGE_BYTES}`);
    // A longer object is fine: only the announced length is mapped.
    expect(track(openSegment(name, { mode: "read", length: 10 })).length).toBe(10);
  });

  test("an empty object (a creator that never sized it) is refused", () => {
    const name = `/plea-${TEST_NAMESPACE}-empty`;
    writeFileSync(segmentPath(name), "");
    try {
      expect(() => openSegment(name, { mode: "read" })).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.tooSmall }));
    } finally {
      unlinkSync(segmentPath(name));
    }
  });

  test("a Segment cannot be constructed around an arbitrary address", () => {
    const Unchecked = Segment as unknown as new (...args: unknown[]) => Segment;
    expect(() => new Unchecked(Symbol("Segment"), "/plea-x", 4096, "read", 4096, 4096, undefined)).toThrow(/invariant/);
  });

  test("names and lengths a peer could send are checked before any call", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    for (const bad of ["/dev-shm-x", "/plea-../x", "plea-x", "/plea-"]) {
      expect(() => createSegment(bad, 10)).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.nameInvalid }));
      expect(() => openSegment(bad, { mode: "read" })).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.nameInvalid }));
    }
    for (const bad of [0, -1, 1.5, NaN, 2 ** 41]) {
      expect(() => createSegment(name, bad)).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.lengthInvalid }));
    }
    expect(() => createSegment(name, 10, { windowBytes: 1000 })).toThrow(RangeError);
    expect(() => createSegment(name, 10, { windowBytes: 2 ** 33 })).toThrow(RangeError);
    expect(leftovers()).not.toContain(name.slice(1));
  });

  test("unlink and close are idempotent, and unlink after the peer's unlink is fine", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const writer = track(createSegment(name, PAGE_BYTES));
    const reader = track(openSegment(name, { mode: "write" }));
    expect(reader.unlink()).toBe(true);
    expect(writer.unlink()).toBe(false);
    expect(writer.unlink()).toBe(false);
    // The mapping outlives the name.
    writer.windows[0][1] = 1;
    expect(reader.windows[0][1]).toBe(1);
    writer.close();
    writer.close();
    expect(writer.closed).toBe(true);
    expect(() => writer.write(0, new Uint8Array(1))).toThrow(expect.objectContaining({ code: FfiErrorCode.segment.closed }));
    expect(reader.windows[0][1]).toBe(1);
  });

  test("using disposes a segment at the end of its block", () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    let escaped: Uint8Array;
    {
      using segment = createSegment(name, PAGE_BYTES);
      segment.unlink();
      escaped = segment.windows[0];
      expect(escaped.length).toBe(PAGE_BYTES);
    }
    expect(escaped.length).toBe(0);
  });
});

describe("a segment shared by two processes", () => {
  const WINDOW = 1 << 20;
  const LENGTH = 3 * WINDOW + 12_345;

  test("a child fills a segment this process created, across windows", async () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const segment = track(createSegment(name, LENGTH, { windowBytes: WINDOW }));
    const child = await runFixture(["fill", name, String(LENGTH), "77", String(2 * WINDOW)]);
    expect(child).toMatchObject({ exitCode: 0, stderr: "", stdout: `filled ${LENGTH} in 2 windows\n` });
    for (let i = 0; i < segment.windows.length; i++) {
      expect(firstMismatch(segment.windows[i], i * WINDOW, 77)).toBe(-1);
    }
  });

  test("a child reads and checks what this process wrote", async () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const segment = track(createSegment(name, LENGTH, { windowBytes: WINDOW }));
    segment.write(0, pattern(0, LENGTH, 201));
    const child = await runFixture(["check", name, String(LENGTH), "201", String(PAGE_BYTES * 64)]);
    expect(child).toMatchObject({ exitCode: 0, stderr: "", stdout: `checked ${LENGTH} in ${Math.ceil(LENGTH / (PAGE_BYTES * 64))} windows\n` });
  });

  test("a child that writes into its read mapping neither crashes nor reaches the writer", async () => {
    const name = nextSegmentName(TEST_NAMESPACE);
    const segment = track(createSegment(name, LENGTH, { windowBytes: WINDOW }));
    segment.write(0, pattern(0, LENGTH, 5));
    const stray = await runFixture(["stray-write", name, String(LENGTH)]);
    expect(stray).toMatchObject({ exitCode: 0, stderr: "", stdout: "stray writes stayed in this process\n" });
    for (let i = 0; i < segment.windows.length; i++) {
      expect(firstMismatch(segment.windows[i], i * WINDOW, 5)).toBe(-1);
    }
    const check = await runFixture(["check", name, String(LENGTH), "5", String(WINDOW)]);
    expect(check.exitCode).toBe(0);
  });
});
