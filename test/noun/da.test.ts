import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { daFromDate, daFromUnixMicros, unixMillisFromDa } from "../../src/noun/da.ts";
import { toBigInt } from "../../src/noun/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** docs/event-log.md, "Time", computed with bigint as the reference. */
function reference(micros: bigint): bigint {
  const sec = micros / 1_000_000n;
  const usec = micros % 1_000_000n;
  return ((sec + 0x8000000cce9e0d80n) << 64n) | (((usec * 65536n) / 1_000_000n) << 48n);
}

describe("@da from Unix time", () => {
  test("matches vere's formula for the epoch, a recent date and sub-second times", () => {
    for (const micros of [0n, 1n, 999_999n, 1_000_000n, 1_700_000_000_123_456n, 4_294_967_296_000_000n + 7n, 2n ** 52n]) {
      expect(toBigInt(daFromUnixMicros(Number(micros)))).toBe(reference(micros));
    }
  });

  test("the Unix epoch is ~1970.1.1", () => {
    expect(toBigInt(daFromUnixMicros(0))).toBe(0x8000000cce9e0d80n << 64n);
  });

  test("round-trips to milliseconds for display", () => {
    const ms = Date.UTC(2026, 6, 2, 12, 34, 56, 789);
    expect(unixMillisFromDa(daFromDate(ms))).toBe(ms);
    expect(unixMillisFromDa(daFromDate(new Date(ms)))).toBe(ms);
  });

  test("is not a date for atoms that are not 128-bit dates", () => {
    expect(unixMillisFromDa(42)).toBeUndefined();
    expect(unixMillisFromDa(undefined)).toBeUndefined();
  });

  test("rejects negative and fractional microseconds", () => {
    expect(() => daFromUnixMicros(-1)).toThrow(RangeError);
    expect(() => daFromUnixMicros(1.5)).toThrow(RangeError);
  });
});
