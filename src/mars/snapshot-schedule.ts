/**
 * When and how mars writes its snapshots (docs/event-log.md, "Snapshot policy"): on `%sync
 * %save` and on a clean exit in the foreground, as before, and every `--snap-time` seconds in
 * the background while mars goes on handling tasks.
 *
 * A timed snapshot is of the state after the last durable event at the moment the timer fires.
 * The state is an immutable noun, so mars may apply further events meanwhile: the snapshot jams
 * the noun it was given in steps (snapshot.ts, `pause`), yielding to the event loop after each,
 * so a poke that arrives meanwhile waits for at most one step, not for the whole snapshot.
 * One snapshot at a time: the timer skips a tick while one is in flight, and `%sync %save`,
 * `%exit` (and chop) wait for it first (`settled`).
 */
import { blobAtomBytesMin, type BlobStore } from "../blob/index.ts";
import type { Noun } from "../noun/noun.ts";
import type { SnapshotStore } from "./log/snapshot.ts";
import type { SnapshotPolicy } from "./log/snapshot-policy.ts";
import { settleAtoms } from "./settle.ts";

/** The largest `--snap-time`: setInterval's limit (a signed 32-bit count of ms), in seconds. */
export const SNAP_TIME_SECONDS_MAX = Math.floor((2 ** 31 - 1) / 1000);

/** What a snapshot is taken of, read at the moment it starts. */
export interface SnapshotSubject {
  readonly eve: number;
  readonly mug: number;
  readonly state: Noun;
}

export interface SnapshotScheduleDeps {
  readonly snapshots: SnapshotStore;
  readonly policy: SnapshotPolicy;
  readonly store: BlobStore;
  /** The last durable event and the state after it. */
  subject(): SnapshotSubject;
  /** Called with the owners (mappings) of atoms a snapshot moved to the blob store. */
  forgetOwner(owner: unknown): void;
  /** While this says so (a chop is choosing and removing snapshots), the timer takes none. */
  holding?(): boolean;
  onLog(line: string): void;
}

/** Lets the event loop run (pending I/O, such as the next task's frame) before the next step. */
export function pauseForTasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export class SnapshotSchedule {
  private readonly d: SnapshotScheduleDeps;
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `snapTimeMs` 0: no timer (snapshots on `%sync %save` and exit only). */
  constructor(deps: SnapshotScheduleDeps, snapTimeMs: number) {
    this.d = deps;
    if (snapTimeMs > 0) {
      this.timer = setInterval(() => this.tick(), snapTimeMs);
      // The timer alone never keeps mars alive: stdin (urth) does.
      this.timer.unref();
    }
  }

  /** Resolves once no snapshot is in flight (never rejects: a timed one's failure was logged). */
  async settled(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /**
   * A snapshot now, after the one in flight; throws if it cannot be written. In the foreground
   * (`%sync %save`, exit) unless `background` (a chop's: tasks go on while it is written).
   */
  async take(options: { background?: boolean } = {}): Promise<void> {
    await this.settled();
    const p = this.write(options.background ? pauseForTasks : undefined);
    this.track(p);
    await p;
  }

  /** Stops the timer; a snapshot in flight goes on (`settled` waits for it). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The timer: a background snapshot when none is in flight and the policy says it is worth it. */
  tick(): void {
    if (this.inFlight !== undefined || this.d.holding?.() === true || !this.d.policy.dueOnTimer()) return;
    this.track(
      this.write(pauseForTasks).catch(
        (e) => {
          // A timed snapshot is an optimisation: the log still holds every event. mars says why
          // and goes on; the next tick (or exit) tries again.
          this.d.onLog(`A timed snapshot failed; mars goes on without it (the log holds every event): ${(e as Error)?.message ?? String(e)}`);
        },
      ),
    );
  }

  private track(p: Promise<void>): void {
    const settled = p.then(
      () => {},
      () => {},
    );
    this.inFlight = settled;
    void settled.then(() => {
      if (this.inFlight === settled) this.inFlight = undefined;
    });
  }

  private async write(pause?: () => Promise<void>): Promise<void> {
    const { eve, mug, state } = this.d.subject();
    // The events the snapshot covers: those applied after it started stay counted (policy).
    const since = this.d.policy.state;
    const h = await this.d.snapshots.save(eve, mug, state, { store: this.d.store, bytesMin: blobAtomBytesMin() }, { pause });
    // An older pier's large heap atoms just went to the store: they move there (settle.ts). The
    // current state shares them with the one saved, so they move for it too.
    if (h.stored.size > 0) for (const owner of settleAtoms(state, h.stored)) this.d.forgetOwner(owner);
    this.d.policy.noteSnapshot(h.eve, h.jamBytes, since);
  }
}
