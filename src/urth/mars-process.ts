/**
 * urth's handle on its mars child, made of three parts it drives:
 *
 * - the child process (src/urth/mars-child.ts): spawn, pipes, stderr, exit;
 * - the writ FIFO (src/urth/writ-queue.ts): pairs each reply with the writ at the head, and its
 *   state (starting, ready, exiting, dead) decides whether a new writ is taken;
 * - urth's plea machine (src/plea/urth.ts): says when a task is sent, held behind a plea, filled
 *   into a segment, dropped, sent through the pipe instead, or refused. This class performs what
 *   it says, and nothing else decides the plea path.
 *
 * A poke takes the plea path when its raw size reaches the threshold, in a segment of the kind
 * chosen at spawn (src/urth/shm-kind.ts: a memfd where urth can open mars's, else a named one); a
 * pipe poke goes whole or streamed by its size (src/urth/pipe-poke.ts). Atoms that stand for blobs
 * of the pier's store (`refOf`) travel as references on either path and do not count towards the
 * size: a re-commit of 1 GiB is a small pipe event. mars's death rejects every
 * pending writ with `MarsExited` (no hang, no crash), and then the pier's orphaned segments are
 * swept.
 */
import { Errno, openPeerMemfd, openSegment, processStartTime, sweepOrphans, SysError, type Segment, type SegmentInfo } from "../ffi/index.ts";
import { segmentNamespace } from "../pier/segment-namespace.ts";
import { isPleaError } from "../error.ts";
import { FfiErrorCode } from "../ffi/errors.ts";
import { IpcErrorCode } from "../ipc/errors.ts";
import type { Gift } from "../ipc/gift.ts";
import { tankToText } from "../ipc/goof.ts";
import { taskToNoun, type PeekRequest, type Task } from "../ipc/task.ts";
import { measureJam, writeShm, type Cell, type JamMeasure, type Noun } from "../noun/index.ts";
import type { SegmentRef } from "../plea/segment-ref.ts";
import { PLEA_THRESHOLD_BYTES_DEFAULT, routeTask, UrthPlea, type UrthPleaAction, type UrthPleaInput } from "../plea/urth.ts";
import { MarsChild } from "./mars-child.ts";
import { UrthErrorCode } from "./errors.ts";
import { MarsExited } from "./mars-exited.ts";
import { brefPoke, sendPokeByPipe } from "./pipe-poke.ts";
import type { PokeRefs } from "./blob-refs.ts";
import { forcedShmKind, shmKindChoiceFromEnv, SHM_KIND_ENV, ShmProbe, type ShmKindChoice, type ShmKindDecision } from "./shm-kind.ts";
import { WritQueue, type PeekResult, type PokeProgress, type PokeResult, type PokeWrit, type Writ } from "./writ-queue.ts";

export { MARS_MAIN_PATH } from "./mars-child.ts";
export type { PokeProgress, PokeResult } from "./writ-queue.ts";

export interface MarsOptions {
  pier: string;
  pleaThresholdBytes?: number;
  /** Each line mars writes to stderr, and each %slog/%flog. Default: urth's stderr. */
  onLog?: (line: string) => void;
  /** Extra environment for mars (tests use PLEA_SHM_DIR). */
  env?: Record<string, string | undefined>;
  /** Extra arguments for mars. */
  args?: string[];
  /** mars's entry point (default src/mars/main.ts; tests run a scripted peer). */
  main?: string;
  /** The kind of segment to ask for (`--shm-kind`); default $PLEA_SHM_KIND, else `auto` (the probe decides). */
  shmKind?: ShmKindChoice;
  /** mars's timed snapshots every this many seconds (`run --snap-time`); absent or 0: none. */
  snapTimeSeconds?: number;
}

/** A send the plea machine may hold behind a plea. */
type Send = () => void;

/** A memfd fill that failed because mars is gone: the writ waits for mars's exit to reject it. */
class MarsGone extends Error {
  constructor(cause: unknown) {
    super("mars exited while urth opened its segment", { cause });
  }
}

