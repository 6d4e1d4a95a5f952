/**
 * urth's side of the plea protocol as one state machine (docs/plea.md, "urth's side"). It does no
 * I/O: its driver (src/urth/mars-process.ts) steps it with an input (a task to send, mars's reply
 * to `%plea`, the result of an action it asked for, mars's exit) and performs the actions it
 * returns, in order.
 *
 *   idle --plea--> asking --grant--> filling --filled--> idle   (send %done: the writ is a poke)
 *                         |                  --fill-failed--> idle   (send %drop, reject the writ)
 *                         --refusal--> measuring --jam-fits--> idle   (send it through the pipe)
 *                                                --jam-too-big / jam-failed--> idle   (reject)
 *   a reply out of its state, or a grant that breaks the contract (smaller than asked, not a
 *   plea- name, or another kind of segment than asked) --> dead   (kill mars)
 *
 * Only one plea is between `%plea` and becoming a poke at a time: every send asked for meanwhile
 * (later writs, a later plea) is held, and released in order once the plea is a poke or settled.
 * mars holds tasks only while it waits for `%done`; after a refusal it is not waiting, and
 * without this hold it would answer later writs before the event that came first.
 *
 * urth only maps a segment mars made, fills it and unmaps it before `%done`: it never creates,
 * truncates or unlinks one.
 */
import { assert, PleaError } from "../error.ts";
import { isValidSegmentName } from "../ffi/shm-name.ts";
import { NEWT_BODY_BYTES_MAX } from "../ipc/newt.ts";
import { shmSize, type BigAtom, type JamMeasure, type Noun, type ShmRef } from "../noun/index.ts";
import { PleaErrorCode } from "./errors.ts";
import { grantText, segmentRefText, type SegmentKind, type SegmentRef } from "./segment-ref.ts";

/**
 * Events whose raw size reaches this go through shared memory: 1 MiB, chosen by measurement
 * (docs/plea.md, "When urth takes the plea path"). The seed's 256 MiB was set before any was
 * made: bench/commit.ts with forced paths put plea at 0.66x the pipe's scan-to-durable time at
 * 1 MiB, 0.52x at 4 and 16 MiB, and level with it (within noise) at 64 and 256 KiB.
 */
export const PLEA_THRESHOLD_BYTES_DEFAULT = 1024 * 1024;

/** The path an event takes, and its raw size (`shmSize`: an upper bound with file-backed atoms). */
export type Route = { path: "pipe" | "plea"; size: number };

/**
 * The path for a task noun: plea when its raw size (an upper bound with file-backed atoms) is at
 * least `thresholdBytes`. The atoms `refOf` names are blob references in the segment (a fixed
 * entry each, docs/shm-format.md) and on the pipe, so their bytes do not count: an event that
 * only refers to a 1 GiB blob is a small pipe event. The size pass reads no file and no blob.
 */
export function routeTask(task: Noun, thresholdBytes: number, refOf?: (a: BigAtom) => ShmRef | undefined): Route {
  const size = shmSize(task, { refOf });
  return { path: size >= thresholdBytes ? "plea" : "pipe", size };
}

/** A send waiting behind a plea: a task, or another plea (`asked`: its raw size; `kind`: the segment it asks for). */
export type UrthPleaHeld<P, T> = { readonly type: "task"; readonly item: T } | { readonly type: "plea"; readonly item: P; readonly asked: number; readonly kind: SegmentKind };

/**
 * `P` is the driver's handle on a plea poke (its writ), `T` on any other send. `held` lists the
 * sends asked for since the plea began, in order.
 */
export type UrthPleaState<P, T> =
  | { readonly kind: "idle" }
  | { readonly kind: "asking"; readonly item: P; readonly asked: number; readonly segment: SegmentKind; readonly held: UrthPleaHeld<P, T>[] }
  | { readonly kind: "filling"; readonly item: P; readonly asked: number; readonly segment: SegmentKind; readonly held: UrthPleaHeld<P, T>[] }
  | { readonly kind: "measuring"; readonly item: P; readonly mote: string; readonly held: UrthPleaHeld<P, T>[] }
  | { readonly kind: "dead" };

export type UrthPleaStateKind = UrthPleaState<unknown, unknown>["kind"];

