/**
 * The segment work mars does for its plea machine (src/plea/mars.ts performs none of it): create
 * a fresh segment of the kind urth asked for, take one urth filled, remove one still waiting.
 *
 * A named segment is created `O_EXCL` and fallocated in /dev/shm (so a full /dev/shm is an error
 * here and never a SIGBUS later) and granted by its name. A memfd segment is fallocated and sealed
 * against shrinking and growing, and granted by its descriptor, which mars keeps open until the
 * plea is taken or dropped: urth opens it through /proc/<mars pid>/fd/<fd> meanwhile
 * (docs/shm-segments.md). On `%done` mars maps the segment privately, removes it at once (unlinks
 * the name, or closes the descriptor) and decodes it with large atoms as zero-copy views owned by
 * the mapping; the MappingRegistry keeps the mapping for exactly as long as the state references
 * those views (docs/plea.md). A blob-reference entry of the segment (an atom urth found in the
 * pier's blob store) becomes an atom sourced from that blob, checked as a `%bref`'s is (blob-refs.ts).
 */
import { PleaError } from "../error.ts";
import { createMemfd, createSegment, Errno, SysError, type Memfd, nextSegmentName, openSegment, SEGMENT_BYTES_MAX, type Segment } from "../ffi/index.ts";
import { readShm, type BigAtom, type Noun } from "../noun/index.ts";
import { shmRefAtom, type BlobLookup } from "./blob-refs.ts";
import { KERNEL_UNPIN_BYTES_MAX } from "./kernel/owners.ts";
import type { MappingRegistry } from "../plea/mapping-registry.ts";
import type { SegmentKind, SegmentRef } from "../plea/segment-ref.ts";

/** A segment mars made and holds until it is taken or removed. */
export type PleaSegment = { readonly kind: "named"; readonly segment: Segment } | { readonly kind: "memfd"; readonly memfd: Memfd };

export type Created = { ok: true; segment: PleaSegment; granted: SegmentRef; length: number } | { ok: false; message: string };

export class PleaSegments {
  constructor(
    private readonly namespace: string,
    private readonly mappings: MappingRegistry<Segment>,
    private readonly dir: string | undefined,
    private readonly blobs: BlobLookup,
  ) {}

  /** A fresh segment of `kind` of at least `length` bytes, or why there is none (nothing is left behind). */
  create(length: number, kind: SegmentKind): Created {
    const name = nextSegmentName(this.namespace);
    try {
      if (kind === "memfd") {
        // The label is the name a named segment would have had: it shows in /proc/<pid>/fd and
        // maps, so `urth status` and an operator can tell whose it is.
        if (length < 1) return { ok: false, message: `A segment of ${length} bytes is invalid: a segment holds 1 to ${SEGMENT_BYTES_MAX} bytes` };
        const memfd = createMemfd(name.slice(1), length);
        return { ok: true, segment: { kind: "memfd", memfd }, granted: { kind: "memfd", fd: memfd.fd }, length: memfd.length };
      }
      const segment = createSegment(name, length, { dir: this.dir });
      return { ok: true, segment: { kind: "named", segment }, granted: { kind: "named", name }, length: segment.length };
    } catch (e) {
      if (e instanceof PleaError || e instanceof RangeError) return { ok: false, message: e.message };
      throw e;
    }
  }

  /**
   * Maps `segment` privately, removes it (its name or descriptor), and decodes the noun it holds
   * with large atoms as zero-copy views. The mapping joins the registry (released once nothing
   * refers to it). Throws for a segment that does not decode, or that refers to a blob mars cannot
   * use; the segment is removed and that mapping gone either way. `onRef` hears each blob
   * reference's atom (for the event's INFO); `onView` each atom left a view into the mapping
   * (mars moves them off it once the event is durable, settle.ts).
   */
  take(segment: PleaSegment, onRef?: (a: BigAtom) => void, onView?: (a: BigAtom) => void): Noun {
    let reader: Segment | undefined;
    try {
      reader =
        segment.kind === "named"
          ? openSegment(segment.segment.name, { mode: "read", length: segment.segment.length, dir: this.dir })
          : segment.memfd.map("read");
    } finally {
      // Remove first thing: from here on, nothing of this plea can outlive mars or its mapping.
      this.remove(segment);
    }
    this.mappings.add(reader);
    prefaultRead(reader);
    try {
      return readShm(reader, {
        zeroCopy: true,
        owner: reader,
        // Small atoms (small files, path elements) go to the heap as they are read: the kernel
        // would copy each off the segment anyway (owners.ts), one slice at a time.
        zeroCopyBytesMin: KERNEL_UNPIN_BYTES_MAX + 1,
        onView,
        resolveRef: (ref) => {
          const a = shmRefAtom(this.blobs, ref);
          onRef?.(a);
          return a;
        },
      });
    } catch (e) {
      this.mappings.release(reader);
      throw e;
    }
  }

  /** Unlinks a named segment and unmaps mars's mapping of it; closes a memfd's descriptor. */
  remove(segment: PleaSegment): void {
    if (segment.kind === "memfd") {
      segment.memfd.close();
      return;
    }
    segment.segment.unlink();
    segment.segment.close();
  }
}

/**
 * Maps every page of a reader's mapping in with one madvise(MADV_POPULATE_READ) before the decode
 * reads it, instead of a fault per 4 KiB page: decoding 100,000 small files (130 MB) went from
 * 1.1 s to 0.66-0.69 s in an in-process bench (issue 15). A read fault on a private mapping maps
 * the segment's own page, copying nothing (unlike MAP_POPULATE, docs/shm-segments.md). A kernel
 * without it (EINVAL, before Linux 5.14) faults page by page as before.
 */
function prefaultRead(reader: Segment): void {
  try {
    reader.advise("populateRead");
  } catch (e) {
    if (!(e instanceof SysError && e.errno === Errno.EINVAL)) throw e;
  }
}
