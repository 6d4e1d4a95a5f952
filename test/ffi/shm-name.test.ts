import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  isValidSegmentName,
  legacyNamespaceForPier,
  nextSegmentName,
  parseSegmentName,
  processStartTime,
  segmentName,
} from "../../src/ffi/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("segment names", () => {
  test("a name carries namespace, pid, start time and sequence", () => {
    const stat = readFileSync("/proc/self/stat", "latin1");
    const startTime = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    expect(segmentName("ab12cd34", 7)).toBe(`/plea-ab12cd34-${process.pid}-${startTime}-7`);
    expect(processStartTime(process.pid)).toBe(startTime);
  });

  test("parseSegmentName inverts segmentName, with or without the slash", () => {
    const name = segmentName("ab12cd34", 42);
    const parts = { namespace: "ab12cd34", pid: process.pid, startTime: processStartTime("self"), seq: 42 };
    expect(parseSegmentName(name)).toEqual(parts as never);
    expect(parseSegmentName(name.slice(1))).toEqual(parts as never);
  });

  test("parseSegmentName refuses what is not a Plea segment name", () => {
    for (const name of ["/plea-ab-1-2", "/plea-AB-1-2-3", "/plea-ab-x-2-3", "/other-ab-1-2-3", "/plea-ab-1-2-3-4", "plea-ab-1-2-3/..", ""]) {
      expect(parseSegmentName(name)).toBeUndefined();
    }
  });

  test("nextSegmentName never repeats a name", () => {
    const names = new Set(Array.from({ length: 100 }, () => nextSegmentName("ab12cd34")));
    expect(names.size).toBe(100);
  });

  test("the legacy namespace is 8 hex digits, stable for a path and distinct across paths", () => {
    const a = legacyNamespaceForPier("/srv/piers/zod");
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(legacyNamespaceForPier("/srv/piers/zod/")).toBe(a);
    expect(legacyNamespaceForPier("/srv/piers/../piers/zod")).toBe(a);
    expect(legacyNamespaceForPier("/srv/piers/nec")).not.toBe(a);
    // Pinned: the hash must not change between versions, or the sweep would miss old orphans.
    expect(legacyNamespaceForPier("/")).toBe("8a5edab2");
  });

  test("segmentName refuses namespaces and sequences that would break parsing", () => {
    expect(() => segmentName("Ab", 1)).toThrow(RangeError);
    expect(() => segmentName("a-b", 1)).toThrow(RangeError);
    expect(() => segmentName("ab", -1)).toThrow(RangeError);
    expect(() => segmentName("ab", 1.5)).toThrow(RangeError);
  });

  test("isValidSegmentName keeps names inside the directory and under the plea- prefix", () => {
    expect(isValidSegmentName("/plea-anything.1_2-3")).toBe(true);
    expect(isValidSegmentName("plea-no-slash")).toBe(false);
    expect(isValidSegmentName("/plea-a/b")).toBe(false);
    expect(isValidSegmentName("/other")).toBe(false);
    expect(isValidSegmentName(`/plea-${"x".repeat(250)}`)).toBe(true); // 255 bytes without the slash
    expect(isValidSegmentName(`/plea-${"x".repeat(251)}`)).toBe(false);
  });
});
