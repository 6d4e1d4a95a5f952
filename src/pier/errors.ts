/** The error codes of the pier state both processes read (src/pier/). */
import type { CodeOf } from "../error.ts";

export const PierErrorCode = {
  /** `<pier>/.urb/shm-namespace` holds something other than 32 hex digits: remove it, urth makes a new one. */
  namespaceInvalid: "segment_namespace_invalid",
} as const;

export type PierErrorCode = CodeOf<typeof PierErrorCode>;
