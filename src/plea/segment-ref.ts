/**
 * Which segment a plea grant names, in both machines' terms (docs/plea.md, "Two kinds of
 * segment"): a named POSIX segment in /dev/shm, or a memfd mars holds as descriptor `fd`, which
 * urth, its parent, opens through /proc/<mars pid>/fd/<fd> (docs/shm-segments.md).
 */

import type { SegmentKind } from "../ffi/shm.ts";

/** The kinds of segment a plea may ask for (src/ffi/shm.ts): urth chooses one at start (a probe, or `--shm-kind`). */
export type { SegmentKind };

export type SegmentRef = { readonly kind: "named"; readonly name: string } | { readonly kind: "memfd"; readonly fd: number };

/** How a grant reads in a message: `"/plea-..."` or `memfd 5`. */
export function segmentRefText(ref: SegmentRef): string {
  return ref.kind === "named" ? JSON.stringify(ref.name) : `memfd ${ref.fd}`;
}

/** The grant as the message it came in: `[%plea "/plea-..." 1024]` or `[%plea %memfd 5 1024]`. */
export function grantText(ref: SegmentRef, length: number): string {
  return ref.kind === "named" ? `[%plea ${JSON.stringify(ref.name)} ${length}]` : `[%plea %memfd ${ref.fd} ${length}]`;
}
