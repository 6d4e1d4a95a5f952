/**
 * urth's handle on its mars child: spawns it, keeps the FIFO of writs, pairs each reply with the
 * writ at the head (vere lord.c), routes large pokes through the plea protocol (src/plea/urth.ts),
 * and turns mars's death into a `MarsExited` rejection of every pending writ: no hang, no crash.
 *
 * Pipes (bun-platform.md): stdin gets newt frames through a FrameWriter (chunked, every flush
 * awaited, every rejection caught); stdout is read by a FrameReader; stderr is always drained
 * (an unread pipe fills at 64 KiB and deadlocks the child) and its lines forwarded.
 */
import { namespaceForPier, sweepOrphans, type SegmentInfo } from "../ffi/index.ts";
import { cueFrame, FrameReader } from "../ipc/frame-reader.ts";
import { FrameWriter } from "../ipc/frame-writer.ts";
import { PipeClosed } from "../ipc/pipe-closed.ts";
import { parseGift, type Cask, type Gift } from "../ipc/gift.ts";
import { tankToText, type Goof } from "../ipc/goof.ts";
import { taskToNoun, type PeekRequest, type Task } from "../ipc/task.ts";
import { jamLength, type Cell, type Noun } from "../noun/index.ts";
import { checkGrant, fillSegment, PLEA_THRESHOLD_BYTES_DEFAULT, refusal, routeTask } from "../plea/urth.ts";
import { MarsExited, MarsExitedCode } from "./mars-exited.ts";

/** Where mars's entry point is, next to this file's folder. */
export const MARS_MAIN_PATH = new URL("../mars/main.ts", import.meta.url).pathname;

/** Lines of mars's stderr kept for the MarsExited message. */
const STDERR_TAIL_LINES = 20;

/** Tasks whose raw size is above this are jammed in chunks into the pipe rather than whole. */
const PIPE_STREAM_BYTES_MIN = 16 * 1024 * 1024;

export type PokeResult =
  | { ok: true; effects: readonly Cell[]; path: "pipe" | "plea"; eve: number }
  | { ok: false; goofs: readonly Goof[]; path: "pipe" | "plea" };

export interface PokeProgress {
  /** The event is on its way: "asking" (plea), "filling" (plea), "sending" (pipe), "sent". */
  phase: "asking" | "filling" | "sending" | "sent";
  path: "pipe" | "plea";
  /** The event's size: its raw size (plea) or its jam's length (pipe), when known. */
  bytes?: number;
  /** While filling or sending: file bytes read into the segment, or jam bytes written. */
  done?: number;
}

export interface MarsOptions {
  pier: string;
  pleaThresholdBytes?: number;
  /** Each line mars writes to stderr, and each %slog/%flog. Default: urth's stderr. */
  onLog?: (line: string) => void;
  /** Extra environment for mars (tests use PLEA_SHM_DIR). */
  env?: Record<string, string | undefined>;
  /** Extra arguments for mars. */
  args?: string[];
}

interface Ripe {
  eve: number;
  mug: number;
  who: number | bigint | unknown;
  fake: boolean;
}

type Writ =
  | { kind: "poke"; path: "pipe" | "plea"; resolve: (r: PokeResult) => void; reject: (e: unknown) => void; task: Noun; onProgress?: (p: PokeProgress) => void }
  | { kind: "plea"; capacity: number; resolve: (r: PokeResult) => void; reject: (e: unknown) => void; task: Noun; onProgress?: (p: PokeProgress) => void }
  | { kind: "peek"; resolve: (r: { ok: true; result: Cask | null } | { ok: false; goof: Goof }) => void; reject: (e: unknown) => void }
  | { kind: "live" | "quiz"; resolve: (g: Gift) => void; reject: (e: unknown) => void };

export class MarsProcess {
  readonly pier: string;
  readonly namespace: string;
  readonly pleaThresholdBytes: number;
  /** Event number of the last event mars committed (from %ripe, then counted). */
  eve = 0;
  /** Mug of mars's state at `eve`, as %ripe and %sync report it. */
  mug = 0;
  readonly pid: number;
  /** Resolves with mars's exit code once it has exited (never rejects). */
  readonly exited: Promise<number>;
  /** Orphaned segments removed after mars exited. */
  sweptAfterExit: SegmentInfo[] = [];

  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly writer: FrameWriter;
  private readonly writs: Writ[] = [];
  private readonly onLog: (line: string) => void;
  private readonly stderrTail: string[] = [];
  private readonly syncWaiters: Array<{ resolve: (g: { eve: number; mug: number }) => void; reject: (e: unknown) => void }> = [];
  private death: MarsExited | undefined;
  private ripeResolve!: (r: Ripe) => void;
  private ripeReject!: (e: unknown) => void;
  private readonly ripe: Promise<Ripe>;
  private exiting = false;
  /**
   * Sends of the writs behind a plea writ, held until that writ is settled or has become a poke
   * (its `%done` or its pipe frame queued); undefined when nothing is held. mars holds tasks
   * while it waits for `%done`, but when it refuses the segment it is not waiting: without this,
   * the writs sent after the plea would reach mars before the event sent through the pipe in
   * its place, and mars's replies would no longer pair with urth's FIFO.
   */
  private held: Array<() => void> | undefined;

