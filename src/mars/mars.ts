/**
 * mars's event loop: tasks in, gifts out, strictly in order (vere mars.c `_mars_work`).
 *
 * Each task is handled to the end before the next is read: a `%poke` is applied by the kernel,
 * made durable in the log, and only then answered, so a later `%peek` sees it. Every task first
 * goes through mars's plea machine (src/plea/mars.ts, docs/plea.md), which says what to do with
 * it: handle it, hold it while a plea waits for `%done`, make or take a segment, or stop; this
 * class performs those actions.
 */
import { wallMs } from "../wall-clock.ts";
import { assert, isPleaError, PleaError } from "../error.ts";
import type { Segment } from "../ffi/index.ts";
import { giftToNoun, type Gift } from "../ipc/gift.ts";
import { goof, readGoof } from "../ipc/goof.ts";
import { cardTag } from "../ipc/into.ts";
import { isLogPeekPath } from "../ipc/peek-path.ts";
import { parseTask, type PeekRequest, type Task } from "../ipc/task.ts";
import type { FrameWriter } from "../ipc/frame-writer.ts";
import { Cell, cord, cordToString, isAtom, isFileAtom, mug, shmSize, type Noun } from "../noun/index.ts";
import { MappingRegistry } from "../plea/mapping-registry.ts";
import { MarsPlea, type MarsPleaAction, type MarsPleaInput } from "../plea/mars.ts";
import { MarsErrorCode } from "./errors.ts";
import type { FileStoreKernel, FileStorePokeDone } from "./kernel/file-store.ts";
import type { EventLog } from "./log/event-log.ts";
import type { EventPath } from "./log/event-info.ts";
import type { SnapshotStore } from "./log/snapshot.ts";
import type { SnapshotPolicy } from "./log/snapshot-policy.ts";
import { answerLogPeek, type MarsPeeks } from "./log-peek.ts";
import { PEEK_MARK } from "../ipc/peek-path.ts";
import { chop, diskUsage } from "./retention.ts";
import { History } from "./history.ts";
import { createFileStoreKernel } from "./kernel/file-store.ts";
import type { Kernel } from "./kernel/kernel.ts";
import { LogError } from "./log/log-error.ts";
import { resolveBref, type BlobLookup } from "./blob-refs.ts";
import { daNow } from "../noun/da.ts";
import { PleaSegments, type PleaSegment } from "./plea-segments.ts";
import { settleEvent } from "./settle.ts";
import { BlobErrorCode } from "../blob/index.ts";
import { SnapshotSchedule } from "./snapshot-schedule.ts";
import { BigAtom } from "../noun/atom.ts";

type PeekGift = Extract<Gift, { type: "peek" }>;

/** Gifts whose raw size is above this are jammed into the pipe in chunks rather than whole. */
const GIFT_STREAM_BYTES_MIN = 16 * 1024 * 1024;

export interface MarsDeps {
  kernel: FileStoreKernel;
  log: EventLog;
  snapshots: SnapshotStore;
  policy: SnapshotPolicy;
  writer: FrameWriter;
  namespace: string;
  shmDir?: string;
  eve: number;
  onLog: (line: string) => void;
  /** The pier's blob store, read to resolve the blob references of a `%bref` and a plea segment. */
  blobs: BlobLookup;
  /** Timed snapshots every this many ms (`--snap-time`; 0 or absent: none). */
  snapTimeMs?: number;
}

/**
 * When a task arrived, and for a plea's or a `%bref`'s event how long decoding it took and how
 * many blobs (of how many bytes) it referred to instead of carrying.
 */
interface Timing {
  arrivedAtMs: number;
  decodedAtMs?: number;
  decodeMs?: number;
  refs?: number;
  refBytes?: number;
  /** The event's atoms that are views into a plea mapping (none for the pipe and `%bref`). */
  views?: BigAtom[];
}

