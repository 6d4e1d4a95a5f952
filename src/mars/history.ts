/**
 * The kernel's state after a retained event: what `/plea/at/EVE/...` peeks read (docs/ipc.md,
 * "Peeks"; `urth cat --at`, `urth ls --at`, docs/urth.md).
 *
 * The state after EVE is built as start-up builds the latest one (restore.ts): the newest usable
 * snapshot at or before EVE, then the events after it up to EVE replayed, each one's mug checked
 * against the mug stored with it. A state is never guessed: a snapshot that fails a check is
 * skipped for an older one, and an event that does not reproduce its mug fails the read.
 *
 * The last state built is kept (an LRU of one). `cat --at` reads a file in `/r` pieces of 4 MiB,
 * one peek each, and `ls --at` then `cat --at` of the same event is the usual pair: without the
 * cache, each piece would load a snapshot and replay again. A later event is reached from the
 * cached state by replaying forward when that is shorter than from a snapshot.
 *
 * What the cache holds is the state after an event, which nothing changes: a new event does not
 * make it stale, so it is not dropped then (a `run` committing every second would otherwise
 * rebuild it between every two pieces of one `cat`). It costs memory: up to a second state of
 * the pier's size (small atoms; large ones are blobs, mapped only while read). So it is dropped
 * after HISTORY_CACHE_IDLE_MS_MAX without a read, before a state for another event is built (never
 * two at once), and on `drop()`. Bun gives a process no signal of memory pressure to listen to;
 * the idle limit bounds how long the second state is held instead.
 */
import { isPleaError, PleaError } from "../error.ts";
import { Cell } from "../noun/cell.ts";
import { MarsErrorCode } from "./errors.ts";
import { KernelErrorCode } from "./kernel/errors.ts";
import type { Kernel } from "./kernel/kernel.ts";
import { blobSubstitution } from "./log/blob-refs.ts";
import type { EventLog } from "./log/event-log.ts";
import { LogError, LogErrorCode } from "./log/log-error.ts";
import { loadSnapshotFile, type SnapshotStore } from "./log/snapshot.ts";
import type { Noun } from "../noun/noun.ts";

/**
 * How long the last historical state is kept without a read (60 s): long enough for an operator's
 * `ls --at` followed by `cat --at`, or a script's loop over files, short enough that a state
 * nobody reads does not sit in mars beside the live one.
 */
export const HISTORY_CACHE_IDLE_MS_MAX = 60_000;

/** Where a historical state came from, for tests and `onBuilt`. */
export interface HistoryBuild {
  readonly eve: number;
  /** "live": mars's own state (EVE is the last event); "cache": the kept state as it was. */
  readonly from: "live" | "cache" | "snapshot" | "replay-from-cache" | "empty";
  /** The snapshot loaded (its event), or the cached state replayed from; 0 when from empty. */
  readonly startEve: number;
  readonly replayed: number;
  /** Snapshots skipped, one sentence each (damaged, missing blobs, mug mismatch). */
  readonly warnings: readonly string[];
}

export interface HistoryOptions<K extends Kernel> {
  readonly log: EventLog;
  readonly snapshots: SnapshotStore;
  readonly createKernel: (state?: Noun) => K;
  /** Default HISTORY_CACHE_IDLE_MS_MAX; tests shorten it. */
  readonly idleMs?: number;
  /** Told how each state was reached (mars logs the skipped snapshots). */
  readonly onBuilt?: (b: HistoryBuild) => void;
}

