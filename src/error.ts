/**
 * The one base class for Plea's typed errors, and the code tables they draw from.
 *
 * Every error that reaches an operator or a caller is a `PleaError` with a stable `code` from its
 * part's `as const` table (`src/<part>/errors.ts`; the log's is `src/mars/log/log-error.ts`) and a
 * message in sentence case, with no trailing period, that names the thing, the number, and what to
 * do. A part keeps a subclass only where the error carries data beyond its code and message
 * (`CueError.bit`, `SysError.errno`, `LogError.eve`, `MarsExited.exitCode`, ...); every other
 * error is a plain `PleaError`, caught by its code (`isPleaError(e, IpcErrorCode.pipe)`).
 * docs/contributing.md, "Errors", lists the subclasses and why each exists.
 */
export class PleaError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A part's code table: each key a code (its value, a string unique across Plea) or a group of
 * codes that callers catch together (`IpcErrorCode.pipe`: every way a pipe can close).
 */
export interface CodeTable {
  readonly [key: string]: string | CodeTable;
}

/** The codes of a table or group, as a union of their string literals. */
export type CodeOf<T> = T extends string ? T : { [K in keyof T]: CodeOf<T[K]> }[keyof T];

const codeSets = new WeakMap<CodeTable, ReadonlySet<string>>();

/** Every code of a table or group, nested groups included. */
export function codesOf(table: CodeTable): ReadonlySet<string> {
  let set = codeSets.get(table);
  if (set === undefined) {
    const codes = new Set<string>();
    const stack: CodeTable[] = [table];
    for (let t = stack.pop(); t !== undefined; t = stack.pop()) {
      for (const value of Object.values(t)) {
        if (typeof value === "string") codes.add(value);
        else stack.push(value);
      }
    }
    set = codes;
    codeSets.set(table, set);
  }
  return set;
}

/**
 * Whether `e` is a PleaError, and (given `codes`) one with that code or with a code of that table
 * or group. How callers catch an error that has no class of its own.
 */
export function isPleaError<const T extends string | CodeTable>(e: unknown, codes?: T): e is PleaError<CodeOf<T>> {
  if (!(e instanceof PleaError)) return false;
  if (codes === undefined) return true;
  return typeof codes === "string" ? e.code === codes : codesOf(codes).has(e.code);
}

/** For our own invariants only. Bytes from a peer or the disk get checks and typed errors. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(`Plea invariant broken: ${message}`);
}