export type UrthPleaInput<P, T> =
  /** Any task but a plea poke is to be sent. */
  | { readonly type: "task"; readonly item: T }
  /** A poke whose raw size reached the threshold is to be sent; `asked` is that size, `kind` the segment urth asks for. */
  | { readonly type: "plea"; readonly item: P; readonly asked: number; readonly kind: SegmentKind }
  /** mars's `[%plea nam len]` or `[%plea %memfd fd len]`. */
  | { readonly type: "granted"; readonly segment: SegmentRef; readonly length: number }
  /** mars's `[%plea %fail goof]`; `mote` says why. */
  | { readonly type: "refused"; readonly mote: string }
  /** The `fill` asked for wrote `bytes` into the segment and unmapped it. */
  | { readonly type: "filled"; readonly bytes: number }
  /** The `fill` asked for threw (a file changed or vanished); the segment is unmapped. */
  | { readonly type: "fill-failed"; readonly error: unknown }
  /** The `measure` asked for: the task's jam length (and the plan to jam it by). */
  | { readonly type: "measured"; readonly jam: JamMeasure }
  /** The `measure` asked for threw (a file changed or vanished). */
  | { readonly type: "measure-failed"; readonly error: unknown }
  /** mars exited (or was killed): nothing more is sent. */
  | { readonly type: "exited" };

/**
 * What the driver does, in the order given. `fill` and `measure` ask for a result: each is the
 * last of its list, and the driver steps the machine with its outcome. `release` is last too: the
 * driver steps the machine with each held send again, in order (a plea among them holds the rest).
 */
export type UrthPleaAction<P, T> =
  /** Send this task now. */
  | { readonly do: "send"; readonly item: T }
  /** Send `[%plea asked]` (a named segment) or `[%plea %memfd asked]` for this plea poke. */
  | { readonly do: "ask"; readonly item: P; readonly asked: number; readonly kind: SegmentKind }
  /** Open the segment mars granted for writing, write the task into it, unmap it; step `filled` or `fill-failed`. */
  | { readonly do: "fill"; readonly item: P; readonly segment: SegmentRef; readonly length: number }
  /** Send `[%done ~]`: the writ now waits for mars's `%poke` reply (path plea). */
  | { readonly do: "done"; readonly item: P; readonly bytes: number }
  /** Send `[%drop ~]`: mars forgets the segment. */
  | { readonly do: "drop"; readonly item: P }
  /** Measure the task's jam (`measureJam`); step `measured` or `measure-failed`. */
  | { readonly do: "measure"; readonly item: P; readonly mote: string }
  /** Send the task through the pipe, as `[%poke mil ovum]`, with the jam measured once. */
  | { readonly do: "pipe"; readonly item: P; readonly jam: JamMeasure }
  /** Fail this writ alone with `error`; later writs go on. */
  | { readonly do: "reject"; readonly item: P; readonly error: unknown }
  /** Step the machine with each of these again, in order. */
  | { readonly do: "release"; readonly held: readonly UrthPleaHeld<P, T>[] }
  /** mars broke the protocol: kill it (every writ then rejects with `MarsExited`). */
  | { readonly do: "protocol"; readonly message: string };

export class UrthPlea<P, T> {
  private current: UrthPleaState<P, T>;

  constructor(initial: UrthPleaState<P, T> = { kind: "idle" }) {
    this.current = initial;
  }

  get state(): UrthPleaState<P, T> {
    return this.current;
  }