export class History<K extends Kernel> {
  private readonly o: HistoryOptions<K>;
  private cached: { eve: number; kernel: K } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: HistoryOptions<K>) {
    this.o = options;
  }

  /** The event the kept state is after, if one is kept. */
  get cachedEve(): number | undefined {
    return this.cached?.eve;
  }

  /**
   * The retained events: `first..last` of the log. An event outside them throws
   * `MarsErrorCode.history.notRetained` with a message naming the range.
   */
  checkRetained(eve: number): void {
    const { first, eve: last } = this.o.log;
    if (eve >= first && eve <= last) return;
    const held = last < first ? "the log holds no events yet" : `the log holds events ${first} to ${last}`;
    throw new PleaError(MarsErrorCode.history.notRetained, `Event ${eve} is not retained: ${held}`);
  }

  /**
   * The kernel whose state is the one after event `eve`. `live` is mars's own (state after the
   * log's last event), answered as it is. Throws `notRetained` for an event outside the log's
   * range or one no usable snapshot reaches, and a LogError for a damaged event or a wrong mug.
   * The kernel returned is valid until the next call: read it before calling again.
   */
  async kernelAt(eve: number, live?: { readonly eve: number; readonly kernel: K }): Promise<K> {
    this.checkRetained(eve);
    if (live !== undefined && live.eve === eve) {
      this.o.onBuilt?.({ eve, from: "live", startEve: eve, replayed: 0, warnings: [] });
      return live.kernel;
    }
    const first = this.o.log.first;
    const cached = this.cached;
    if (cached !== undefined && cached.eve === eve) {
      this.touch();
      this.o.onBuilt?.({ eve, from: "cache", startEve: eve, replayed: 0, warnings: [] });
      return cached.kernel;
    }
    // The cached state is a start only if it is at or before EVE and the events after it are still held.
    const cacheStart = cached !== undefined && cached.eve < eve && cached.eve >= first - 1 ? cached.eve : -1;
    // Never two historical states at once: the cached one goes unless it is the start.
    this.drop();
    const warnings: string[] = [];
    let kernel: K | undefined;
    let start = 0;
    let from: HistoryBuild["from"] = "empty";
    for (const snap of this.o.snapshots.list()) {
      // Newest first: at or before EVE, and not below the events the log still holds.
      if (snap.eve > eve || snap.eve < first - 1) continue;
      if (snap.eve <= cacheStart) break;
      const loaded = await this.loadSnapshot(snap.path, snap.eve);
      if (typeof loaded === "string") {
        warnings.push(`Ignored snapshot "${snap.path}": ${loaded}.`);
        continue;
      }
      kernel = loaded;
      start = snap.eve;
      from = "snapshot";
      break;
    }
    if (kernel === undefined && cacheStart >= 0) {
      kernel = cached!.kernel;
      start = cacheStart;
      from = "replay-from-cache";
    }
    if (kernel === undefined) {
      if (first > 1) {
        throw new PleaError(
          MarsErrorCode.history.notRetained,
          `Event ${eve} is not retained: no usable snapshot lies at or before it from event ${first - 1} on, and the log holds events ${first} to ${this.o.log.eve}${warnings.length > 0 ? ` (${warnings.join(" ")})` : ""}`,
        );
      }
      kernel = this.o.createKernel();
    }
    let replayed = 0;
    for await (const event of this.o.log.replay(start + 1, eve)) {
      applyLogged(kernel, event);
      replayed++;
    }
    this.cached = { eve, kernel };
    this.touch();
    this.o.onBuilt?.({ eve, from, startEve: start, replayed, warnings });
    return kernel;
  }

  /** Forgets the kept state (its memory goes with the next collection). */
  drop(): void {
    this.cached = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private touch(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.drop(), this.o.idleMs ?? HISTORY_CACHE_IDLE_MS_MAX);
    // The kept state must not keep mars alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * A snapshot's kernel, checked as start-up checks it (restore.ts): whole, its blobs present,
   * its mug equal to its event's stored mug (when the log still holds that event) and to the mug
   * the kernel recomputes. Why not, if it cannot be used.
   */
  private async loadSnapshot(path: string, eve: number): Promise<K | string> {
    const { log } = this.o;
    const loaded = await loadSnapshotFile(
      path,
      eve,
      (h) => {
        const stored = h.eve === 0 || h.eve < log.first ? 0 : log.mugAt(h.eve);
        if (stored !== 0 && stored !== h.mug) return `its mug 0x${h.mug.toString(16)} differs from event ${h.eve}'s 0x${stored.toString(16)}`;
        return undefined;
      },
      (refs) => {
        for (const r of refs) if (!log.store.has(r.name, r.byteLength)) return `it refers to blob "${log.store.pathOf(r.name)}", which is missing`;
        return blobSubstitution(log.store, refs);
      },
    );
    if (typeof loaded === "string") return loaded;
    let kernel: K;
    try {
      kernel = this.o.createKernel(loaded.state);
    } catch (e) {
      if (!isPleaError(e, KernelErrorCode.state)) throw e;
      return e.message;
    }
    if (kernel.mug() !== loaded.mug) return `its state's mug 0x${kernel.mug().toString(16)} differs from its header's 0x${loaded.mug.toString(16)}`;
    return kernel;
  }
}

/** Applies one logged event and checks its stored mug, as replay at start-up does (restore.ts). */
function applyLogged(kernel: Kernel, event: { eve: number; mug: number; job: Noun }): void {
  const { job } = event;
  if (!(job instanceof Cell)) {
    throw new LogError(LogErrorCode.record, `Event ${event.eve} in the log is not [now ovum]. The log is damaged; restore the pier from a backup`, { eve: event.eve });
  }
  const result = kernel.poke(job.head, job.tail);
  if (!result.ok) {
    throw new LogError(LogErrorCode.mug, `Event ${event.eve} was rejected on replay, though it was accepted when it was logged: the kernel is not the one that wrote this log`, {
      eve: event.eve,
    });
  }
  kernel.commit(result);
  const mug = kernel.mug();
  if (event.mug !== 0 && mug !== event.mug) {
    throw new LogError(LogErrorCode.mug, `Replaying event ${event.eve} gave a state with mug 0x${mug.toString(16)}; the log says 0x${event.mug.toString(16)} (vere's %awry)`, {
      eve: event.eve,
    });
  }
}
