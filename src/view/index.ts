/**
 * The read view (docs/read-view.md): the committed files of the last durable event, written by
 * mars into the event log's LMDB with each event, read by anyone read-only.
 *
 * - `ReadView.open(pier)`, `read(fn)` on one snapshot (`ViewTxn`: head, desk, list, file, infos);
 * - the change list mars hands its log (view-change.ts) and the writer (view-writer.ts);
 * - the format (view-format.ts) and errors (`ViewErrorCode`).
 * A large file's bytes are read with `readBlobPieces` (src/blob/blob-pieces.ts).
 */
export { ViewErrorCode } from "./errors.ts";
export { ReadView } from "./view-reader.ts";
export type { ViewTxn, ViewListing } from "./view-reader.ts";
export type { ViewFile, ViewHead, DeskTotals } from "./view-format.ts";
export type { ViewChanges, ViewFileChange, ViewFilePut, ViewFileDel, ViewDeskTotals } from "./view-change.ts";
export { NO_VIEW_CHANGES } from "./view-change.ts";
