/**
 * Sizes and durations as the benchmark reads and prints them: `1m`, `16m`, `2g` on the command
 * line (powers of 1024), `1 MiB` and `1.25 s` in tables.
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

const UNITS: Record<string, number> = { "": 1, k: KIB, m: MIB, g: GIB, t: 1024 * GIB };

/** Parses a byte count: `1048576`, `1m`, `1M`, `1MiB`, `2.5g`. Throws RangeError with the text. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new RangeError(`A size is a byte count like 1048576, 16m or 2g; "${text}" is not`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`A size must be at least 1 byte; "${text}" is ${bytes}`);
  return bytes;
}

/** Parses a comma-separated list of sizes (`1m,16m,2g`), keeping the order given. */
export function parseSizes(text: string): number[] {
  const sizes = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(parseSize);
  if (sizes.length === 0) throw new RangeError(`--sizes takes a comma-separated list like 1m,16m; "${text}" has none`);
  return sizes;
}

/** `1 MiB`, `256 MiB`, `2 GiB`, `2.5 GiB`, `1.5 KiB`: exact powers print without decimals. */
export function formatBytes(bytes: number): string {
  const [unit, scale] = bytes >= GIB ? ["GiB", GIB] : bytes >= MIB ? ["MiB", MIB] : bytes >= KIB ? ["KiB", KIB] : ["B", 1];
  const v = bytes / scale;
  const digits = Number.isInteger(v) ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`;
}

/** Milliseconds for a table: `0.42 ms`, `35 ms`, `1.25 s`, `12.3 s`. */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A ratio for a table: `1.05x`, `12.4x`. */
export function formatRatio(r: number): string {
  return `${r.toFixed(r >= 10 ? 1 : 2)}x`;
}

/** Throughput: bytes over milliseconds as GB/s (10^9, the unit docs/platform.md quotes). */
export function gbPerS(bytes: number, ms: number): number {
  return bytes / 1e6 / ms;
}

/** An axis tick in milliseconds (a power of ten): `1 ms`, `100 ms`, `10 s`, `0.1 ms`. */
export function formatTickMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toPrecision(3)} s` : `${+ms.toPrecision(3)} ms`;
}
