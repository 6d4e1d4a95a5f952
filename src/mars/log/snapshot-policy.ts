/**
 * When mars writes a snapshot (docs/event-log.md, "Snapshot policy"):
 * - on `%sync %save`: always, unless the newest snapshot is already of the current event;
 * - on a clean exit: only when replaying the events since the last snapshot would cost at least
 *   SNAPSHOT_EXIT_REPLAY_BYTES_MIN and at least 1/SNAPSHOT_EXIT_REWRITE_RATIO of rewriting the
 *   whole state. A multi-GiB state is therefore not rewritten on every exit after a few small
 *   commits, and a small state with many events since is.
 *
 * Costs are in bytes: an event costs SNAPSHOT_EVENT_REPLAY_BYTES (the fixed cost of reading,
 * cueing and applying one event) plus, for an event kept inline in LMDB, its jam's length. A blob
 * event's bytes do not count towards replay: cueing a blob costs what cueing the same bytes out of
 * a snapshot costs, so a snapshot would only copy the blob (a 2 GiB commit followed by exit once
 * wrote a 2 GiB snapshot for nothing). The rewrite costs the last snapshot's size plus every
 * byte added since, blobs included (an upper bound of the state's jam).
 */

/** Below this much replay (about 0.2 s of cue at bench/log.ts's replay speed) an exit never snapshots: 64 MiB. */
export const SNAPSHOT_EXIT_REPLAY_BYTES_MIN = 64 * 1024 * 1024;

/** Snapshot at exit once replay costs at least a quarter of the rewrite. */
export const SNAPSHOT_EXIT_REWRITE_RATIO = 4;

/** Below this much replay a timed snapshot is not worth writing: TBD by measurement. */
export const SNAPSHOT_TIMER_REPLAY_BYTES_MIN = 4 * 1024 * 1024;

/** A timed snapshot once replay costs at least this fraction of the rewrite: TBD. */
export const SNAPSHOT_TIMER_REWRITE_RATIO = 8;

/** Fixed replay cost of one event, in bytes of jam: 64 KiB (so 1,024 small events = 64 MiB). */
export const SNAPSHOT_EVENT_REPLAY_BYTES = 64 * 1024;

export interface SnapshotPolicyState {
  /** Event of the newest snapshot (0 if none). */
  readonly snapshotEve: number;
  /** Jam bytes of the newest snapshot (0 if none). */
  readonly snapshotBytes: number;
  /** Events applied since it. */
  readonly eventsSince: number;
  /** Jam bytes of those events. */
  readonly bytesSince: number;
  /** Jam bytes of those events that are kept inline (what replay costs beyond the fixed cost). */
  readonly inlineBytesSince?: number;
}

export class SnapshotPolicy {
  private s: SnapshotPolicyState;

  constructor(state: SnapshotPolicyState) {
    this.s = { ...state };
  }

  get state(): SnapshotPolicyState {
    return this.s;
  }

  /** Call after each durable event, with how the log stored it. */
  noteEvent(jamBytes: number, storage: "inline" | "blob" = "inline"): void {
    const inline = (this.s.inlineBytesSince ?? this.s.bytesSince) + (storage === "inline" ? jamBytes : 0);
    this.s = { ...this.s, eventsSince: this.s.eventsSince + 1, bytesSince: this.s.bytesSince + jamBytes, inlineBytesSince: inline };
  }

  /**
   * Call after each snapshot written. `since`: the policy's state when the snapshot started (a
   * background snapshot): the events counted since then came after the snapshot's event and
   * stay counted.
   */
  noteSnapshot(eve: number, jamBytes: number, since: SnapshotPolicyState = this.s): void {
    const s = this.s;
    const inline = (s.inlineBytesSince ?? s.bytesSince) - (since.inlineBytesSince ?? since.bytesSince);
    this.s = { snapshotEve: eve, snapshotBytes: jamBytes, eventsSince: s.eventsSince - since.eventsSince, bytesSince: s.bytesSince - since.bytesSince, inlineBytesSince: inline };
  }

  /** Whether `%sync %save` should write one now (anything new since the last). */
  dueOnSave(eve: number): boolean {
    return eve > this.s.snapshotEve || this.s.snapshotBytes === 0;
  }

  /** Whether a clean exit should write one. */
  dueOnExit(): boolean {
    const { eventsSince, bytesSince, snapshotBytes } = this.s;
    if (eventsSince === 0) return false;
    const replay = this.replayBytes();
    const rewrite = snapshotBytes + bytesSince;
    return replay >= SNAPSHOT_EXIT_REPLAY_BYTES_MIN && replay * SNAPSHOT_EXIT_REWRITE_RATIO >= rewrite;
  }

  /**
   * Whether the `--snap-time` timer should write one (in the background). Unlike the exit rule,
   * every event's jam counts as replay, kept inline or in a blob file: a record's jam never holds
   * a large atom (those are blob-store refs, docs/blob-store.md), so a record is in a blob file
   * only for being many small nouns (a 100,000-file commit: 105 MB), and replaying it cost 1.35 s
   * here against 0.94 s for loading the snapshot of the state it made (bench/snap-cost.ts).
   */
  dueOnTimer(): boolean {
    const { eventsSince, bytesSince, snapshotBytes } = this.s;
    if (eventsSince === 0) return false;
    const replay = bytesSince + eventsSince * SNAPSHOT_EVENT_REPLAY_BYTES;
    const rewrite = snapshotBytes + bytesSince;
    return replay >= SNAPSHOT_TIMER_REPLAY_BYTES_MIN && replay * SNAPSHOT_TIMER_REWRITE_RATIO >= rewrite;
  }

  /** What replaying the events since the last snapshot costs, in bytes of jam. */
  private replayBytes(): number {
    return (this.s.inlineBytesSince ?? this.s.bytesSince) + this.s.eventsSince * SNAPSHOT_EVENT_REPLAY_BYTES;
  }
}
