/**
 * What one event changes in the read view (docs/read-view.md): a plain list that mars builds
 * from its kernel's result and hands to the log's `append`, so that the log writes it in the same
 * LMDB transaction as the event's record without knowing the kernel.
 *
 * Paths, types and data are the kernel's nouns, taken as they are (no copy): the log turns them
 * into keys and values, and resolves a large atom to the blob the event's record names.
 */
import type { BigAtom } from "../noun/atom.ts";
import type { Noun } from "../noun/noun.ts";

/** The file at `path` in `desk` is added or changed. */
export interface ViewFilePut {
  readonly desk: string;
  /** `(list @ta)`. */
  readonly path: Noun;
  /** The mime type, a path. */
  readonly type: Noun;
  readonly len: number;
  /** The event's own atom: its blob, if large, is the one the event's record names. */
  readonly data: number | BigAtom;
}

/** The file at `path` in `desk` is deleted (nothing happens if there is none). */
export interface ViewFileDel {
  readonly desk: string;
  readonly path: Noun;
  readonly deleted: true;
}

export type ViewFileChange = ViewFilePut | ViewFileDel;

export interface ViewDeskTotals {
  readonly desk: string;
  readonly files: number;
  readonly bytes: number;
}

export interface ViewChanges {
  /** Desks emptied before `files` apply (`%into` with `all = %.y`). */
  readonly cleared: readonly string[];
  /** In order: a later change of the same path wins, as in the kernel. */
  readonly files: readonly ViewFileChange[];
  /** The totals, after the event, of every desk it touched. */
  readonly desks: readonly ViewDeskTotals[];
}

/** No change (an event that touched no file still moves the view's head). */
export const NO_VIEW_CHANGES: ViewChanges = { cleared: [], files: [], desks: [] };
