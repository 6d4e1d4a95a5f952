/**
 * A full shared-memory filesystem, for real: the test mounts small tmpfs filesystems (as root)
 * and points segments at them with the test-only `dir` option and $PLEA_SHM_DIR.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { createSegment, listSegments, nextSegmentName, openSegment, Segment, SHM_DIR_ENV, SysError } from "../../src/ffi/index.ts";
import { firstMismatch, mountTmpfs, pattern, runFixture, TEST_NAMESPACE, trackSegments } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const MIB = 1024 * 1024;
const small = mountTmpfs("8m");
const docker = mountTmpfs("64m");
for (const fs of [small, docker]) if (fs.reason) console.warn(`skipping tmpfs tests: ${fs.reason}`);

/** Every segment a test makes goes through here, so it is removed even when the test fails. */
const track = trackSegments();

afterAll(() => {
  for (const fs of [small, docker]) {
    if (fs.dir) expect(readdirSync(fs.dir)).toEqual([]);
    fs.unmount();
  }
});

function thrown(f: () => unknown): SysError {
  try {
    f();
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
  throw new Error("expected a SysError");
}

describe.skipIf(!small.dir || !docker.dir)("a full shared-memory filesystem", () => {
  test("the 64 MiB container case: 100 MiB fails with Docker's remedy before anything is created", () => {
    const dir = docker.dir!;
    const name = nextSegmentName(TEST_NAMESPACE);
    const error = thrown(() => createSegment(name, 100 * MIB, { dir }));
    expect(error.code).toBe("ENOSPC");
    expect(error.call).toBe("statfs");
    expect(error.message).toContain(`Cannot create segment "${name}" of ${100 * MIB} bytes`);
    expect(error.message).toContain("nothing was created");
    expect(error.message).toContain(`${dir} has 64 MiB free of 64 MiB`);
    expect(error.message).toContain("--shm-size=");
    expect(readdirSync(dir)).toEqual([]);
    // What fits, still works.
    const fits = track(createSegment(name, 32 * MIB, { dir }));
    fits.write(32 * MIB - 1, new Uint8Array([1]));
  });

  test("a second segment that no longer fits is ENOSPC, and the first one stays usable", () => {
    const dir = small.dir!;
    const first = track(createSegment(nextSegmentName(TEST_NAMESPACE), 6 * MIB, { dir }));
    const error = thrown(() => createSegment(nextSegmentName(TEST_NAMESPACE), 6 * MIB, { dir }));
    expect(error.code).toBe("ENOSPC");
    expect(readdirSync(dir)).toEqual([first.name.slice(1)]);
    // Every page of the first was reserved: touching all of them is no SIGBUS.
    first.write(0, pattern(0, 6 * MIB, 8));
    expect(firstMismatch(first.windows[0], 0, 8)).toBe(-1);
  });

  test("the kernel's own ENOSPC from fallocate is a clean SysError and leaves nothing behind", () => {
    const dir = small.dir!;
    const error = thrown(() => createSegment(nextSegmentName(TEST_NAMESPACE), 16 * MIB, { dir, checkSpace: false }));
    expect(error.code).toBe("ENOSPC");
    expect(error.call).toBe("fallocate");
    expect(error.message).toContain("--shm-size=");
    expect(readdirSync(dir)).toEqual([]);
    // The failed reservation was undone: the filesystem is not left full.
    track(createSegment(nextSegmentName(TEST_NAMESPACE), 7 * MIB, { dir })).windows[0].fill(1);
  });

  test("PLEA_SHM_DIR moves a child's segments, and listSegments sees them there", async () => {
    const dir = small.dir!;
    const name = nextSegmentName(TEST_NAMESPACE);
    const segment = track(createSegment(name, MIB, { dir }));
    expect(listSegments(TEST_NAMESPACE, { dir }).map((s) => s.name)).toEqual([name]);
    const child = await runFixture(["fill", name, String(MIB), "3", String(MIB)], { [SHM_DIR_ENV]: dir });
    expect(child).toMatchObject({ exitCode: 0, stderr: "" });
    expect(firstMismatch(segment.windows[0], 0, 3)).toBe(-1);
    // Not in /dev/shm: opening it there is ENOENT.
    expect(() => openSegment(name, { mode: "read", dir: "/dev/shm" })).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
