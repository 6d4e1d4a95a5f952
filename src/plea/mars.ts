/**
 * mars's side of the plea protocol (docs/plea.md, "mars's side").
 *
 *   idle --[%plea len]--> waiting --[%done]--> idle (the decoded task is handled as a %poke)
 *                                 --[%drop]--> idle
 *                                 --EOF/exit--> segment removed
 *
 * mars creates each segment (O_EXCL, fallocated, so a full /dev/shm is an error here and never a
 * SIGBUS later), names it to urth, and on `%done` maps it privately, unlinks the name at once and
 * decodes it with large atoms as zero-copy views owned by the mapping. The MappingRegistry then
 * keeps the mapping for exactly as long as the state references those views.
 *
 * This class does no I/O on the pipes: mars's main loop feeds it tasks and sends what it returns.
 */
import { PleaError } from "../error.ts";
import { createSegment, nextSegmentName, openSegment, type Segment } from "../ffi/index.ts";
import { readShm, type Noun } from "../noun/index.ts";
import type { MappingRegistry } from "./mapping-registry.ts";

/** Why mars refused a plea, as the goof mote it sends back (docs/ipc.md). */
export const PleaRefusal = {
  busy: "plea-busy",
  create: "plea-create",
} as const;

export type PleaAsk = { ok: true; name: string; length: number } | { ok: false; mote: string; message: string };

export class MarsPlea {
  private waiting: { segment: Segment } | undefined = undefined;

  constructor(
    private readonly namespace: string,
    private readonly mappings: MappingRegistry<Segment>,
    private readonly options: { dir?: string } = {},
  ) {}

  /** True between a granted `%plea` and its `%done`/`%drop`: every other task must wait. */
  get isWaiting(): boolean {
    return this.waiting !== undefined;
  }

  /** `[%plea len]`: creates a fresh segment of `len` bytes, or says why it cannot. */
  ask(len: number): PleaAsk {
    if (this.waiting) {
      // urth's writ FIFO sends one plea at a time; a second one is urth's bug, refused cleanly.
      return { ok: false, mote: PleaRefusal.busy, message: "A plea is already waiting for %done" };
    }
    const name = nextSegmentName(this.namespace);
    try {
      const segment = createSegment(name, len, { dir: this.options.dir });
      this.waiting = { segment };
      return { ok: true, name, length: segment.length };
    } catch (e) {
      if (e instanceof PleaError || e instanceof RangeError) {
        return { ok: false, mote: PleaRefusal.create, message: (e as Error).message };
      }
      throw e;
    }
  }

  /**
   * `[%done ~]`: maps the segment privately, unlinks its name, and decodes the task it holds with
   * large atoms as zero-copy views. The mapping joins the registry (released once nothing refers to
   * it). Throws `ShmFormatError` for a segment that does not decode; the segment is gone either way.
   */
  done(): Noun {
    const w = this.take("%done");
    let reader: Segment | undefined;
    try {
      reader = openSegment(w.segment.name, { mode: "read", length: w.segment.length, dir: this.options.dir });
    } finally {
      // Unlink first thing: from here on, nothing of this plea can outlive mars in /dev/shm.
      w.segment.unlink();
      w.segment.close();
    }
    this.mappings.add(reader);
    try {
      return readShm(reader, { zeroCopy: true, owner: reader });
    } catch (e) {
      this.mappings.release(reader);
      throw e;
    }
  }

  /** `[%drop ~]`: urth could not fill the segment; remove it. */
  drop(): void {
    const w = this.take("%drop");
    w.segment.unlink();
    w.segment.close();
  }

  /** EOF, exit or a fatal error: remove a segment still waiting. Idempotent. */
  abandon(): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    w.segment.unlink();
    w.segment.close();
  }

  private take(what: string): { segment: Segment } {
    const w = this.waiting;
    if (!w) throw new PleaError("plea_unexpected", `mars got ${what} with no plea waiting; urth and mars disagree about the protocol.`);
    this.waiting = undefined;
    return w;
  }
}
