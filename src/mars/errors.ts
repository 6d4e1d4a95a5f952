/**
 * The mars process's own error codes (its log's are in log/log-error.ts, its kernel's in
 * kernel/errors.ts).
 */
import type { CodeOf } from "../error.ts";

export const MarsErrorCode = {
  /**
   * A task mars cannot take: vere prints `mars: bad` and exits 1 (mars.c:920-929), and so does
   * mars. Its message is the whole line mars prints, `mars: bad task: ...`.
   */
  badTask: {
    /** Not a task of protocol 2 or of plea. */
    unparseable: "mars_bad_task",
    /** A plea message out of its state (docs/plea.md). */
    outOfState: "mars_plea_out_of_state",
  },
  /** `/plea/at` (history.ts): the state after an event mars cannot rebuild. */
  history: {
    /** The event is outside the log's retained range, or no snapshot at or before it can be used. */
    notRetained: "mars_not_retained",
  },
} as const;

export type MarsErrorCode = CodeOf<typeof MarsErrorCode>;