export class Mars {
  eve: number;
  private readonly d: MarsDeps;
  private readonly mappings = new MappingRegistry<Segment>();
  private readonly plea = new MarsPlea<PleaSegment>();
  private readonly segments: PleaSegments;
  /** Snapshots on `%sync %save`, exit, the `--snap-time` timer and a chop, one at a time. */
  private readonly schedule: SnapshotSchedule;
  /** The chop running beside the task loop (retention.ts), if any: one at a time. */
  private chopping: Promise<void> | undefined;
  /** States after older events, for `/plea/at` (history.ts). */
  private readonly history: History<FileStoreKernel>;
  /** `/plea/...` peeks that need more than the log (log-peek.ts). */
  private readonly marsPeeks: MarsPeeks;
  /**
   * Views of the blobs a peek's answer holds, checked before the reply: kept reachable until the
   * reply is written (peek), so the GC cannot drop a mapping between the check and the jam.
   */
  private readonly held: Uint8Array[] = [];

  constructor(deps: MarsDeps) {
    this.d = deps;
    this.eve = deps.eve;
    this.segments = new PleaSegments(deps.namespace, this.mappings, deps.shmDir, deps.blobs);
    this.schedule = new SnapshotSchedule(
      {
        snapshots: deps.snapshots,
        policy: deps.policy,
        store: deps.log.store,
        // Read between tasks or while a poke awaits its append: the state and event always match.
        subject: () => ({ eve: this.eve, mug: this.d.kernel.mug(), state: this.d.kernel.state }),
        forgetOwner: (owner) => this.d.kernel.forgetOwner(owner),
        onLog: deps.onLog,
        holding: () => this.chopping !== undefined,
      },
      deps.snapTimeMs ?? 0,
    );
    this.history = new History({
      log: deps.log,
      snapshots: deps.snapshots,
      createKernel: createFileStoreKernel,
      onBuilt: (b) => {
        for (const w of b.warnings) deps.onLog(w);
      },
    });
    this.marsPeeks = {
      du: async () => {
        const report = await diskUsage({ log: this.d.log, snapshots: this.d.snapshots, state: this.d.kernel.state });
        return { type: "peek", ok: true, result: { mark: PEEK_MARK.du, noun: cord(JSON.stringify(report)) } };
      },
      at: (eve, path) => this.peekAt(eve, path),
    };
  }

  /** Resolves once no snapshot is in flight (a timed one is written in the background). */
  snapshotSettled(): Promise<void> {
    return this.schedule.settled();
  }

