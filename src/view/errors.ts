/** The error codes of the read view (src/view/, docs/read-view.md). */
import type { CodeOf } from "../error.ts";

export const ViewErrorCode = {
  /** The view's head is not the log's last event: mars has not rebuilt it since the log moved on. */
  stale: "view_stale",
  /** A view entry (a file, a desk's totals, the head) fails its checks: damaged on disk. */
  damaged: "view_damaged",
  /** The desk holds a path too long for the view's keys: ask mars for its listings and files. */
  incomplete: "view_incomplete",
  /** LMDB's data file fails the meta-page check the log's own open runs (docs/event-log.md). */
  lmdbDamaged: "view_lmdb_damaged",
  /** A value mars was about to write does not fit the format (a programming error's typed form). */
  usage: "view_usage",
} as const;

export type ViewErrorCode = CodeOf<typeof ViewErrorCode>;
