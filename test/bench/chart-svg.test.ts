import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { escapeXml, logTicks, renderChart, type Panel } from "../../bench/lib/chart-svg.ts";
import { formatBytes, formatTickMs, MIB, GIB } from "../../bench/lib/format.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("logTicks", () => {
  test("covers the sizes 1 MiB to 2 GiB with powers of two, at most eight ticks", () => {
    const ticks = logTicks(MIB, 2 * GIB, 2);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks[0]).toBeLessThanOrEqual(MIB);
    expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(2 * GIB);
    for (const t of ticks) expect(Math.log2(t) % 1).toBe(0);
  });

  test("keeps an exact power as an axis end", () => {
    expect(logTicks(1, 1000, 10)).toEqual([1, 10, 100, 1000]);
  });

  test("widens a single value to a decade on each side", () => {
    expect(logTicks(100, 100, 10)).toEqual([10, 100, 1000]);
  });

  test("refuses bounds a log axis cannot show", () => {
    expect(() => logTicks(0, 10, 10)).toThrow(RangeError);
  });
});

describe("renderChart", () => {
  const panel = (series: Panel["series"]): Panel => ({
    title: "Time <ms> & size",
    xLabel: "payload",
    yLabel: "ms",
    xBase: 2,
    yBase: 10,
    formatX: formatBytes,
    formatY: formatTickMs,
    series,
  });

  test("draws one line per series with error bars and escapes its text", () => {
    const svg = renderChart("pipe & plea", "sub", [
      panel([
        { label: "plea", color: "#00f", points: [{ x: MIB, y: 10, yMin: 8, yMax: 12 }, { x: GIB, y: 900 }] },
        { label: "pipe", color: "#f00", dashed: true, points: [{ x: MIB, y: 20 }, { x: GIB, y: 2000 }] },
      ]),
    ]);
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<polyline /g)?.length).toBe(2);
    expect(svg).toContain("stroke-dasharray");
    expect(svg).toContain("pipe &amp; plea");
    expect(svg).toContain("Time &lt;ms&gt; &amp; size");
    expect(svg).not.toContain("NaN");
    expect(svg).not.toContain("Infinity");
  });

  test("says so when a panel has no data instead of failing", () => {
    const svg = renderChart("t", "s", [panel([{ label: "none", color: "#000", points: [] }])]);
    expect(svg).toContain("no data");
  });
});

describe("escapeXml", () => {
  test("escapes the characters that would break markup", () => {
    expect(escapeXml(`a<b>&"c"`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;");
  });
});
