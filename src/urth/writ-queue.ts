/**
 * urth's FIFO of writs to mars: every task that expects an answer, in the order sent, each paired
 * with the reply at the head (vere lord.c). mars answers strictly in order, so a reply of another
 * type than the head writ expects is a protocol error. No I/O: MarsProcess sends the tasks and
 * feeds the replies in.
 *
 *   starting --%ripe--> ready --exit()--> exiting --mars gone--> dead
 *                             --a protocol error--> exiting (faulted: replies ignored, mars killed)
 *
 * - starting: mars was spawned and replays its log; it has not sent `%ripe`. No writ yet.
 * - ready: writs are taken and answered in order.
 * - exiting: no new writ. Either `%exit` went out (the pending writs are still answered) or
 *   urth is killing mars for a protocol error (`fault`: its replies are no longer believed).
 * - dead: mars is gone; every pending writ was rejected with `death`, and every new one is.
 */
import { assert } from "../error.ts";
import type { Cask, Gift } from "../ipc/gift.ts";
import type { Goof } from "../ipc/goof.ts";
import type { Cell, Noun } from "../noun/index.ts";
import type { PokeRefs } from "./blob-refs.ts";
import { UrthErrorCode } from "./errors.ts";
import { MarsExited } from "./mars-exited.ts";

export type PokeResult =
  | { ok: true; effects: readonly Cell[]; path: "pipe" | "plea"; eve: number }
  | { ok: false; goofs: readonly Goof[]; path: "pipe" | "plea" };

export interface PokeProgress {
  /** The event is on its way: "asking" (plea), "filling" (plea), "sending" (pipe), "sent". */
  phase: "asking" | "filling" | "sending" | "sent";
  path: "pipe" | "plea";
  /**
   * The event's size: its raw size (plea) or its jam's length (pipe), when known. At "sent": the
   * bytes that went to mars (written into the segment, or about the frame's length on the pipe).
   */
  bytes?: number;
  /** While filling or sending: file bytes read into the segment, or jam bytes written. */
  done?: number;
}

export type PeekResult = { ok: true; result: Cask | null } | { ok: false; goof: Goof };

/**
 * A `%poke`. `reply` is the gift it waits for: a plea poke first waits for mars's `%plea` reply,
 * then (once its `%done` or its pipe frame is sent) for the `%poke` reply like any poke.
 */
export interface PokeWrit {
  readonly kind: "poke";
  reply: "plea" | "poke";
  path: "pipe" | "plea";
  readonly task: Noun;
  /** The task's raw size (`shmSize`, without the bytes of blobs it refers to), measured once when it was routed. */
  readonly size: number;
  /** The blobs of the pier's store that atoms of the task stand for: sent as references, never as bytes. */
  readonly refs?: PokeRefs;
  readonly resolve: (r: PokeResult) => void;
  readonly reject: (e: unknown) => void;
  readonly onProgress?: (p: PokeProgress) => void;
}

export type Writ =
  | PokeWrit
  | { readonly kind: "peek"; readonly reply: "peek"; readonly resolve: (r: PeekResult) => void; readonly reject: (e: unknown) => void }
  | { readonly kind: "live" | "quiz"; readonly reply: "live" | "quiz"; readonly resolve: (g: Gift) => void; readonly reject: (e: unknown) => void };

export interface Ripe {
  eve: number;
  mug: number;
  who: number | bigint | unknown;
  fake: boolean;
}

export type WritQueueState =
  | { readonly kind: "starting" }
  | { readonly kind: "ready" }
  | { readonly kind: "exiting"; readonly fault?: MarsExited }
  | { readonly kind: "dead"; readonly death: MarsExited };

/** What a gift asks of MarsProcess once the queue has taken it. */
export type Answer =
  | { readonly kind: "settled" }
  /** A `%plea` reply for the plea poke at the head: the plea machine decides. */
  | { readonly kind: "plea"; readonly writ: PokeWrit; readonly gift: Extract<Gift, { type: "plea" }> }
  /** mars broke the protocol: kill it. */
  | { readonly kind: "protocol"; readonly message: string };

type SyncWaiter = { resolve: (g: { eve: number; mug: number }) => void; reject: (e: unknown) => void };
type ChopWaiter = { resolve: (g: Extract<Gift, { type: "chop" }>) => void; reject: (e: unknown) => void };

export class WritQueue {
  /** Event number of the last event mars committed (from %ripe, then counted, then %sync). */
  eve = 0;
  /** Mug of mars's state at `eve`, as %ripe and %sync report it. */
  mug = 0;
  /** Resolves with mars's `%ripe`; rejects if mars dies first. */
  readonly ripe: Promise<Ripe>;

  private current: WritQueueState = { kind: "starting" };
  private readonly writs: Writ[] = [];
  /** `%sync %save` is answered by a `%sync` gift, which is also unsolicited: its own FIFO. */
  private readonly syncs: SyncWaiter[] = [];
  /**
   * Plea's `%chop` runs beside mars's task loop (docs/ipc.md, "Who waits for what"): its gift comes
   * when the chop ends, after the gifts of tasks sent later, so it is paired here, not with the
   * head writ. mars runs one chop at a time, in the order asked: a FIFO.
   */
  private readonly chops: ChopWaiter[] = [];
  private ripeResolve!: (r: Ripe) => void;
  private ripeReject!: (e: unknown) => void;

