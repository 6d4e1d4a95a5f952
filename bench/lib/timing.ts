/** Timing for the micro-benchmarks (bench/noun.ts, bench/shm-format.ts). */

export interface Timing {
  best: number;
  median: number;
}

/**
 * Runs `fn` `runs` times and returns the best and median in milliseconds; first one untimed
 * run unless `warmup` is false (a 1 GiB case cannot afford a spare run).
 */
export function time(runs: number, fn: () => unknown, warmup = true): Timing {
  if (warmup) fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { best: ms[0], median: ms[Math.floor(ms.length / 2)] };
}
