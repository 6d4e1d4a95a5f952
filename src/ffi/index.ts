/**
 * libc through bun:ffi and POSIX shared-memory segments that cannot crash the process
 * (docs/shm-segments.md).
 *
 * - `createSegment(name, length, { dir?, windowBytes?, checkSpace? }): Segment`: O_CREAT|O_EXCL,
 *   0600, free-space check, ftruncate + fallocate, MAP_SHARED read/write.
 * - `openSegment(name, { mode: "write" | "read", length?, dir?, windowBytes? }): Segment`:
 *   "write" maps MAP_SHARED read/write (the filler); "read" maps MAP_PRIVATE read/write of an
 *   O_RDONLY descriptor (stray writes stay private). Refuses an object shorter than `length`.
 * - `Segment`: `name`, `length`, `mode`, `windows`, `read(pos, target)`, `write(pos, source)`,
 *   `subarray(pos, length)`, `advise(advice, pos?, length?)`, `unlink()`, `close()`,
 *   `[Symbol.dispose]`.
 * - Names: `segmentName`, `nextSegmentName`, `legacyNamespaceForPier`, `parseSegmentName`.
 * - Orphans: `listSegments(namespace?)`, `sweepOrphans(namespaces)`: this user's objects only.
 * - memfd segments: `createMemfd(label, length)` (sealed against shrinking and growing; `Memfd`
 *   with `fd`, `map(mode)`, `close()`), `openPeerMemfd(pid, fd, { mode, length, startTime? })`
 *   through /proc/<pid>/fd/<fd> after checking the seals and size, `probePeerMemfd`,
 *   `listMemfdSegments(pid, namespace)`.
 * - Errors: `SysError` (code = errno name), plain `PleaError`s with a code from
 *   `FfiErrorCode` (errors.ts).
 */
export { SysError, Errno, errnoName } from "./sys-error.ts";
export { prefault, PREFAULT_BYTES_MIN } from "./prefault.ts";
export type { ErrnoName } from "./sys-error.ts";
export { FfiErrorCode } from "./errors.ts";
export {
  createSegment,
  openSegment,
  Segment,
  SHM_WINDOW_BYTES_MAX,
  SEGMENT_BYTES_MAX,
  SEGMENT_MODE,
} from "./shm.ts";
export type { CreateSegmentOptions, OpenSegmentOptions, SegmentOptions, SegmentMode, SegmentKind } from "./shm.ts";
export {
  checkPeerMemfd,
  createMemfd,
  listMemfdSegments,
  Memfd,
  MEMFD_LABEL_BYTES_MAX,
  MEMFD_SEALS,
  MEMFD_SEALS_REQUIRED,
  memfdPath,
  memAvailableBytes,
  openPeerMemfd,
  probePeerMemfd,
  sealNames,
} from "./memfd.ts";
export type { CreateMemfdOptions, MemfdInfo, OpenPeerMemfdOptions } from "./memfd.ts";
export { PAGE_BYTES } from "./libc.ts";
export type { Madvice } from "./libc.ts";
export { SHM_DIR_DEFAULT, SHM_DIR_ENV, shmDirectory, shmSpace, segmentPath } from "./shm-dir.ts";
export type { ShmSpace } from "./shm-dir.ts";
export {
  isValidSegmentName,
  legacyNamespaceForPier,
  namespaceForPier,
  nextSegmentName,
  parseSegmentName,
  processStartTime,
  segmentName,
  SEGMENT_NAME_PREFIX,
  SEGMENT_NAME_BYTES_MAX,
} from "./shm-name.ts";
export type { SegmentNameParts } from "./shm-name.ts";
export { listSegments, sweepOrphans } from "./orphans.ts";
export type { CreatorState, ListOptions, SegmentInfo } from "./orphans.ts";