  /** One transition: the state moves and the actions to perform come back. No I/O. */
  step(input: UrthPleaInput<P, T>): UrthPleaAction<P, T>[] {
    const s = this.current;
    switch (input.type) {
      case "task":
        if (s.kind === "idle") return [{ do: "send", item: input.item }];
        if (s.kind === "dead") return [];
        s.held.push({ type: "task", item: input.item });
        return [];
      case "plea":
        if (s.kind === "idle") {
          this.current = { kind: "asking", item: input.item, asked: input.asked, segment: input.kind, held: [] };
          return [{ do: "ask", item: input.item, asked: input.asked, kind: input.kind }];
        }
        if (s.kind === "dead") return [];
        s.held.push({ type: "plea", item: input.item, asked: input.asked, kind: input.kind });
        return [];
      case "granted": {
        if (s.kind === "dead") return [];
        const granted = input.segment;
        if (s.kind !== "asking") return this.outOfState(s.kind, grantText(granted, input.length));
        if (granted.kind !== s.segment) {
          return this.fail(`mars granted a ${granted.kind} segment (${segmentRefText(granted)}) when urth asked for a ${s.segment} one; urth refuses to open it and stops mars`);
        }
        if (granted.kind === "named" && !isValidSegmentName(granted.name)) {
          return this.fail(`mars named the segment ${JSON.stringify(granted.name)}, which is not a plea- segment name; urth refuses to open it and stops mars`);
        }
        if (input.length < s.asked) {
          return this.fail(`mars granted a segment of ${input.length} bytes for an event of up to ${s.asked} bytes; urth stops mars`);
        }
        this.current = { kind: "filling", item: s.item, asked: s.asked, segment: s.segment, held: s.held };
        return [{ do: "fill", item: s.item, segment: granted, length: input.length }];
      }
      case "refused":
        if (s.kind === "dead") return [];
        if (s.kind !== "asking") return this.outOfState(s.kind, `[%plea %fail %${input.mote}]`);
        this.current = { kind: "measuring", item: s.item, mote: input.mote, held: s.held };
        return [{ do: "measure", item: s.item, mote: input.mote }];
      case "filled": {
        const f = this.expect(s, "filling", input.type);
        this.current = { kind: "idle" };
        return [{ do: "done", item: f.item, bytes: input.bytes }, { do: "release", held: f.held }];
      }
      case "fill-failed": {
        const f = this.expect(s, "filling", input.type);
        this.current = { kind: "idle" };
        return [{ do: "drop", item: f.item }, { do: "reject", item: f.item, error: input.error }, { do: "release", held: f.held }];
      }
      case "measured": {
        const m = this.expect(s, "measuring", input.type);
        this.current = { kind: "idle" };
        const refused = refusal(m.mote, input.jam.bytes);
        const send: UrthPleaAction<P, T> = refused ? { do: "reject", item: m.item, error: refused } : { do: "pipe", item: m.item, jam: input.jam };
        return [send, { do: "release", held: m.held }];
      }
      case "measure-failed": {
        const m = this.expect(s, "measuring", input.type);
        this.current = { kind: "idle" };
        return [{ do: "reject", item: m.item, error: input.error }, { do: "release", held: m.held }];
      }
      case "exited":
        // The writ queue rejects every writ, held ones included: nothing is left to send.
        this.current = { kind: "dead" };
        return [];
    }
  }

  /** A reply mars should not have sent in this state: the same rule for every one of them. */
  private outOfState(kind: UrthPleaStateKind, what: string): UrthPleaAction<P, T>[] {
    const when = kind === "idle" ? "no plea was asked" : `the plea was ${kind === "filling" ? "being filled" : "already refused"}`;
    return this.fail(`mars sent ${what} when ${when}; urth and mars disagree about the plea protocol, so urth stops mars`);
  }

  private fail(message: string): UrthPleaAction<P, T>[] {
    this.current = { kind: "dead" };
    return [{ do: "protocol", message }];
  }

  /** The results of `fill` and `measure` come only in the state that asked for them (the driver's invariant). */
  private expect<K extends "filling" | "measuring">(s: UrthPleaState<P, T>, kind: K, input: string): Extract<UrthPleaState<P, T>, { kind: K }> {
    assert(s.kind === kind, `urth's plea machine got ${input} in state ${s.kind}, not ${kind}`);
    return s as Extract<UrthPleaState<P, T>, { kind: K }>;
  }
}

/**
 * After `[%plea %fail goof]`: the error for an event whose jam a newt frame cannot carry (at most
 * NEWT_BODY_BYTES_MAX bytes), or undefined when it may go through the pipe.
 */
export function refusal(reason: string, jamBytes: number): PleaError | undefined {
  if (jamBytes <= NEWT_BODY_BYTES_MAX) return undefined;
  return new PleaError(
    PleaErrorCode.refused,
    `mars could not make a shared-memory segment (${reason}) and the event's jam is ${jamBytes} bytes, more than a newt frame carries (${NEWT_BODY_BYTES_MAX}). Free space in /dev/shm (or raise its size) and commit again`,
  );
}
