/**
 * A hand-written SVG line chart on log-log axes: panels side by side, one line per series, error
 * bars from min to max. Small enough that a chart library would be more code to keep than this.
 */

export interface Point {
  x: number;
  y: number;
  /** Error bar ends (the min and max of the runs), drawn when given. */
  yMin?: number;
  yMax?: number;
}

export interface Series {
  label: string;
  color: string;
  /** Dashed lines mark references (baselines, targets) rather than measurements. */
  dashed?: boolean;
  /** Dotted lines with markers: a second measurement of a series (a phase of it). */
  dotted?: boolean;
  points: readonly Point[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** The base of the log axes: 2 for bytes, 10 for milliseconds. */
  xBase: number;
  yBase: number;
  formatX: (v: number) => string;
  formatY: (v: number) => string;
}

const PANEL_WIDTH = 480;
const PANEL_HEIGHT = 360;
const MARGIN = { left: 78, right: 18, top: 40, bottom: 52 };
const HEADER_HEIGHT = 56;
const LEGEND_ROW_HEIGHT = 18;
/** At most this many ticks on an axis; powers are skipped evenly beyond it. */
const TICKS_MAX = 8;

/**
 * Ticks at powers of `base` covering [min, max], at most `ticksMax` of them (every k-th power
 * when there would be more). The first and last ticks are the axis ends.
 */
export function logTicks(min: number, max: number, base: number, ticksMax = TICKS_MAX): number[] {
  if (!(min > 0) || !(max > 0) || !(base > 1)) throw new RangeError(`Log ticks need positive bounds and a base above 1; got ${min}, ${max}, ${base}`);
  const log = (v: number) => Math.log(v) / Math.log(base);
  // A tiny epsilon keeps an exact power (2^30 as log2 29.999999...) on its own tick.
  let lo = Math.floor(log(Math.min(min, max)) + 1e-9);
  let hi = Math.ceil(log(Math.max(min, max)) - 1e-9);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const step = Math.max(1, Math.ceil((hi - lo) / (ticksMax - 1)));
  const ticks: number[] = [];
  for (let e = lo; ; e += step) {
    ticks.push(base ** e);
    if (e >= hi) break;
  }
  return ticks;
}

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function dashArray(s: Series): string {
  return s.dashed ? ` stroke-dasharray="6 4"` : s.dotted ? ` stroke-dasharray="2 3"` : "";
}

function fixed(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function renderPanel(panel: Panel, originX: number, originY: number): string[] {
  const out: string[] = [];
  const points = panel.series.flatMap((s) => s.points);
  const plotW = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = originX + MARGIN.left;
  const y0 = originY + MARGIN.top;
  out.push(`<text x="${fixed(originX + PANEL_WIDTH / 2)}" y="${fixed(originY + 22)}" class="title" text-anchor="middle">${escapeXml(panel.title)}</text>`);
  if (points.length === 0) {
    out.push(`<text x="${fixed(x0 + plotW / 2)}" y="${fixed(y0 + plotH / 2)}" text-anchor="middle">no data</text>`);
    return out;
  }
  const xs = points.map((p) => p.x);
  const ys = points.flatMap((p) => [p.y, p.yMin ?? p.y, p.yMax ?? p.y]).filter((v) => v > 0);
  const xTicks = logTicks(Math.min(...xs), Math.max(...xs), panel.xBase);
  const yTicks = logTicks(Math.min(...ys), Math.max(...ys), panel.yBase);
  const lx = (v: number) => Math.log(v);
  const [xa, xb] = [lx(xTicks[0]), lx(xTicks[xTicks.length - 1])];
  const [ya, yb] = [lx(yTicks[0]), lx(yTicks[yTicks.length - 1])];
  const px = (v: number) => x0 + ((lx(v) - xa) / (xb - xa)) * plotW;
  const py = (v: number) => y0 + plotH - ((lx(Math.max(v, yTicks[0])) - ya) / (yb - ya)) * plotH;

  out.push(`<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" class="plot"/>`);
  for (const t of xTicks) {
    const x = fixed(px(t));
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + plotH}" class="grid"/>`);
    out.push(`<text x="${x}" y="${y0 + plotH + 16}" text-anchor="middle">${escapeXml(panel.formatX(t))}</text>`);
  }
  for (const t of yTicks) {
    const y = fixed(py(t));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(panel.formatY(t))}</text>`);
  }
  out.push(`<text x="${fixed(x0 + plotW / 2)}" y="${y0 + plotH + 38}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`);
  const yMid = fixed(y0 + plotH / 2);
  out.push(`<text x="${originX + 16}" y="${yMid}" text-anchor="middle" transform="rotate(-90 ${originX + 16} ${yMid})">${escapeXml(panel.yLabel)}</text>`);

  for (const s of panel.series) {
    const sorted = [...s.points].filter((p) => p.y > 0).sort((a, b) => a.x - b.x);
    if (sorted.length === 0) continue;
    const dash = dashArray(s);
    const path = sorted.map((p) => `${fixed(px(p.x))},${fixed(py(p.y))}`).join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}><title>${escapeXml(s.label)}</title></polyline>`);
    for (const p of sorted) {
      const x = fixed(px(p.x));
      if (p.yMin !== undefined && p.yMax !== undefined && p.yMax > p.yMin) {
        out.push(`<line x1="${x}" y1="${fixed(py(p.yMin))}" x2="${x}" y2="${fixed(py(p.yMax))}" stroke="${s.color}" stroke-width="1.5"/>`);
      }
      if (!s.dashed) {
        out.push(`<circle cx="${x}" cy="${fixed(py(p.y))}" r="3.5" fill="${s.color}"><title>${escapeXml(`${s.label}: ${panel.formatX(p.x)}, ${panel.formatY(p.y)}`)}</title></circle>`);
      }
    }
  }
  return out;
}

/** The whole chart: a title, a subtitle line, a legend per panel, and the panels side by side. */
export function renderChart(title: string, subtitle: string, panels: readonly Panel[]): string {
  const legendRows = Math.max(0, ...panels.map((p) => p.series.length));
  const width = PANEL_WIDTH * Math.max(1, panels.length);
  const height = HEADER_HEIGHT + PANEL_HEIGHT + legendRows * LEGEND_ROW_HEIGHT + 12;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, sans-serif" font-size="12">`,
    `<style>.plot{fill:#fff;stroke:#444}.grid{stroke:#ddd;stroke-width:1}.title{font-weight:bold;font-size:14px}text{fill:#222}</style>`,
    `<rect width="100%" height="100%" fill="#fafafa"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="42" text-anchor="middle" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const originX = i * PANEL_WIDTH;
    out.push(...renderPanel(panel, originX, HEADER_HEIGHT));
    panel.series.forEach((s, row) => {
      const y = HEADER_HEIGHT + PANEL_HEIGHT + row * LEGEND_ROW_HEIGHT + 4;
      const x = originX + MARGIN.left;
      const dash = dashArray(s);
      out.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${x + 36}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
    });
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
