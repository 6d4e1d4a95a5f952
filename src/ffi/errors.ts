/**
 * The ffi part's error codes. A failed libc call is a `SysError` (sys-error.ts), whose code is
 * the errno's name (`ENOSPC`, `EEXIST`, ...): the kernel's table, not one of ours. Everything
 * else that goes wrong with a segment is a plain `PleaError` with a code below: a name or length
 * a peer sent that Plea refuses, an object smaller than its peer announced, a range outside the
 * segment, a use after `close()`.
 */
import type { CodeOf } from "../error.ts";

export const FfiErrorCode = {
  /** A segment's own rules, checked before or instead of a system call. */
  segment: {
    /** The name is not `/plea-` followed by [A-Za-z0-9._-] (at most 255 bytes). */
    nameInvalid: "segment_name_invalid",
    /** The length is not an integer from 1 to SEGMENT_BYTES_MAX. */
    lengthInvalid: "segment_length_invalid",
    /** The object is smaller than the length its peer announced (a peer that lies, or truncated it). */
    tooSmall: "segment_too_small",
    /** A read, write or view reaches outside the segment, or a view would span two windows. */
    outOfRange: "segment_out_of_range",
    /** The segment was closed: its views are detached and it maps nothing. */
    closed: "segment_closed",
    /** A memfd offered as a segment is not sealed against shrinking (or is sealed against writing). */
    unsealed: "segment_unsealed",
    /** The process that holds a memfd segment is gone (its pid may belong to another process now). */
    peerGone: "segment_peer_gone",
  },
} as const;

export type FfiErrorCode = CodeOf<typeof FfiErrorCode>;
