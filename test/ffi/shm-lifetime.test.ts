/**
 * Mapping lifetimes: what happens to views after close(), to a segment nobody closes, and to a
 * mapping whose object a peer truncates. Each case that could fault runs in a child process, so
 * a regression kills the child (and fails its test), never the suite.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { leftovers, runFixture, TEST_NAMESPACE } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterAll(() => {
  expect(leftovers()).toEqual([]);
});

describe("segment lifetimes", () => {
  test("views taken before close() read nothing afterwards, and the mapping is gone", async () => {
    const child = await runFixture(["stale-view", TEST_NAMESPACE]);
    expect(child).toMatchObject({
      exitCode: 0,
      stderr: "",
      stdout: "stale views read nothing and the mapping is gone\n",
    });
  });

  test("a segment dropped without close() is unmapped when the GC collects its views", async () => {
    const child = await runFixture(["gc-backstop", TEST_NAMESPACE]);
    expect(child).toMatchObject({ exitCode: 0, stderr: "", stdout: "the GC unmapped a dropped segment\n" });
  });

  test("a peer that truncates the object under a mapping kills the reader with SIGBUS (documented limit)", async () => {
    const child = await runFixture(["truncated-under-mapping", TEST_NAMESPACE]);
    // Pinned so the limit in docs/shm-segments.md stays true; if this ever survives, update the doc.
    expect(child.signalCode).toBe("SIGBUS");
    expect(child.stdout).toBe("truncated; touching a lost page\n");
  });
});