export class MarsProcess {
  readonly pier: string;
  readonly namespace: string;
  readonly pleaThresholdBytes: number;
  readonly pid: number;
  /** mars's start time (field 22 of /proc/<pid>/stat), checked after each memfd open: the pid is still mars. */
  readonly startTime: number | undefined;
  /** The kind of segment urth asks for, how it was chosen and why. */
  readonly shm: ShmKindDecision;
  /** Resolves with mars's exit code once it has exited (never rejects). */
  readonly exited: Promise<number>;
  /** Orphaned segments removed after mars exited. */
  sweptAfterExit: SegmentInfo[] = [];

  private readonly child: MarsChild;
  private readonly writs = new WritQueue();
  private readonly plea = new UrthPlea<PokeWrit, Send>();
  private readonly onLog: (line: string) => void;

  private constructor(options: MarsOptions) {
    this.pier = options.pier;
    this.namespace = segmentNamespace(options.pier);
    this.pleaThresholdBytes = options.pleaThresholdBytes ?? PLEA_THRESHOLD_BYTES_DEFAULT;
    this.onLog = options.onLog ?? ((line) => process.stderr.write(`mars: ${line}\n`));
    const choice = options.shmKind ?? shmKindChoiceFromEnv();
    const source = options.shmKind === undefined ? SHM_KIND_ENV : "--shm-kind";
    const probe = choice === "auto" ? ShmProbe.prepare() : undefined;
    try {
      this.child = new MarsChild({
        pier: options.pier,
        main: options.main,
        args: [...(options.snapTimeSeconds ? ["--snap-time", String(options.snapTimeSeconds)] : []), ...(options.args ?? [])],
        env: options.env,
        fd3: probe?.fd,
        onLog: this.onLog,
        onGift: (g) => this.onGift(g),
        onUnreadable: (message, cause) => this.fatal(message, cause),
      });
    } catch (e) {
      // mars was never spawned: urth's copy of the probe goes now (`decide` closes it otherwise).
      probe?.dispose();
      throw e;
    }
    this.pid = this.child.pid;
    const startTime = processStartTime(this.pid);
    this.startTime = typeof startTime === "number" ? startTime : undefined;
    this.shm = probe ? probe.decide(this.pid, this.startTime) : forcedShmKind(choice as Exclude<ShmKindChoice, "auto">, source);
    this.exited = this.child.exited.then((code) => {
      this.onExit(code);
      return code;
    });
  }

  /** Spawns mars for `pier` and waits for its `%ripe` (after it replayed its log). */
  static async start(options: MarsOptions): Promise<MarsProcess> {
    const m = new MarsProcess(options);
    await m.writs.ripe;
    return m;
  }

  /** Event number of the last event mars committed (from %ripe, then counted). */
  get eve(): number {
    return this.writs.eve;
  }

  /** Mug of mars's state at `eve`, as %ripe and %sync report it. */
  get mug(): number {
    return this.writs.mug;
  }

  /** Writs sent and not yet answered. */
  get pending(): number {
    return this.writs.pending;
  }

  /** Whether mars has exited (or was found dead). */
  get dead(): boolean {
    return this.writs.dead;
  }

  /**
   * Sends `[%poke mil ovum]` and resolves with mars's answer once the event is durable (mars sends
   * its success gift only then). Large tasks take the plea path. The atoms `refs` names are blobs
   * of the pier's store: they go as references (a `%bref` on the pipe, blob-reference entries in a
   * segment), and their bytes do not count towards the plea threshold.
   */
  poke(ovum: Noun, options: { mil?: number; onProgress?: (p: PokeProgress) => void; refs?: PokeRefs } = {}): Promise<PokeResult> {
    const task = taskToNoun({ type: "poke", mil: options.mil ?? 0, ovum: ovum as Cell });
    const refs = options.refs;
    return new Promise<PokeResult>((resolve, reject) => {
      if (this.refused(reject)) return;
      const route = routeTask(task, this.pleaThresholdBytes, refs?.shmRefOf);
      const writ: PokeWrit = { kind: "poke", reply: route.path === "plea" ? "plea" : "poke", path: route.path, task, size: route.size, refs, resolve, reject, onProgress: options.onProgress };
      this.writs.push(writ);
      this.drive(route.path === "plea" ? { type: "plea", item: writ, asked: route.size, kind: this.shm.kind } : { type: "task", item: () => this.sendByPipe(writ, undefined) });
    });
  }

