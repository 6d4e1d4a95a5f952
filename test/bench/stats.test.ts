import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { formatSummary, ratio, summarize } from "../../bench/lib/stats.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("summarize", () => {
  test("takes the middle value of an odd count, with min and max", () => {
    expect(summarize([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30, n: 3 });
  });

  test("averages the middle two of an even count", () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  test("ignores values that are not finite and is undefined when nothing is left", () => {
    expect(summarize([NaN, 5, Infinity])).toEqual({ median: 5, min: 5, max: 5, n: 1 });
    expect(summarize([])).toBeUndefined();
  });

  test("does not reorder the caller's array", () => {
    const values = [3, 1, 2];
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe("ratio", () => {
  test("divides, and is undefined for a missing value or a zero divisor", () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(1, undefined)).toBeUndefined();
    expect(ratio(1, 0)).toBeUndefined();
  });
});

describe("formatSummary", () => {
  test("prints the median with the range, or only the value when the range is empty", () => {
    const f = (v: number) => `${v}`;
    expect(formatSummary({ median: 2, min: 1, max: 3, n: 3 }, f)).toBe("2 (1-3)");
    expect(formatSummary({ median: 2, min: 2, max: 2, n: 3 }, f)).toBe("2");
    expect(formatSummary(undefined, f)).toBe("-");
  });
});
