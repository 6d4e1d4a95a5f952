/**
 * mars's event loop: tasks in, gifts out, strictly in order (vere mars.c `_mars_work`).
 *
 * Each task is handled to the end before the next is read: a `%poke` is applied by the kernel,
 * made durable in the log, and only then answered, so a later `%peek` sees it. Between a granted
 * `%plea` and its `%done` every other task is held (docs/plea.md); the plea's event is then
 * handled as the `%poke` it holds, and the held tasks after it, in order.
 */
import { wallMs } from "../wall-clock.ts";
import { PleaError } from "../error.ts";
import type { Segment } from "../ffi/index.ts";
import { giftToNoun, type Gift } from "../ipc/gift.ts";
import { goof, readGoof } from "../ipc/goof.ts";
import { cardTag } from "../ipc/into.ts";
import { isLogPeekPath } from "../ipc/peek-path.ts";
import { parseTask, type PeekRequest, type Task } from "../ipc/task.ts";
import type { FrameWriter } from "../ipc/frame-writer.ts";
import { Cell, cord, cordToString, isAtom, isFileAtom, mug, shmSize, type Noun } from "../noun/index.ts";
import { MappingRegistry } from "../plea/mapping-registry.ts";
import { MarsPlea } from "../plea/mars.ts";
import type { FileStoreKernel } from "./kernel/file-store.ts";
import type { EventLog } from "./log/event-log.ts";
import type { EventPath } from "./log/event-info.ts";
import type { SnapshotStore } from "./log/snapshot.ts";
import type { SnapshotPolicy } from "./log/snapshot-policy.ts";
import { answerLogPeek } from "./log-peek.ts";
import { daNow } from "../noun/da.ts";

/** Gifts whose raw size is above this are jammed into the pipe in chunks rather than whole. */
const GIFT_STREAM_BYTES_MIN = 16 * 1024 * 1024;

/** A task mars cannot parse: vere prints `mars: bad` and exits 1 (mars.c:920-929). */
export class BadTask extends PleaError {}


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
}

export class Mars {
  eve: number;
  private readonly d: MarsDeps;
  private readonly mappings = new MappingRegistry<Segment>();
  private readonly plea: MarsPlea;
  private held: Task[] = [];

  constructor(deps: MarsDeps) {
    this.d = deps;
    this.eve = deps.eve;
    this.plea = new MarsPlea(deps.namespace, this.mappings, { dir: deps.shmDir });
  }

