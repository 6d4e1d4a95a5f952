/**
 * The one base class for Plea's typed errors.
 *
 * Every error that reaches an operator or a caller carries a stable `code` (from an `as const`
 * table in the module that throws it) and a message in sentence case that names the thing, the
 * number, and what to do. Domain errors (`CueError`, `ShmFormatError`, `SysError`, `NewtError`,
 * `MarsExited`, ...) extend this class so callers can catch them all with one `instanceof`.
 */
export class PleaError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** For our own invariants only. Bytes from a peer or the disk get checks and typed errors. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(`Plea invariant broken: ${message}`);
}