  /** Sends a `%peek` for `path` (a path noun) and resolves with `(unit cask)` or the goof. */
  peek(request: PeekRequest): Promise<PeekResult> {
    return new Promise((resolve, reject) => {
      if (this.refused(reject)) return;
      const noun = taskToNoun({ type: "peek", mil: 0, gang: null, request });
      this.writs.push({ kind: "peek", reply: "peek", resolve, reject });
      this.drive({ type: "task", item: () => this.sendOrDie(noun) });
    });
  }

  /** `%live %pack` / `%live %meld`, or `%quiz`: answered in order like any writ. */
  ask(task: Extract<Task, { type: "live" | "quiz" }>): Promise<Gift> {
    return new Promise((resolve, reject) => {
      if (this.refused(reject)) return;
      const noun = taskToNoun(task);
      this.writs.push({ kind: task.type, reply: task.type, resolve, reject });
      this.drive({ type: "task", item: () => this.sendOrDie(noun) });
    });
  }

  /**
   * Plea's `[%chop keep]`: mars chops beside its task loop (events go on meanwhile) and answers
   * when done, out of the writs' order (writ-queue.ts).
   */
  chop(keep: number): Promise<Extract<Gift, { type: "chop" }>> {
    return new Promise((resolve, reject) => {
      if (this.refused(reject)) return;
      this.writs.pushChop({ resolve, reject });
      this.drive({ type: "task", item: () => this.sendOrDie(taskToNoun({ type: "chop", keep })) });
    });
  }

  /** `%sync %save`: mars snapshots its state once every earlier event is durable. */
  save(): Promise<{ eve: number; mug: number }> {
    return new Promise((resolve, reject) => {
      if (this.refused(reject)) return;
      this.writs.pushSync({ resolve, reject });
      this.drive({ type: "task", item: () => this.sendOrDie(taskToNoun({ type: "sync", kind: "save" })) });
    });
  }

  /**
   * `%exit`: mars finishes every event in flight, snapshots by its policy and exits. Resolves with
   * its exit code; a mars that is already gone resolves at once.
   */
  async exit(): Promise<number> {
    if (this.writs.state.kind === "ready") {
      this.writs.beginExit();
      this.drive({
        type: "task",
        item: () => {
          this.child.writer.send(taskToNoun({ type: "exit" })).catch(() => {});
          void this.child.writer.close();
        },
      });
    }
    return this.exited;
  }

  /** Kills mars (SIGKILL by default) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals | number = "SIGKILL"): Promise<number> {
    this.child.kill(signal);
    return this.exited;
  }

  // -- the plea machine's actions -----------------------------------------------------------

  /** Steps urth's plea machine and performs what it says, in order. */
  private drive(input: UrthPleaInput<PokeWrit, Send>): void {
    for (const a of this.plea.step(input)) this.perform(a);
  }

  /** Performs an action that asks for a result, and steps the machine with its outcome. */
  private driveWith(run: () => UrthPleaInput<PokeWrit, Send>, failed: (error: unknown) => UrthPleaInput<PokeWrit, Send>): void {
    let input: UrthPleaInput<PokeWrit, Send>;
    try {
      input = run();
    } catch (e) {
      input = failed(e);
    }
    this.drive(input);
  }