  private constructor(options: MarsOptions) {
    this.pier = options.pier;
    this.namespace = namespaceForPier(options.pier);
    this.pleaThresholdBytes = options.pleaThresholdBytes ?? PLEA_THRESHOLD_BYTES_DEFAULT;
    this.onLog = options.onLog ?? ((line) => process.stderr.write(`mars: ${line}\n`));
    this.ripe = new Promise<Ripe>((res, rej) => {
      this.ripeResolve = res;
      this.ripeReject = rej;
    });
    this.ripe.catch(() => {});
    this.proc = Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", options.pier, ...(options.args ?? [])], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...options.env },
    });
    this.pid = this.proc.pid;
    this.writer = new FrameWriter(this.proc.stdin as unknown as import("../ipc/frame-writer.ts").ByteSink, { name: "mars's stdin" });
    // Drained before the exit is reported: mars's last line (why it refused to start) is in the tail.
    const draining = this.drainStderr(this.proc.stderr as ReadableStream<Uint8Array>);
    const reading = this.readGifts(new FrameReader(this.proc.stdout as ReadableStream<Uint8Array>, { name: "mars's stdout" }));
    this.exited = Promise.all([this.proc.exited, reading.catch(() => {}), draining]).then(([code]) => {
      this.onExit(code);
      return code;
    });
  }

  /** Spawns mars for `pier` and waits for its `%ripe` (after it replayed its log). */
  static async start(options: MarsOptions): Promise<MarsProcess> {
    const m = new MarsProcess(options);
    const ripe = await m.ripe;
    m.eve = ripe.eve;
    m.mug = ripe.mug;
    return m;
  }

  /** Writs sent and not yet answered. */
  get pending(): number {
    return this.writs.length;
  }

  /** Whether mars has exited (or was found dead). */
  get dead(): boolean {
    return this.death !== undefined;
  }

  /**
   * Sends `[%poke mil ovum]` and resolves with mars's answer once the event is durable (mars sends
   * its success gift only then). Large tasks take the plea path.
   */
  poke(ovum: Noun, options: { mil?: number; onProgress?: (p: PokeProgress) => void } = {}): Promise<PokeResult> {
    const task = taskToNoun({ type: "poke", mil: options.mil ?? 0, ovum: ovum as Cell });
    return new Promise<PokeResult>((resolve, reject) => {
      if (this.refuseIfDead(reject)) return;
      const route = routeTask(task, this.pleaThresholdBytes);
      if (route.path === "plea") {
        const plea = taskToNoun({ type: "plea", length: route.size });
        this.writs.push({ kind: "plea", capacity: route.size, resolve, reject, task, onProgress: options.onProgress });
        this.dispatch(() => {
          this.held = [];
          options.onProgress?.({ phase: "asking", path: "plea", bytes: route.size });
          this.sendOrDie(plea);
        });
      } else {
        this.writs.push({ kind: "poke", path: "pipe", resolve, reject, task, onProgress: options.onProgress });
        this.dispatch(() => this.sendTaskByPipe(task, route.size, options.onProgress));
      }
    });
  }

  /** Sends a `%peek` for `path` (a path noun) and resolves with `(unit cask)` or the goof. */
  peek(request: PeekRequest): Promise<{ ok: true; result: Cask | null } | { ok: false; goof: Goof }> {
    return new Promise((resolve, reject) => {
      if (this.refuseIfDead(reject)) return;
      const noun = taskToNoun({ type: "peek", mil: 0, gang: null, request });
      this.writs.push({ kind: "peek", resolve, reject });
      this.dispatch(() => this.sendOrDie(noun));
    });
  }

  /** `%live %pack` / `%live %meld`, or `%quiz`: answered in order like any writ. */
  ask(task: Extract<Task, { type: "live" | "quiz" }>): Promise<Gift> {
    return new Promise((resolve, reject) => {
      if (this.refuseIfDead(reject)) return;
      const noun = taskToNoun(task);
      this.writs.push({ kind: task.type, resolve, reject });
      this.dispatch(() => this.sendOrDie(noun));
    });
  }

  /** `%sync %save`: mars snapshots its state once every earlier event is durable. */
  save(): Promise<{ eve: number; mug: number }> {
    return new Promise((resolve, reject) => {
      if (this.refuseIfDead(reject)) return;
      this.syncWaiters.push({ resolve, reject });
      this.dispatch(() => this.sendOrDie(taskToNoun({ type: "sync", kind: "save" })));
    });
  }

  /**
   * `%exit`: mars finishes every event in flight, snapshots by its policy and exits. Resolves with
   * its exit code; a mars that is already gone resolves at once.
   */
  async exit(): Promise<number> {
    if (!this.death && !this.exiting) {
      this.exiting = true;
      this.dispatch(() => {
        this.writer.send(taskToNoun({ type: "exit" })).catch(() => {});
        void this.writer.close();
      });
    }
    return this.exited;
  }

  /** Kills mars (SIGKILL by default) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals | number = "SIGKILL"): Promise<number> {
    try {
      this.proc.kill(signal);
    } catch {
      // already gone
    }
    return this.exited;
  }

  // -- internals ----------------------------------------------------------------------------

  private refuseIfDead(reject: (e: unknown) => void): boolean {
    if (this.death) {
      reject(this.death);
      return true;
    }
    if (this.exiting) {
      reject(new MarsExited(MarsExitedCode.exited, "mars is exiting; no more tasks are taken.", { exitCode: null, signal: null, stderrTail: [] }));
      return true;
    }
    return false;
  }

  /** Sends now, or after the plea writ ahead of it has become a poke (see `held`). */
  private dispatch(send: () => void): void {
    if (this.held) this.held.push(send);
    else send();
  }

  /** The plea writ ahead is settled or has become a poke: send what waited behind it, in order. */
  private release(): void {
    const held = this.held;
    this.held = undefined;
    while (held && held.length > 0) {
      held.shift()!();
      // A plea among them holds the rest behind itself (the send above may have set `held`).
      const again = this.held as Array<() => void> | undefined;
      if (again) {
        again.push(...held);
        return;
      }
    }
  }

  /** Sends a task; a failed send means mars is gone, which `exited` reports to every writ. */
  private sendOrDie(noun: Noun): void {
    this.writer.send(noun).catch(() => this.killQuietly());
  }

  /** Sends a poke through the pipe; `size` is its raw size, from the routing (no second walk). */
  private sendTaskByPipe(task: Noun, size: number, onProgress?: (p: PokeProgress) => void): void {
    onProgress?.({ phase: "sending", path: "pipe" });
    const big = size >= PIPE_STREAM_BYTES_MIN;
    const sent = big ? this.writer.sendStream(task, undefined, (done, bytes) => onProgress?.({ phase: "sending", path: "pipe", bytes, done })) : this.writer.send(task);
    sent.then(
      () => onProgress?.({ phase: "sent", path: "pipe" }),
      (e) => {
        // A closed pipe means mars is gone or going: its exit rejects every writ with MarsExited.
        if (e instanceof PipeClosed) this.killQuietly();
        else this.failHeadPoke(task, e);
      },
    );
  }

  /**
   * A pipe send that failed before any byte of the frame went out (the task cannot be framed, a
   * file changed): that writ alone fails. Once bytes went out mid-frame the writer breaks the pipe,
   * and mars's death rejects everything.
   */
  private failHeadPoke(task: Noun, e: unknown): void {
    const i = this.writs.findIndex((w) => (w.kind === "poke" || w.kind === "plea") && w.task === task);
    if (i < 0) return;
    const [w] = this.writs.splice(i, 1);
    w.reject(e);
    if (this.writer.closed) this.killQuietly();
  }

  private async readGifts(reader: FrameReader): Promise<void> {
    try {
      for await (const frame of reader) {
        const noun = await cueFrame(frame);
        const gift = parseGift(noun);
        this.onGift(gift);
      }
    } catch (e) {
      this.fatal(MarsExitedCode.protocol, `mars sent something urth cannot read: ${(e as Error).message}`, e);
    }
  }

  private onGift(g: Gift): void {
    switch (g.type) {
      case "ripe":
        this.ripeResolve({ eve: g.eve, mug: g.mug, who: g.who, fake: g.fake });
        return;
      case "slog":
        this.onLog(tankToText(g.tank));
        return;
      case "flog":
        this.onLog(g.text);
        return;
      case "sync": {
        this.eve = g.eve;
        this.mug = g.mug;
        this.syncWaiters.shift()?.resolve({ eve: g.eve, mug: g.mug });
        return;
      }
    }
    const w = this.writs[0];
    if (!w) {
      this.fatal(MarsExitedCode.protocol, `mars sent a %${g.type} reply with no task waiting for one.`);
      return;
    }
    if (w.kind === "plea") {
      if (g.type !== "plea") return this.mismatch(w.kind, g.type);
      this.onPleaReply(w, g);
      return;
    }
    if (g.type !== w.kind && !(w.kind === "poke" && g.type === "poke")) return this.mismatch(w.kind, g.type);
    this.writs.shift();
    switch (w.kind) {
      case "poke": {
        const r = g as Extract<Gift, { type: "poke" }>;
        if (r.ok) {
          this.eve += 1;
          w.resolve({ ok: true, effects: r.effects, path: w.path, eve: this.eve });
        } else {
          w.resolve({ ok: false, goofs: r.goofs, path: w.path });
        }
        return;
      }
      case "peek": {
        const r = g as Extract<Gift, { type: "peek" }>;
        w.resolve(r.ok ? { ok: true, result: r.result } : { ok: false, goof: r.goof });
        return;
      }
      default:
        w.resolve(g);
    }
  }

  /** The plea state machine's reply edge: fill and `%done`, fall back to the pipe, or fail. */
  private onPleaReply(w: Extract<Writ, { kind: "plea" }>, g: Extract<Gift, { type: "plea" }>): void {
    if (!g.ok) {
      // mars could not make the segment: the pipe, if a frame can carry the event.
      const reason = g.goof.mote;
      this.writs[0] = { kind: "poke", path: "pipe", resolve: w.resolve, reject: w.reject, task: w.task, onProgress: w.onProgress };
      this.onLog(`plea refused by mars (${reason}); sending the event through the pipe`);
      const task = w.task;
      let refused: unknown;
      try {
        // Counted without storing the jam; file-backed atoms are read only at their last byte.
        refused = refusal(reason, jamLength(task));
      } catch (e) {
        refused = e; // a file that changed or vanished
      }
      if (refused) this.failHeadPoke(task, refused);
      else this.sendTaskByPipe(task, w.capacity, w.onProgress);
      this.release();
      return;
    }
    try {
      checkGrant(g.name, g.length, w.capacity);
    } catch (e) {
      this.fatal(MarsExitedCode.protocol, (e as Error).message, e);
      return;
    }
    w.onProgress?.({ phase: "filling", path: "plea", bytes: w.capacity });
    let written: number;
    try {
      let done = 0;
      written = fillSegment(g.name, g.length, w.task, {
        onProgress: (n) => {
          done += n;
          w.onProgress?.({ phase: "filling", path: "plea", bytes: w.capacity, done });
        },
      });
    } catch (e) {
      // The fill failed (a file changed or vanished): tell mars to forget the segment.
      this.writs.shift();
      this.sendOrDie(taskToNoun({ type: "drop" }));
      this.release();
      w.reject(e);
      return;
    }
    this.writs[0] = { kind: "poke", path: "plea", resolve: w.resolve, reject: w.reject, task: w.task, onProgress: w.onProgress };
    this.sendOrDie(taskToNoun({ type: "done" }));
    this.release();
    w.onProgress?.({ phase: "sent", path: "plea", bytes: written });
  }

  private mismatch(expected: string, got: string): void {
    this.fatal(MarsExitedCode.protocol, `mars answered a %${expected} task with a %${got} reply; urth and mars disagree about the protocol.`);
  }

  /** A protocol violation: kill mars; `onExit` rejects everything pending. */
  private fatal(code: string, message: string, cause?: unknown): void {
    if (!this.death) {
      this.death = new MarsExited(code, message, { exitCode: null, signal: null, stderrTail: [...this.stderrTail], cause });
    }
    this.killQuietly();
  }

  private killQuietly(): void {
    try {
      this.proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  private onExit(code: number): void {
    const signal = this.proc.signalCode == null ? null : String(this.proc.signalCode);
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const expected = this.exiting && code === 0 && this.writs.length === 0;
    const death =
      this.death ??
      new MarsExited(MarsExitedCode.exited, expected ? "mars exited." : `mars ${how}.`, { exitCode: code, signal, stderrTail: [...this.stderrTail] });
    this.death = death;
    this.held = undefined;
    this.ripeReject(new MarsExited(MarsExitedCode.start, `mars ${how} before it was ready.`, { exitCode: code, signal, stderrTail: [...this.stderrTail] }));
    for (const w of this.writs.splice(0)) w.reject(death);
    for (const s of this.syncWaiters.splice(0)) s.reject(death);
    // A mars killed between its %plea reply and %done leaves its segment's name behind.
    try {
      this.sweptAfterExit = sweepOrphans(this.namespace);
    } catch (e) {
      this.onLog(`could not sweep orphaned segments: ${(e as Error).message}`);
    }
  }

  private async drainStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of stream) {
        partial += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          this.line(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      }
    } catch {
      // the child is gone; what it said is in the tail
    }
    if (partial) this.line(partial);
  }

  private line(text: string): void {
    this.stderrTail.push(text);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.onLog(text);
  }
}


