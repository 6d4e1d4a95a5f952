/**
 * Urbit time (`@da`) from Unix time and back, as vere converts it (`u3_time_in_tv`, vere's
 * pkg/noun/manage.c; docs/event-log.md, "Time"):
 *
 *   @da = ((unix_sec + 0x8000000cce9e0d80) << 64) | (((usec * 65536) / 1e6) << 48)
 *
 * Both processes use it: mars stamps every event with `now` (urth sends none), exactly as vere's
 * mars does, and urth derives its `%into` wire from the time it started (docs/mount.md). An `@da`
 * is a 128-bit atom, so it is built here as 16 little-endian bytes in 32-bit halves: no bigint on
 * the event path (docs/contributing.md, "Numbers before bigint").
 */
import { atomFromBytes, type BigAtom } from "./atom.ts";

/** Seconds from the Urbit epoch (~292277024401-.1.1) to the Unix epoch: the @da of 1970-01-01. */
const DA_UNIX_EPOCH_HI = 0x8000000c;
const DA_UNIX_EPOCH_LO = 0xce9e0d80;
const TWO_32 = 4294967296;

/**
 * The `@da` of a Unix time in microseconds (a whole, non-negative number). Sub-second precision is
 * vere's: 1/65536 s, truncated.
 */
export function daFromUnixMicros(micros: number): BigAtom {
  if (!Number.isSafeInteger(micros) || micros < 0) {
    throw new RangeError(`A Unix time in microseconds is a natural number below 2^53; got ${micros}`);
  }
  const sec = Math.floor(micros / 1e6);
  const usec = micros - sec * 1e6;
  // ((usec * 65536) / 1e6) fits in 16 bits: it lands in bits 48..63 of the low word.
  const frac = Math.floor((usec * 65536) / 1e6);
  const secLo = sec % TWO_32;
  const secHi = (sec - secLo) / TWO_32;
  let lo = DA_UNIX_EPOCH_LO + secLo;
  let carry = 0;
  if (lo >= TWO_32) {
    lo -= TWO_32;
    carry = 1;
  }
  const hi = DA_UNIX_EPOCH_HI + secHi + carry;
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(6, frac, true);
  view.setUint32(8, lo, true);
  view.setUint32(12, hi >>> 0, true);
  // The high word is at least 0x8000000c, so the atom is always 16 bytes: a BigAtom.
  return atomFromBytes(bytes) as BigAtom;
}

/** The `@da` of a JS Date or a Unix time in milliseconds. */
export function daFromDate(date: Date | number): BigAtom {
  const ms = typeof date === "number" ? date : date.getTime();
  return daFromUnixMicros(Math.round(ms * 1000));
}

/** `now` as mars stamps an event: the wall clock, at millisecond resolution. */
export function daNow(): BigAtom {
  return daFromDate(Date.now());
}

/**
 * Unix milliseconds of an `@da` (for display: `urth log`), or undefined when the atom is not a
 * date between 1970 and 2^53 ms (vere's boot events, for example, carry other atoms).
 */
export function unixMillisFromDa(da: unknown): number | undefined {
  if (typeof da !== "object" || da === null || !("bytes" in da)) return undefined;
  const bytes = (da as BigAtom).bytes;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const frac = view.getUint16(6, true);
  const lo = view.getUint32(8, true);
  const hi = view.getUint32(12, true);
  let secHi = hi - DA_UNIX_EPOCH_HI;
  let secLo = lo - DA_UNIX_EPOCH_LO;
  if (secLo < 0) {
    secLo += TWO_32;
    secHi -= 1;
  }
  if (secHi < 0 || secHi >= 2 ** 20) return undefined;
  const sec = secHi * TWO_32 + secLo;
  // Rounded: the 1/65536 s fraction was truncated from whole milliseconds (error below 0.02 ms).
  return sec * 1000 + Math.round((frac * 1000) / 65536);
}
