/** The plea protocol's error codes (docs/plea.md). */
import type { CodeOf } from "../error.ts";

export const PleaErrorCode = {
  /** mars could not make a segment and the event's jam is too large for a newt frame: free /dev/shm. */
  refused: "plea_refused",
} as const;

export type PleaErrorCode = CodeOf<typeof PleaErrorCode>;
