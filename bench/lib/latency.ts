/**
 * Latencies of many requests: percentiles by the nearest-rank rule, so that a reported p99 is a
 * latency one request actually had (no interpolation between two requests).
 */

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * The `p`-th percentile (0 < p <= 100) of values sorted ascending, nearest rank: the smallest value
 * with at least p% of the values at or below it. Undefined for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  if (!(p > 0 && p <= 100)) throw new RangeError(`A percentile is in (0, 100]; got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p99 and max of `values` (milliseconds), or undefined for none. Does not reorder `values`. */
export function latencySummary(values: readonly number[]): LatencySummary | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return { n: v.length, p50: percentile(v, 50)!, p99: percentile(v, 99)!, max: v[v.length - 1] };
}