  private perform(a: UrthPleaAction<PokeWrit, Send>): void {
    switch (a.do) {
      case "send":
        a.item();
        return;
      case "ask":
        a.item.onProgress?.({ phase: "asking", path: "plea", bytes: a.asked });
        this.sendOrDie(taskToNoun({ type: "plea", kind: a.kind, length: a.asked }));
        return;
      case "fill":
        a.item.onProgress?.({ phase: "filling", path: "plea", bytes: a.item.size });
        // A fill fails when a file changed or vanished; the segment is unmapped either way.
        this.driveWith(
          () => ({ type: "filled", bytes: fillSegment(this.openGranted(a.segment, a.length), a.item) }),
          (error) => ({ type: "fill-failed", error }),
        );
        return;
      case "done":
        a.item.reply = "poke";
        this.sendOrDie(taskToNoun({ type: "done" }));
        a.item.onProgress?.({ phase: "sent", path: "plea", bytes: a.bytes });
        return;
      case "drop":
        this.sendOrDie(taskToNoun({ type: "drop" }));
        return;
      case "measure":
        this.onLog(`plea refused by mars (${a.mote}); sending the event through the pipe`);
        // Counted without storing the jam (file-backed atoms are read only at their last byte);
        // the plan it records lets the pipe send jam without measuring again.
        this.driveWith(
          () => ({ type: "measured", jam: measureJam(a.item.task, a.item.refs ? { refOf: a.item.refs.refOf, table: [] } : undefined) }),
          (error) => ({ type: "measure-failed", error }),
        );
        return;
      case "pipe":
        a.item.reply = "poke";
        a.item.path = "pipe";
        this.sendByPipe(a.item, a.jam);
        return;
      case "reject":
        if (a.error instanceof MarsGone) {
          // The fill failed because mars died: its exit rejects this writ, and every other, with
          // MarsExited, exactly as when a named segment's fill outlives mars and %done fails.
          this.child.kill();
          return;
        }
        this.failWrit(a.item, a.error);
        return;
      case "release":
        for (const h of a.held) this.drive(h.type === "task" ? { type: "task", item: h.item } : { type: "plea", item: h.item, asked: h.asked, kind: h.kind });
        return;
      case "protocol":
        this.fatal(a.message);
        return;
    }
  }

  /**
   * Maps the segment mars granted for writing: a named one by its name; a memfd through
   * /proc/<mars pid>/fd/<fd>, after checking that the pid is still mars and the memfd is sealed
   * against shrinking (docs/shm-segments.md).
   */
  private openGranted(segment: SegmentRef, length: number): Segment {
    if (segment.kind === "named") return openSegment(segment.name, { mode: "write", length });
    try {
      return openPeerMemfd(this.pid, segment.fd, { mode: "write", length, startTime: this.startTime });
    } catch (e) {
      // mars's descriptors go with mars, a moment before its pid becomes a zombie: a descriptor
      // that is not there (ENOENT) means mars is dying, or granted one it does not hold. Either
      // way mars is stopped, and its exit rejects the writ; it is not a failed fill.
      const missing = (e instanceof SysError && e.code === "ENOENT") || (isPleaError(e, FfiErrorCode.segment.peerGone));
      if (missing || !this.marsAlive()) {
        this.onLog(`urth cannot open memfd ${segment.fd} of mars (${(e as Error).message}); stopping mars`);
        throw new MarsGone(e);
      }
      throw e;
    }
  }

  /** Whether mars is still the process urth spawned (not gone, not a zombie, its pid not reused). */
  private marsAlive(): boolean {
    return this.startTime !== undefined && processStartTime(this.pid) === this.startTime;
  }

  // -- sending ------------------------------------------------------------------------------

  /** Sends a task; a failed send means mars is gone, which `exited` reports to every writ. */
  private sendOrDie(noun: Noun): void {
    this.child.writer.send(noun).catch(() => this.child.kill());
  }

  /**
   * Sends a poke through the pipe, its jam measured already when `jam` is given; a poke that
   * refers to blobs as a `%bref` (whose jam-with-refs is built whole, so `jam` is not used).
   */
  private sendByPipe(w: PokeWrit, jam: JamMeasure | undefined): void {
    const send = async () => {
      if (w.refs === undefined) return sendPokeByPipe(this.child.writer, w.task, w.size, jam, w.onProgress);
      const b = brefPoke(w.task, w.refs.refOf);
      return sendPokeByPipe(this.child.writer, b.noun, b.jamBytes, undefined, w.onProgress);
    };
    send().catch((e) => {
      // A closed pipe means mars is gone or going: its exit rejects every writ with MarsExited.
      if (isPleaError(e, IpcErrorCode.pipe)) this.child.kill();
      else this.failWrit(w, e);
    });
  }

