/**
 * Start-up: the newest usable snapshot, then every event after it replayed and checked
 * (docs/event-log.md, "Start-up"). What mars does before it sends `%ripe`. It joins the log and
 * the kernel, so it lives beside both: the log itself stores jams and never builds a kernel.
 *
 * A snapshot is used only if it is whole (header, length, checksum), not beyond the log, its mug
 * equals the mug stored with its event, and the kernel accepts its state and recomputes the same
 * mug. Otherwise it is skipped with a warning and the next older one tried, down to replay from
 * event 1. After a chop the log starts at `first` (docs/event-log.md, "Retention"): a snapshot
 * older than `first - 1` is skipped (the events after it are gone), and when no snapshot at or
 * after `first - 1` is usable the start is refused (`log_chopped`): a replay from event 1 is no
 * longer possible. Each replayed event must apply (a rejected event was never logged) and reproduce the
 * mug stored with it (vere's `%awry`): either failure stops the start with a LogError naming the
 * event, because a state that differs from the log's is a wrong state.
 */
import { isPleaError } from "../error.ts";
import { Cell } from "../noun/cell.ts";
import { KernelErrorCode } from "./kernel/errors.ts";
import type { Kernel, KernelFactory } from "./kernel/kernel.ts";
import type { EventLog } from "./log/event-log.ts";
import { LogError, LogErrorCode } from "./log/log-error.ts";
import { loadSnapshotFile, type SnapshotStore } from "./log/snapshot.ts";
import { blobSubstitution } from "./log/blob-refs.ts";
import { SnapshotPolicy } from "./log/snapshot-policy.ts";

export interface Restored<K extends Kernel = Kernel> {
  readonly kernel: K;
  /** The last event applied (the log's last). */
  readonly eve: number;
  /** The kernel's mug after it. */
  readonly mug: number;
  /** The snapshot started from (0: none, replayed from event 1). */
  readonly snapshotEve: number;
  /** Events replayed after the snapshot. */
  readonly replayed: number;
  /** The log's and the snapshots' warnings, one sentence each (orphans removed, snapshots skipped). */
  readonly warnings: string[];
  /** Snapshot bookkeeping for `%sync %save` and exit, continued from here. */
  readonly policy: SnapshotPolicy;
}

export interface RestoreOptions<K extends Kernel> {
  readonly log: EventLog;
  readonly snapshots: SnapshotStore;
  readonly createKernel: (state?: Parameters<KernelFactory>[0]) => K;
  /** Called after each replayed event (for progress lines). */
  readonly onEvent?: (eve: number, last: number) => void;
}

export async function restore<K extends Kernel>(options: RestoreOptions<K>): Promise<Restored<K>> {
  const { log, snapshots, createKernel } = options;
  const warnings = [...log.warnings, ...snapshots.removeTemporaries()];
  // What a crash left in the blob store goes before anything new is written (docs/blob-store.md,
  // "Sweep"): staging files, and blobs neither the log nor a kept snapshot names.
  if (!log.readOnly) warnings.push(...log.sweepBlobs(snapshots.blobNames()));
  const head = log.eve;
  const first = log.first;
  let kernel: K | undefined;
  let snapshotEve = 0;
  let snapshotBytes = 0;
  for (const { eve, path } of snapshots.list()) {
    const loaded = await loadSnapshotFile(
      path,
      eve,
      (h) => {
        if (h.eve > head) return `it is of event ${h.eve}, after the log's last event ${head}`;
        // Checked before its state is read: the events after it are gone, it cannot be used.
        if (h.eve < first - 1) return `it is of event ${h.eve}, and a chop removed the events after it up to ${first - 1} (the log starts at event ${first})`;
        const stored = h.eve === 0 ? 0 : log.mugAt(h.eve);
        if (stored !== 0 && stored !== h.mug) return `its mug 0x${h.mug.toString(16)} differs from event ${h.eve}'s 0x${stored.toString(16)}`;
        return undefined;
      },
      // Its large atoms are blobs: each must be in the store (one stat), none is read.
      (refs) => {
        for (const r of refs) if (!log.store.has(r.name, r.byteLength)) return `it refers to blob "${log.store.pathOf(r.name)}", which is missing`;
        return blobSubstitution(log.store, refs);
      },
    );
    if (typeof loaded === "string") {
      warnings.push(`Ignored snapshot "${path}": ${loaded}.`);
      continue;
    }

    let candidate: K;
    try {
      candidate = createKernel(loaded.state);
    } catch (e) {
      if (!isPleaError(e, KernelErrorCode.state)) throw e;
      warnings.push(`Ignored snapshot "${path}": ${e.message}`);
      continue;
    }
    if (candidate.mug() !== loaded.mug) {
      warnings.push(`Ignored snapshot "${path}": its state's mug 0x${candidate.mug().toString(16)} differs from its header's 0x${loaded.mug.toString(16)}.`);
      continue;
    }
    kernel = candidate;
    snapshotEve = loaded.eve;
    snapshotBytes = loaded.jamBytes;
    break;
  }
  if (kernel === undefined && first > 1) {
    throw new LogError(
      LogErrorCode.chopped,
      `The event log "${log.paths.log}" starts at event ${first} (a chop removed the events before it), and no snapshot of event ${first - 1} or later in "${snapshots.dir}" is usable${warnings.some((w) => w.startsWith("Ignored snapshot")) ? " (see the lines above)" : ""}: mars cannot rebuild the state without one. Put back the newest snapshot from a backup, or restore the whole pier from a backup`,
      { eve: first - 1 },
    );
  }
  kernel ??= createKernel();
  let replayed = 0;
  let bytes = 0;
  let inlineBytes = 0;
  for await (const event of log.replay(snapshotEve + 1, head)) {
    const { job } = event;
    if (!(job instanceof Cell)) {
      throw new LogError(LogErrorCode.record, `Event ${event.eve} in the log is not [now ovum]. The log is damaged; restore the pier from a backup`, { eve: event.eve });
    }
    const result = kernel.poke(job.head, job.tail);
    if (!result.ok) {
      throw new LogError(
        LogErrorCode.mug,
        `Event ${event.eve} was rejected on replay, though it was accepted when it was logged: the kernel is not the one that wrote this log. Use the Plea version that wrote it`,
        { eve: event.eve },
      );
    }
    kernel.commit(result);
    const mug = kernel.mug();
    if (event.mug !== 0 && mug !== event.mug) {
      throw new LogError(
        LogErrorCode.mug,
        `Replaying event ${event.eve} gave a state with mug 0x${mug.toString(16)}; the log says 0x${event.mug.toString(16)} (vere's %awry). Mars will not start on a wrong state: use the Plea version that wrote this log`,
        { eve: event.eve },
      );
    }
    replayed++;
    bytes += event.jamBytes;
    if (event.storage === "inline") inlineBytes += event.jamBytes;
    options.onEvent?.(event.eve, head);
  }
  return {
    kernel,
    eve: head,
    mug: kernel.mug(),
    snapshotEve,
    replayed,
    warnings,
    policy: new SnapshotPolicy({ snapshotEve, snapshotBytes, eventsSince: replayed, bytesSince: bytes, inlineBytesSince: inlineBytes }),
  };
}