  /** Parses a task noun; a malformed one is a `BadTask` (the caller exits 1, as vere). */
  static parse(noun: Noun): Task {
    try {
      return parseTask(noun);
    } catch (e) {
      throw new BadTask("mars_bad_task", `mars: bad task: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Handles one task. Resolves "exit" when mars should exit (after `%exit`), else undefined.
   * `arrivedAtMs` is when the task's frame was complete (for the event's timings).
   */
  async handle(task: Task, arrivedAtMs = wallMs()): Promise<"exit" | undefined> {
    if (this.plea.isWaiting && task.type !== "done" && task.type !== "drop") {
      this.held.push(task);
      return undefined;
    }
    const r = await this.handleNow(task, arrivedAtMs);
    if (r === "exit") return r;
    // A %done or %drop ends a plea's wait: the tasks held during it go next, in order.
    while (!this.plea.isWaiting && this.held.length > 0) {
      const next = this.held.shift()!;
      if ((await this.handleNow(next, wallMs())) === "exit") return "exit";
    }
    return undefined;
  }

  private async handleNow(task: Task, arrivedAtMs: number): Promise<"exit" | undefined> {
    switch (task.type) {
      case "poke":
        await this.poke(task.ovum, "pipe", { arrivedAtMs, decodedAtMs: arrivedAtMs, decodeMs: 0 });
        return undefined;
      case "plea": {
        const r = this.plea.ask(task.length);
        // The operator should learn why a large event did not take shared memory (a full
        // /dev/shm is a deployment problem): mars says so, whatever urth does next.
        if (!r.ok) this.d.onLog(`mars refused a plea of ${task.length} bytes (${r.mote}): ${r.message}`);
        await this.send(r.ok ? { type: "plea", ok: true, name: r.name, length: r.length } : { type: "plea", ok: false, goof: goof(r.mote, r.message) });
        return undefined;
      }
      case "done":
        await this.pleaDone(arrivedAtMs);
        return undefined;
      case "drop":
        this.plea.drop();
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
        if (this.d.policy.dueOnSave(this.eve)) await this.snapshot();
        await this.send({ type: "sync", eve: this.eve, mug: this.d.kernel.mug() });
        return undefined;
      }
      case "exit":
        if (this.d.policy.dueOnExit()) await this.snapshot();
        return "exit";
    }
  }

  /** `%done`: decode the segment (zero-copy) and handle the `%poke` it holds. */
  private async pleaDone(arrivedAtMs: number): Promise<void> {
    const t0 = performance.now();
    let task: Task;
    try {
      task = parseTask(this.plea.done());
    } catch (e) {
      // A segment that does not decode, or holds something other than a poke: that event fails,
      // mars goes on (the segment is already gone).
      this.d.onLog(`plea: ${(e as Error).message}`);
      await this.send({ type: "poke", ok: false, goofs: [goof("plea-bad", (e as Error).message)] });
      return;
    }
    const decodeMs = performance.now() - t0;
    if (task.type !== "poke") {
      this.mappings.retainOnly(this.d.kernel.owners());
      await this.send({ type: "poke", ok: false, goofs: [goof("plea-bad", `The segment holds a %${task.type} task, not a %poke`)] });
      return;
    }
    await this.poke(task.ovum, "plea", { arrivedAtMs, decodedAtMs: wallMs(), decodeMs });
  }

  private async poke(ovum: Noun, path: EventPath, t: { arrivedAtMs: number; decodedAtMs: number; decodeMs: number }): Promise<void> {
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
      detail: { arrivedAtMs: t.arrivedAtMs, decodedAtMs: t.decodedAtMs, decodeMs: t.decodeMs, applyMs, persistStartAtMs, persistMs: performance.now() - t0 - applyMs },
    });
    this.d.kernel.commit(r);
    this.eve = appended.eve;
    this.d.policy.noteEvent(appended.jamBytes, appended.storage);
    // Mappings whose views the state no longer holds (a file replaced or deleted) go now.
    this.mappings.retainOnly(this.d.kernel.owners());
    await this.send({ type: "poke", ok: true, effects: listOf(r.effects) });
  }

  private async peek(request: PeekRequest): Promise<void> {
    // Plea's `/plea/...` paths are mars's own (its log); every other path is the kernel's.
    if (request.kind === "path" && isLogPeekPath(request.path)) {
      await this.send(answerLogPeek(this.d.log, request.path));
      return;
    }
    const path = request.kind === "path" ? request.path : new Cell(cord(request.care), new Cell(cord(request.desk), request.path));
    const r = this.d.kernel.peek(path);
    if (!r.ok) {
      await this.send({ type: "peek", ok: false, goof: readGoof(r.goof, "the kernel's goof") });
      return;
    }
    const unit = r.unit;
    if (unit === 0 || !(unit instanceof Cell) || !(unit.tail instanceof Cell)) {
      await this.send({ type: "peek", ok: true, result: null });
      return;
    }
    const cask = unit.tail;
    const mark = cask.head;
    await this.send({ type: "peek", ok: true, result: { mark: isAtom(mark) && !isFileAtom(mark) ? cordToString(mark) : "?", noun: cask.tail } });
  }

  private async snapshot(): Promise<void> {
    const h = await this.d.snapshots.save(this.eve, this.d.kernel.mug(), this.d.kernel.state);
    this.d.policy.noteSnapshot(h.eve, h.jamBytes);
  }

  private async send(g: Gift): Promise<void> {
    const noun = giftToNoun(g);
    if (g.type === "peek" && shmSize(noun) > GIFT_STREAM_BYTES_MIN) await this.d.writer.sendStream(noun);
    else await this.d.writer.send(noun);
  }

  /** EOF or exit: remove a segment still waiting and release every mapping. */
  shutdown(): void {
    this.plea.abandon();
    this.mappings.closeAll();
  }
}

function listOf(effects: Noun): Cell[] {
  const out: Cell[] = [];
  for (let cur = effects; cur instanceof Cell; cur = cur.tail) out.push(cur.head as Cell);
  return out;
}