  /**
   * One poke fails alone: a pipe send that failed before any byte of its frame went out (the task
   * cannot be framed, a file changed), or a plea the machine rejected. Once bytes went out
   * mid-frame the writer breaks the pipe, and mars's death rejects everything.
   */
  private failWrit(w: Writ, e: unknown): void {
    if (!this.writs.remove(w)) return;
    w.reject(e);
    if (this.child.writer.closed) this.child.kill();
  }

  private refused(reject: (e: unknown) => void): boolean {
    const e = this.writs.refusal();
    if (e) reject(e);
    return e !== undefined;
  }

  // -- what mars sends, and its end ---------------------------------------------------------

  private onGift(g: Gift): void {
    if (g.type === "slog") return this.onLog(tankToText(g.tank));
    if (g.type === "flog") return this.onLog(g.text);
    const answer = this.writs.answer(g);
    if (answer.kind === "protocol") return this.fatal(answer.message);
    if (answer.kind === "plea") {
      const p = answer.gift;
      if (!p.ok) return this.drive({ type: "refused", mote: p.goof.mote });
      const segment: SegmentRef = p.kind === "memfd" ? { kind: "memfd", fd: p.fd } : { kind: "named", name: p.name };
      this.drive({ type: "granted", segment, length: p.length });
    }
  }

  /** A protocol violation: kill mars; its exit rejects everything pending with this error. */
  private fatal(message: string, cause?: unknown): void {
    this.writs.fault(new MarsExited(UrthErrorCode.mars.protocol, message, { exitCode: null, signal: null, stderrTail: this.child.stderrTail, cause }));
    this.child.kill();
  }

  private onExit(code: number): void {
    const signal = this.child.signal;
    const tail = this.child.stderrTail;
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const expected = this.writs.state.kind === "exiting" && code === 0 && this.writs.pending === 0;
    this.plea.step({ type: "exited" });
    this.writs.die(
      new MarsExited(UrthErrorCode.mars.exited, expected ? "mars exited" : `mars ${how}`, { exitCode: code, signal, stderrTail: tail }),
      new MarsExited(UrthErrorCode.mars.start, `mars ${how} before it was ready`, { exitCode: code, signal, stderrTail: tail }),
    );
    this.sweepAfterExit();
  }

  /** A mars killed between its %plea reply and %done leaves its segment's name behind. */
  private sweepAfterExit(): void {
    try {
      this.sweptAfterExit = sweepOrphans(this.namespace);
    } catch (e) {
      this.onLog(`could not sweep orphaned segments: ${(e as Error).message}`);
    }
  }
}

/**
 * Writes the plea poke's task into the segment mars granted, mapped for writing (file-backed atoms
 * are read straight into it) and unmaps it, whatever happens. Returns the bytes written.
 */
/**
 * Faults the whole mapping in with one madvise(MADV_POPULATE_WRITE) before the fill, instead of
 * one page fault per 4 KiB page as the fill first touches it: the fill of 100,000 small files
 * (130 MB) writes about 0.2 s faster, in a bench of the same writes into a fresh memfd, 0.42-0.44 s
 * against 0.22-0.23 s (issue 15). The segment's pages are already reserved (fallocate), so this
 * allocates nothing the fill would not. A kernel without it (EINVAL, before Linux 5.14) faults page
 * by page as before.
 */
function prefault(segment: Segment): void {
  try {
    segment.advise("populateWrite");
  } catch (e) {
    if (!(e instanceof SysError && e.errno === Errno.EINVAL)) throw e;
  }
}

function fillSegment(segment: Segment, w: PokeWrit): number {
  let done = 0;
  try {
    prefault(segment);
    return writeShm(w.task, segment, {
      refOf: w.refs?.shmRefOf,
      onProgress: (n: number) => {
        done += n;
        w.onProgress?.({ phase: "filling", path: "plea", bytes: w.size, done });
      },
    });
  } finally {
    segment.close();
  }
}