  /** Parses a task noun; a malformed one is `mars_bad_task` (the caller exits 1, as vere). */
  static parse(noun: Noun): Task {
    try {
      return parseTask(noun);
    } catch (e) {
      throw new PleaError(MarsErrorCode.badTask.unparseable, `mars: bad task: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Handles one task. Resolves "exit" when mars should exit (after `%exit`), else undefined; throws
   * `mars_plea_out_of_state` for a plea message out of its state (the caller exits 1). `arrivedAtMs` is when the
   * task's frame was complete (for the event's timings).
   */
  async handle(task: Task, arrivedAtMs = wallMs()): Promise<"exit" | undefined> {
    return this.step({ type: "task", task }, { arrivedAtMs });
  }

  /** Resolves when no chop is running (mars closes its log only after: a chop writes it). */
  async settled(): Promise<void> {
    await this.chopping;
  }

  /** EOF, exit or a fatal error: remove a segment still waiting and release every mapping. */
  shutdown(): void {
    this.schedule.stop();
    for (const a of this.plea.step({ type: "end" })) {
      if (a.do === "remove") this.segments.remove(a.segment);
    }
    this.mappings.closeAll();
  }

  /** Steps the plea machine and performs what it says, in order. */
  private async step(input: MarsPleaInput<PleaSegment>, t: Timing): Promise<"exit" | undefined> {
    for (const a of this.plea.step(input)) {
      if ((await this.perform(a, t)) === "exit") return "exit";
    }
    return undefined;
  }

  private async perform(a: MarsPleaAction<PleaSegment>, t: Timing): Promise<"exit" | undefined> {
    switch (a.do) {
      case "handle":
        return this.handleNow(a.task, t.arrivedAtMs);
      case "create": {
        const c = this.segments.create(a.length, a.kind);
        return this.step(c.ok ? { type: "created", segment: c.segment, granted: c.granted, length: c.length } : { type: "create-failed", message: c.message }, t);
      }
      case "grant": {
        const g = a.granted;
        await this.send(g.kind === "memfd" ? { type: "plea", ok: true, kind: "memfd", fd: g.fd, length: a.length } : { type: "plea", ok: true, name: g.name, length: a.length });
        return undefined;
      }
      case "refuse":
        // The operator should learn why a large event did not take shared memory (a full
        // /dev/shm is a deployment problem): mars says so, whatever urth does next.
        this.d.onLog(`mars refused a plea of ${a.length} bytes (${a.mote}): ${a.message}`);
        await this.send({ type: "plea", ok: false, goof: goof(a.mote, a.message) });
        return undefined;
      case "take": {
        const t0 = performance.now();
        const refs = { refs: 0, refBytes: 0 };
        const views: BigAtom[] = [];
        let input: MarsPleaInput<PleaSegment>;
        try {
          input = {
            type: "taken",
            noun: this.segments.take(
              a.segment,
              (atom) => {
                refs.refs++;
                refs.refBytes += atom.byteLength;
              },
              (view) => views.push(view),
            ),
          };
        } catch (e) {
          input = { type: "take-failed", message: (e as Error).message };
        }
        return this.step(input, { arrivedAtMs: t.arrivedAtMs, decodedAtMs: wallMs(), decodeMs: performance.now() - t0, ...refs, views });
      }
      case "resolve": {
        const t0 = performance.now();
        const r = resolveBref(a.task, this.d.blobs);
        return this.step(r.input, { arrivedAtMs: t.arrivedAtMs, decodedAtMs: wallMs(), decodeMs: performance.now() - t0, refs: r.refs, refBytes: r.refBytes });
      }
      case "poke":
        await this.poke(a.ovum, a.path, { ...t, decodedAtMs: t.decodedAtMs ?? t.arrivedAtMs, decodeMs: t.decodeMs ?? 0 });
        return undefined;
      case "reject":
        // The plea's event fails and mars goes on; a mapping of a segment that held no poke goes now.
        this.d.onLog(`plea: ${a.message}`);
        this.mappings.retainOnly(this.d.kernel.owners());
        await this.send({ type: "poke", ok: false, goofs: [goof(a.mote, a.message)] });
        return undefined;
      case "remove":
        this.segments.remove(a.segment);
        return undefined;
      case "release":
        for (const task of a.tasks) {
          if ((await this.step({ type: "task", task }, { arrivedAtMs: wallMs() })) === "exit") return "exit";
        }
        return undefined;
      case "fail":
        throw new PleaError(MarsErrorCode.badTask.outOfState, `mars: bad task: ${a.message}`);
    }
  }

  private async handleNow(task: Task, arrivedAtMs: number): Promise<"exit" | undefined> {
    switch (task.type) {
      case "poke":
        await this.poke(task.ovum, "pipe", { arrivedAtMs, decodedAtMs: arrivedAtMs, decodeMs: 0 });
        return undefined;
      case "peek":
        await this.peek(task.request);
        return undefined;
      case "live":
        await this.send({ type: "live" });
        return undefined;
      case "quiz":
        await this.send(task.kind === "quac" ? { type: "quiz", kind: "quac", report: 0 } : { type: "quiz", kind: "quic", open: this.mappings.size, idle: 0 });
        return undefined;
      case "sync": {
        // A chop keeps the snapshots it chose: a save waits for it. A timed snapshot in flight is
        // waited for: if it is of this event, it is the one saved.
        await this.chopping;
        await this.schedule.settled();
        if (this.d.policy.dueOnSave(this.eve)) await this.schedule.take();
        await this.send({ type: "sync", eve: this.eve, mug: this.d.kernel.mug() });
        return undefined;
      }
      case "exit":
        await this.chopping;
        await this.schedule.settled();
        if (this.d.policy.dueOnExit()) await this.schedule.take();
        return "exit";
      case "chop":
        this.startChop(task.keep);
        return undefined;
      case "plea":
      case "done":
      case "drop":
      case "bref":
        // The plea machine never hands these over: it handles them itself (a %bref it resolves).
        assert(false, `the plea machine handed over a %${task.type} task`);
    }
  }

  private async poke(ovum: Noun, path: EventPath, t: Timing & { decodedAtMs: number; decodeMs: number }): Promise<void> {
    const now = daNow();
    const t0 = performance.now();
    const r = this.d.kernel.poke(now, ovum);
    if (!r.ok) {
      this.mappings.retainOnly(this.d.kernel.owners());
      await this.send({ type: "poke", ok: false, goofs: [readGoof(r.goof, "the kernel's goof")] });
      return;
    }
    const stateMug = mug(r.state);
    const applyMs = performance.now() - t0;
    const persistStartAtMs = wallMs();
    const appended = await this.d.log.append({
      eve: this.eve + 1,
      mug: stateMug,
      now,
      ovum,
      path,
      kind: cardTag(ovum) ?? "?",
      detail: { arrivedAtMs: t.arrivedAtMs, decodedAtMs: t.decodedAtMs, decodeMs: t.decodeMs, applyMs, persistStartAtMs, persistMs: performance.now() - t0 - applyMs, ...refsDetail(t) },
      view: (r as FileStorePokeDone).view,
    });
    this.d.kernel.commit(r);
    this.eve = appended.eve;
    this.d.policy.noteEvent(appended.jamBytes, appended.storage);
    // The event is durable: its large atoms now live in the blob store, and every other view into
    // its segment is copied to the heap, so the segment's mapping goes (settle.ts).
    for (const owner of settleEvent(t.views ?? [], appended.stored)) this.d.kernel.forgetOwner(owner);
    // Mappings whose views the state no longer holds (a file replaced or deleted) go now.
    this.mappings.retainOnly(this.d.kernel.owners());
    await this.send({ type: "poke", ok: true, effects: listOf(r.effects) });
  }

  private async peek(request: PeekRequest): Promise<void> {
    // Plea's `/plea/...` paths are mars's own (its log); every other path is the kernel's.
    if (request.kind === "path" && isLogPeekPath(request.path)) {
      await this.send(await answerLogPeek(this.d.log, request.path, this.marsPeeks));
    } else {
      const path = request.kind === "path" ? request.path : new Cell(cord(request.care), new Cell(cord(request.desk), request.path));
      await this.send(this.kernelPeek(this.d.kernel, path));
    }
    // The checked views stay reachable until the reply is written: the GC cannot drop a mapping
    // between the check and the jam, which would map and check the blob a second time.
    this.held.length = 0;
  }

  /** The kernel's answer to `path`, its blobs checked (their views go to `held`). */
  private kernelPeek(kernel: Kernel, path: Noun): PeekGift {
    const r = kernel.peek(path);
    if (!r.ok) return { type: "peek", ok: false, goof: readGoof(r.goof, "the kernel's goof") };
    const unit = r.unit;
    if (unit === 0 || !(unit instanceof Cell) || !(unit.tail instanceof Cell)) return { type: "peek", ok: true, result: null };
    const cask = unit.tail;
    const mark = cask.head;
    // Blob-backed atoms are mapped and checked before the first byte of the reply is written: a
    // damaged blob is then a failed peek naming it, never wrong bytes or a torn frame.
    const damaged = checkBlobBytes(cask.tail, this.held);
    if (damaged !== undefined) {
      this.d.onLog(damaged.message);
      return { type: "peek", ok: false, goof: goof("plea-blob", damaged.message) };
    }
    return { type: "peek", ok: true, result: { mark: isAtom(mark) && !isFileAtom(mark) ? cordToString(mark) : "?", noun: cask.tail } };
  }

  /**
   * `/plea/at/EVE/[care desk spur]`: the kernel's peek in the state after event EVE (history.ts).
   * An event outside the retained range is `%plea-not-retained`; an older event that does not
   * replay (damaged, or its mug differs) is `%plea-history`, said on stderr too: the live state
   * is not at stake, so mars goes on.
   */
  private async peekAt(eve: number, path: Noun): Promise<PeekGift> {
    let kernel: FileStoreKernel;
    try {
      kernel = await this.history.kernelAt(eve, { eve: this.eve, kernel: this.d.kernel });
    } catch (e) {
      if (isPleaError(e, MarsErrorCode.history.notRetained)) return { type: "peek", ok: false, goof: goof("plea-not-retained", e.message) };
      if (!(e instanceof LogError)) throw e;
      this.d.onLog(`The state after event ${eve} cannot be rebuilt: ${e.message}`);
      return { type: "peek", ok: false, goof: goof("plea-history", e.message) };
    }
    return this.kernelPeek(kernel, path);
  }

  /**
   * `[%chop keep]` (docs/event-log.md, "Retention"): the chop runs beside the task loop, in
   * slices, so events go on meanwhile; its `%chop` gift goes out when it ends, after the gifts of
   * any tasks handled in between. One at a time: a `%chop` asked during one runs after it (so
   * `%chop` gifts stay in the order of their tasks); it starts after a snapshot being written.
   */
  private startChop(keep: number): void {
    const run = async () => {
      // A snapshot being written (timed, or a save's) ends first; none starts while the chop runs.
      await this.schedule.settled();
      let gift: Gift;
      try {
        const report = await chop(
          {
            log: this.d.log,
            snapshots: this.d.snapshots,
            state: this.d.kernel.state,
            currentState: () => this.d.kernel.state,
            // In the background, as a timed one: the events that arrive meanwhile are handled.
            saveSnapshot: () => this.schedule.take({ background: true }),
          },
          keep,
        );
        gift = { type: "chop", ok: true, report: JSON.stringify(report) };
      } catch (e) {
        this.d.onLog(`mars: chop failed: ${(e as Error).message}`);
        gift = { type: "chop", ok: false, goof: goof("plea-chop", (e as Error).message) };
      }
      await this.send(gift);
    };
    const queued = (this.chopping ?? Promise.resolve()).then(run);
    const mine: Promise<void> = queued.finally(() => {
      if (this.chopping === mine) this.chopping = undefined;
    });
    this.chopping = mine;
  }

  private async send(g: Gift): Promise<void> {
    const noun = giftToNoun(g);
    if (g.type === "peek" && shmSize(noun) > GIFT_STREAM_BYTES_MIN) await this.d.writer.sendStream(noun);
    else await this.d.writer.send(noun);
  }

}

/** The blob references an event arrived with, for its INFO (`urth log`, `commit --json`); none: nothing. */
function refsDetail(t: Timing): Record<string, number> {
  return t.refs ? { refs: t.refs, refBytes: t.refBytes ?? 0 } : {};
}

/**
 * Reads (maps and checks) every blob-backed atom of `noun`, keeping each view in `held`; the first
 * blob error, if any.
 */
function checkBlobBytes(noun: Noun, held: Uint8Array[]): PleaError | undefined {
  const stack: Noun[] = [noun];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n instanceof Cell) {
      stack.push(n.tail, n.head);
      continue;
    }
    if (!(n instanceof BigAtom) || n.source === undefined) continue;
    try {
      held.push(n.bytes);
    } catch (e) {
      if (isPleaError(e, BlobErrorCode)) return e;
      throw e;
    }
  }
  return undefined;
}

function listOf(effects: Noun): Cell[] {
  const out: Cell[] = [];
  for (let cur = effects; cur instanceof Cell; cur = cur.tail) out.push(cur.head as Cell);
  return out;
}

