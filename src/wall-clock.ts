/**
 * Wall-clock milliseconds since the epoch with sub-millisecond precision. urth and mars stamp
 * phases of one event with it, so the figures of two processes can be subtracted.
 */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