  constructor() {
    this.ripe = new Promise<Ripe>((res, rej) => {
      this.ripeResolve = res;
      this.ripeReject = rej;
    });
    this.ripe.catch(() => {});
  }

  get state(): WritQueueState {
    return this.current;
  }

  /** Writs sent and not yet answered. */
  get pending(): number {
    return this.writs.length;
  }

  /** mars is gone, or being killed for a protocol error. */
  get dead(): boolean {
    return this.current.kind === "dead" || (this.current.kind === "exiting" && this.current.fault !== undefined);
  }

  /** The error a new writ is refused with now, or undefined when writs are taken. */
  refusal(): MarsExited | undefined {
    const s = this.current;
    if (s.kind === "dead") return s.death;
    if (s.kind === "exiting") return s.fault ?? new MarsExited(UrthErrorCode.mars.exited, "mars is exiting; no more tasks are taken", { exitCode: null, signal: null, stderrTail: [] });
    return undefined;
  }

  push(w: Writ): void {
    assert(this.current.kind === "ready", `a writ pushed while mars is ${this.current.kind}`);
    this.writs.push(w);
  }

  pushSync(waiter: SyncWaiter): void {
    assert(this.current.kind === "ready", `a %sync pushed while mars is ${this.current.kind}`);
    this.syncs.push(waiter);
  }

  pushChop(waiter: ChopWaiter): void {
    assert(this.current.kind === "ready", `a %chop pushed while mars is ${this.current.kind}`);
    this.chops.push(waiter);
  }

  /** Takes a writ out wherever it is (a send that failed before any byte of it went out). */
  remove(w: Writ): boolean {
    const i = this.writs.indexOf(w);
    if (i < 0) return false;
    this.writs.splice(i, 1);
    return true;
  }

  /** `%exit` is on its way: no new writ; the pending ones are still answered. */
  beginExit(): void {
    if (this.current.kind === "ready") this.current = { kind: "exiting" };
  }

  /** urth is killing mars for a protocol error: its replies are ignored from now. */
  fault(error: MarsExited): void {
    if (this.current.kind === "dead" || (this.current.kind === "exiting" && this.current.fault)) return;
    this.current = { kind: "exiting", fault: error };
  }

  /** mars is gone: every writ rejects with the fault that killed it, or with `death`. */
  die(death: MarsExited, notReady: MarsExited): void {
    const s = this.current;
    if (s.kind === "dead") return;
    const error = s.kind === "exiting" && s.fault ? s.fault : death;
    this.current = { kind: "dead", death: error };
    this.ripeReject(notReady);
    for (const w of this.writs.splice(0)) w.reject(error);
    for (const s of this.syncs.splice(0)) s.reject(error);
    for (const c of this.chops.splice(0)) c.reject(error);
  }

  /** Takes one gift (not a log line): settles the writ it answers, or says what else to do. */
  answer(g: Gift): Answer {
    const s = this.current;
    if (s.kind === "dead" || (s.kind === "exiting" && s.fault)) return { kind: "settled" };
    if (g.type === "ripe") {
      if (s.kind !== "starting") return { kind: "protocol", message: "mars sent %ripe a second time; urth and mars disagree about the protocol" };
      this.current = { kind: "ready" };
      this.eve = g.eve;
      this.mug = g.mug;
      this.ripeResolve({ eve: g.eve, mug: g.mug, who: g.who, fake: g.fake });
      return { kind: "settled" };
    }
    if (s.kind === "starting") return { kind: "protocol", message: `mars sent a %${g.type} gift before %ripe; urth and mars disagree about the protocol` };
    if (g.type === "chop") {
      const waiter = this.chops.shift();
      if (waiter === undefined) return { kind: "protocol", message: "mars sent a %chop reply with no %chop waiting for one" };
      waiter.resolve(g);
      return { kind: "settled" };
    }
    if (g.type === "sync") {
      this.eve = g.eve;
      this.mug = g.mug;
      this.syncs.shift()?.resolve({ eve: g.eve, mug: g.mug });
      return { kind: "settled" };
    }
    const w = this.writs[0];
    if (!w) return { kind: "protocol", message: `mars sent a %${g.type} reply with no task waiting for one` };
    if (g.type !== w.reply) return { kind: "protocol", message: `mars answered a %${w.reply} task with a %${g.type} reply; urth and mars disagree about the protocol` };
    if (g.type === "plea") return { kind: "plea", writ: w as PokeWrit, gift: g };
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
        break;
      }
      case "peek": {
        const r = g as Extract<Gift, { type: "peek" }>;
        w.resolve(r.ok ? { ok: true, result: r.result } : { ok: false, goof: r.goof });
        break;
      }
      default:
        w.resolve(g);
    }
    return { kind: "settled" };
  }
}
