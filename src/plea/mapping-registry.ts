/**
 * The mappings mars keeps alive because its state holds zero-copy views into them.
 *
 * Each plea's segment is unlinked the moment mars maps it, so nothing of it can leak into
 * /dev/shm; its pages live until the mapping is closed. mars decodes large atoms as views with
 * `owner` set to the mapping; after every event it asks its kernel which owners the state still
 * references and closes all others (docs/plea.md, "The lifetime of a mapping in mars"). A close
 * detaches every view before unmapping, so a view that escaped this bookkeeping reads nothing
 * instead of faulting.
 */
export interface Releasable {
  close(): void;
}

export class MappingRegistry<T extends Releasable = Releasable> {
  private readonly live = new Set<T>();

  add(mapping: T): void {
    this.live.add(mapping);
  }

  get size(): number {
    return this.live.size;
  }

  /** Closes every mapping not in `referenced`; returns how many were closed. */
  retainOnly(referenced: ReadonlySet<unknown>): number {
    let closed = 0;
    for (const m of this.live) {
      if (referenced.has(m)) continue;
      this.live.delete(m);
      m.close();
      closed++;
    }
    return closed;
  }

  /** Closes one mapping now (a decode that failed, a plea dropped). */
  release(mapping: T): void {
    if (this.live.delete(mapping)) mapping.close();
  }

  closeAll(): void {
    for (const m of this.live) m.close();
    this.live.clear();
  }
}
