/**
 * The segment work mars does for its plea machine (src/plea/mars.ts performs none of it): create
 * a fresh segment, take one urth filled, remove one still waiting.
 *
 * mars creates each segment (`O_EXCL`, fallocated, so a full /dev/shm is an error here and never a
 * SIGBUS later) and names it to urth. On `%done` it maps it privately, unlinks the name at once and
 * decodes it with large atoms as zero-copy views owned by the mapping; the MappingRegistry keeps
 * the mapping for exactly as long as the state references those views (docs/plea.md).
 */
import { PleaError } from "../error.ts";
import { createSegment, nextSegmentName, openSegment, type Segment } from "../ffi/index.ts";
import { readShm, type Noun } from "../noun/index.ts";
import type { MappingRegistry } from "../plea/mapping-registry.ts";

export type Created = { ok: true; segment: Segment; name: string; length: number } | { ok: false; message: string };

export class PleaSegments {
  constructor(
    private readonly namespace: string,
    private readonly mappings: MappingRegistry<Segment>,
    private readonly dir: string | undefined,
  ) {}

  /** A fresh segment of at least `length` bytes, or why there is none (nothing is left behind). */
  create(length: number): Created {
    const name = nextSegmentName(this.namespace);
    try {
      const segment = createSegment(name, length, { dir: this.dir });
      return { ok: true, segment, name, length: segment.length };
    } catch (e) {
      if (e instanceof PleaError || e instanceof RangeError) return { ok: false, message: e.message };
      throw e;
    }
  }

  /**
   * Maps `segment` privately, unlinks its name, and decodes the noun it holds with large atoms as
   * zero-copy views. The mapping joins the registry (released once nothing refers to it). Throws
   * for a segment that does not decode; the name and that mapping are gone either way.
   */
  take(segment: Segment): Noun {
    let reader: Segment | undefined;
    try {
      reader = openSegment(segment.name, { mode: "read", length: segment.length, dir: this.dir });
    } finally {
      // Unlink first thing: from here on, nothing of this plea can outlive mars in /dev/shm.
      this.remove(segment);
    }
    this.mappings.add(reader);
    try {
      return readShm(reader, { zeroCopy: true, owner: reader });
    } catch (e) {
      this.mappings.release(reader);
      throw e;
    }
  }

  /** Unlinks the segment's name and unmaps mars's writable mapping of it. */
  remove(segment: Segment): void {
    segment.unlink();
    segment.close();
  }
}
