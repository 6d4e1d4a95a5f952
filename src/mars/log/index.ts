/** Mars's event log, blobs and snapshots (docs/event-log.md); start-up is src/mars/restore.ts. */
export { EventLog } from "./event-log.ts";
export type { AppendInput, AppendResult, OpenLogOptions, ReplayedEvent } from "./event-log.ts";
export type { EventInfo, EventPath, EventStorage } from "./event-info.ts";
export { LogError, LogErrorCode } from "./log-error.ts";
export type { LogErrorCodeValue } from "./log-error.ts";
export { DEFAULT_META, LOG_FORMAT_VERSION, LOG_META_VERSION } from "./meta.ts";
export type { LogMeta } from "./meta.ts";
export { LOG_INLINE_BYTES_MAX, eventKey, eventFromKey, decodeRecord } from "./record.ts";
export type { DecodedRecord } from "./record.ts";
export { logPaths, blobFileName } from "./layout.ts";
export type { LogPaths } from "./layout.ts";
export { SnapshotStore, SNAPSHOTS_KEPT, SNAPSHOT_FORMAT_VERSION, snapshotFileName, loadSnapshotFile } from "./snapshot.ts";
export type { SnapshotHeader, LoadedSnapshot } from "./snapshot.ts";
export { SnapshotPolicy, SNAPSHOT_EXIT_REPLAY_BYTES_MIN, SNAPSHOT_EXIT_REWRITE_RATIO, SNAPSHOT_EVENT_REPLAY_BYTES } from "./snapshot-policy.ts";
export type { SnapshotPolicyState } from "./snapshot-policy.ts";
export { LOG_JAM_CHUNK_BYTES, STREAMED_FILE_WRITE_BYTES, WRITEBACK_DIRTY_BYTES_MAX, WRITEBACK_STEP_BYTES, crc32 } from "./streamed-file.ts";
