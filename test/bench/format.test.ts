import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { formatBytes, formatMs, formatTickMs, GIB, MIB, parseSize, parseSizes } from "../../bench/lib/format.ts";
import { markdownTable } from "../../bench/lib/table.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("parseSize", () => {
  test("reads plain bytes and k, m, g suffixes as powers of 1024", () => {
    expect(parseSize("1048576")).toBe(MIB);
    expect(parseSize("16m")).toBe(16 * MIB);
    expect(parseSize("2G")).toBe(2 * GIB);
    expect(parseSize("1MiB")).toBe(MIB);
    expect(parseSize("2.5g")).toBe(2.5 * GIB);
  });

  test("refuses text that is not a size", () => {
    expect(() => parseSize("big")).toThrow(RangeError);
    expect(() => parseSize("0")).toThrow(RangeError);
    expect(() => parseSizes(",")).toThrow(RangeError);
  });

  test("reads a comma-separated list in the order given", () => {
    expect(parseSizes("16m, 1m")).toEqual([16 * MIB, MIB]);
  });
});

describe("formatting", () => {
  test("prints sizes with binary units", () => {
    expect(formatBytes(MIB)).toBe("1 MiB");
    expect(formatBytes(2.5 * GIB)).toBe("2.50 GiB");
    expect(formatBytes(1.25 * 2 * GIB)).toBe("2.50 GiB");
    expect(formatBytes(100_000 * 1024)).toBe("97.7 MiB");
  });

  test("prints durations and axis ticks", () => {
    expect(formatMs(0.5)).toBe("0.50 ms");
    expect(formatMs(1234)).toBe("1.23 s");
    expect(formatTickMs(1)).toBe("1 ms");
    expect(formatTickMs(10_000)).toBe("10 s");
    expect(formatTickMs(0.1)).toBe("0.1 ms");
  });

  test("lines up a markdown table, first column left and the rest right", () => {
    expect(markdownTable(["size", "ms"], [["1 MiB", "5"], ["16 MiB", "50"]])).toBe(
      ["| size   |  ms |", "|:-------|----:|", "| 1 MiB  |   5 |", "| 16 MiB |  50 |"].join("\n"),
    );
  });
});
