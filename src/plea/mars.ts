/**
 * mars's side of the plea protocol as one state machine (docs/plea.md, "mars's side"). It does no
 * I/O: its driver (src/mars/mars.ts) steps it with each task urth sends, with the result of an
 * action it asked for (a segment made or not, a segment decoded or not, a `%bref` resolved or not)
 * and with mars's end, and performs the actions it returns, in order.
 *
 *   idle --%plea--> creating --created--> waiting --%done--> taking --taken--> idle (handle the %poke)
 *                            --create-failed--> idle         --%drop--> idle (remove the segment)
 *   idle --%bref--> resolving --resolved--> idle (handle the %poke)
 *                             --unresolved--> idle (a blob is missing: that poke fails)
 *   a plea message out of its state, a %bref whose jam is not a %poke --> closed (mars exits 1)
 *
 * Between a granted `%plea` and its `%done` or `%drop` every other task is held, and handled after
 * the plea's event, in order. Every plea message that arrives out of its state (`%done` or
 * `%drop` with no plea waiting, `%plea` while one waits) gets one rule: urth and mars disagree
 * about the protocol, so mars says so, removes its segment and exits 1, as for a task it cannot
 * parse (vere's `mars: bad`). Answering instead would put a reply in the pipe that urth's writ
 * FIFO pairs with the wrong writ. A `%bref` is not a segment message: it is a poke, held and
 * released like any task, that mars decodes against its blob store before handling it.
 */
import { assert } from "../error.ts";
import { parseTask, type Task } from "../ipc/task.ts";
import type { Cell, Noun } from "../noun/index.ts";
import type { EventPath } from "../ipc/event-info.ts";
import type { SegmentKind, SegmentRef } from "./segment-ref.ts";

/** The goof motes mars sends about a plea (docs/ipc.md). */
export const PleaMote = {
  /** `[%plea %fail goof]`: mars could not make the segment. */
  create: "plea-create",
  /** `[%poke %.n goof]` after `%done`: the segment does not hold a `%poke` task mars can decode. */
  bad: "plea-bad",
  /** `[%poke %.n goof]` after `%bref`: a blob the event refers to is missing, of another length, or damaged; the goof names it. */
  blob: "plea-blob",
} as const;

/** `S` is the driver's handle on a segment it made. `held` lists the tasks held, in order. */
export type MarsPleaState<S> =
  | { readonly kind: "idle" }
  | { readonly kind: "creating"; readonly length: number; readonly segment: SegmentKind; readonly held: Task[] }
  | { readonly kind: "waiting"; readonly segment: S; readonly held: Task[] }
  | { readonly kind: "taking"; readonly held: Task[] }
  | { readonly kind: "resolving"; readonly held: Task[] }
  | { readonly kind: "closed" };

/** A `[%plea %bref refs jam]` task. */
export type BrefTask = Extract<Task, { type: "bref" }>;

export type MarsPleaInput<S> =
  /** A task from urth, whatever it is: the machine tells the plea messages from the rest. */
  | { readonly type: "task"; readonly task: Task }
  /** The `create` asked for made `segment`, which urth opens as `granted`, of `length` bytes. */
  | { readonly type: "created"; readonly segment: S; readonly granted: SegmentRef; readonly length: number }
  /** The `create` asked for failed (ENOSPC, no /dev/shm, a length too large); nothing was left. */
  | { readonly type: "create-failed"; readonly message: string }
  /** The `take` asked for mapped and decoded the segment (its name is gone). */
  | { readonly type: "taken"; readonly noun: Noun }
  /** The `take` asked for could not decode the segment (its name and mapping are gone). */
  | { readonly type: "take-failed"; readonly message: string }
  /** The `resolve` asked for cued the `%bref`'s jam with each reference's blob in place. */
  | { readonly type: "resolved"; readonly noun: Noun }
  /** The `resolve` asked for found a referenced blob missing, of another length, or damaged (`message` names it). */
  | { readonly type: "unresolved"; readonly message: string }
  /** The `resolve` asked for found the `%bref`'s jam damaged (it does not cue, or holds no atom 0 at a reference). */
  | { readonly type: "resolve-bad"; readonly message: string }
  /** mars is ending: EOF on stdin, `%exit`, a task it cannot parse, any fatal error. */
  | { readonly type: "end" };

/**
 * What the driver does, in the order given. `create` and `take` ask for a result: each is the
 * last of its list, and the driver steps the machine with its outcome. `release` is last too: the
 * driver steps the machine with each held task again, in order (a `%plea` among them holds the rest).
 */
export type MarsPleaAction<S> =
  /** Not a plea message: handle the task now. */
  | { readonly do: "handle"; readonly task: Task }
  /**
   * Create a fresh segment of `kind` of at least `length` bytes (named: `O_EXCL`; memfd: sealed;
   * both fallocated); step `created` or `create-failed`.
   */
  | { readonly do: "create"; readonly length: number; readonly kind: SegmentKind }
  /** Reply `[%plea nam len]` or `[%plea %memfd fd len]`. */
  | { readonly do: "grant"; readonly granted: SegmentRef; readonly length: number }
  /** Say why on stderr and reply `[%plea %fail goof]` to the `[%plea length]` asked. */
  | { readonly do: "refuse"; readonly length: number; readonly mote: string; readonly message: string }
  /** Map the segment privately, unlink its name at once, decode it zero-copy; step `taken` or `take-failed`. */
  | { readonly do: "take"; readonly segment: S }
  /**
   * Stat each blob the `%bref` names (it exists with that length and a valid footer), build its
   * atoms from the blobs, cue the jam with them in place; step `resolved`, `unresolved` or `resolve-bad`.
   */
  | { readonly do: "resolve"; readonly task: BrefTask }
  /** Handle the decoded `%poke`: its event took `path` (plea: a segment; pipe: a `%bref`). */
  | { readonly do: "poke"; readonly ovum: Cell; readonly path: EventPath }
  /** Reply `[%poke %.n goof]`: the plea's (or the `%bref`'s) event fails, mars goes on. */
  | { readonly do: "reject"; readonly mote: string; readonly message: string }
  /** Unlink and unmap the segment. */
  | { readonly do: "remove"; readonly segment: S }
  /** Step the machine with each of these tasks again, in order. */
  | { readonly do: "release"; readonly tasks: readonly Task[] }
  /** urth broke the protocol: say so on stderr and exit 1 (nothing more is read). */
  | { readonly do: "fail"; readonly message: string };

export class MarsPlea<S> {
  private current: MarsPleaState<S>;

  constructor(initial: MarsPleaState<S> = { kind: "idle" }) {
    this.current = initial;
  }

  get state(): MarsPleaState<S> {
    return this.current;
  }

  /** One transition: the state moves and the actions to perform come back. No I/O. */
  step(input: MarsPleaInput<S>): MarsPleaAction<S>[] {
    const s = this.current;
    switch (input.type) {
      case "task":
        return this.onTask(s, input.task);
      case "created": {
        const c = this.expect(s, "creating", input.type);
        this.current = { kind: "waiting", segment: input.segment, held: c.held };
        return [{ do: "grant", granted: input.granted, length: input.length }];
      }
      case "create-failed": {
        const c = this.expect(s, "creating", input.type);
        this.current = { kind: "idle" };
        return [
          { do: "refuse", length: c.length, mote: PleaMote.create, message: input.message },
          { do: "release", tasks: c.held },
        ];
      }
      case "taken": {
        const t = this.expect(s, "taking", input.type);
        this.current = { kind: "idle" };
        return [pokeOf(input.noun), { do: "release", tasks: t.held }];
      }
      case "resolved": {
        const r = this.expect(s, "resolving", input.type);
        const poke = brefPokeOf<S>(input.noun);
        if (typeof poke === "string") return this.malformed(poke);
        this.current = { kind: "idle" };
        return [poke, { do: "release", tasks: r.held }];
      }
      case "unresolved": {
        const r = this.expect(s, "resolving", input.type);
        this.current = { kind: "idle" };
        return [{ do: "reject", mote: PleaMote.blob, message: input.message }, { do: "release", tasks: r.held }];
      }
      case "resolve-bad":
        this.expect(s, "resolving", input.type);
        return this.malformed(`the %bref's jam is damaged: ${input.message}`);
      case "take-failed": {
        const t = this.expect(s, "taking", input.type);
        this.current = { kind: "idle" };
        return [{ do: "reject", mote: PleaMote.bad, message: input.message }, { do: "release", tasks: t.held }];
      }
      case "end":
        this.current = { kind: "closed" };
        // Whatever ends mars, a segment still waiting for %done must not outlive it in /dev/shm.
        return s.kind === "waiting" ? [{ do: "remove", segment: s.segment }] : [];
    }
  }

  private onTask(s: MarsPleaState<S>, task: Task): MarsPleaAction<S>[] {
    switch (s.kind) {
      case "idle":
        switch (task.type) {
          case "plea": {
            const kind = task.kind ?? "named";
            this.current = { kind: "creating", length: task.length, segment: kind, held: [] };
            return [{ do: "create", length: task.length, kind }];
          }
          case "done":
          case "drop":
            return this.outOfState([], `%${task.type} with no plea waiting`);
          case "bref":
            this.current = { kind: "resolving", held: [] };
            return [{ do: "resolve", task }];
          default:
            return [{ do: "handle", task }];
        }
      case "creating":
        // The driver creates synchronously, so nothing arrives here; were it otherwise, the
        // same rules as in `waiting` would hold: a %plea message is out of state, the rest waits.
        if (task.type === "plea") return this.outOfState([], "%plea while a plea was being made");
        if (task.type === "done" || task.type === "drop") return this.outOfState([], `%${task.type} before the segment was granted`);
        s.held.push(task);
        return [];
      case "waiting":
        switch (task.type) {
          case "done":
            this.current = { kind: "taking", held: s.held };
            return [{ do: "take", segment: s.segment }];
          case "drop":
            this.current = { kind: "idle" };
            return [
              { do: "remove", segment: s.segment },
              { do: "release", tasks: s.held },
            ];
          case "plea":
            return this.outOfState([{ do: "remove", segment: s.segment }], "%plea while a plea waits for %done");
          default:
            s.held.push(task);
            return [];
        }
      case "taking":
      case "resolving":
        // After %done urth may send its next %plea at once: it waits its turn like any task. The
        // driver resolves a %bref synchronously, so nothing arrives while resolving; were it
        // otherwise, the same rules as in `taking` would hold.
        if (task.type === "done" || task.type === "drop") return this.outOfState([], `%${task.type} with no plea waiting`);
        s.held.push(task);
        return [];
      case "closed":
        // mars has stopped: nothing more is read.
        return [];
    }
  }

  private outOfState(before: MarsPleaAction<S>[], what: string): MarsPleaAction<S>[] {
    this.current = { kind: "closed" };
    return [...before, { do: "fail", message: `${what}: urth and mars disagree about the plea protocol (a bug; please report it)` }];
  }

  /** A `%bref` that does not hold a `%poke` mars can decode: as a task mars cannot parse, mars exits 1. */
  private malformed(what: string): MarsPleaAction<S>[] {
    this.current = { kind: "closed" };
    return [{ do: "fail", message: what }];
  }

  /** The results of `create`, `take` and `resolve` come only in the state that asked for them (the driver's invariant). */
  private expect<K extends "creating" | "taking" | "resolving">(s: MarsPleaState<S>, kind: K, input: string): Extract<MarsPleaState<S>, { kind: K }> {
    assert(s.kind === kind, `mars's plea machine got ${input} in state ${s.kind}, not ${kind}`);
    return s as Extract<MarsPleaState<S>, { kind: K }>;
  }
}

/** The decoded segment must hold a `%poke` task; anything else fails that event alone. */
function pokeOf<S>(noun: Noun): MarsPleaAction<S> {
  let task: Task;
  try {
    task = parseTask(noun);
  } catch (e) {
    return { do: "reject", mote: PleaMote.bad, message: `The segment holds no task mars can parse: ${(e as Error).message}` };
  }
  if (task.type !== "poke") return { do: "reject", mote: PleaMote.bad, message: `The segment holds a %${task.type} task, not a %poke` };
  return { do: "poke", ovum: task.ovum, path: "plea" };
}

/** A `%bref`'s jam must hold a `%poke` task: its action, or what is wrong with it. */
function brefPokeOf<S>(noun: Noun): MarsPleaAction<S> | string {
  let task: Task;
  try {
    task = parseTask(noun);
  } catch (e) {
    return `the %bref's jam holds no task mars can parse: ${(e as Error).message}`;
  }
  if (task.type !== "poke") return `the %bref's jam holds a %${task.type} task, not a %poke`;
  return { do: "poke", ovum: task.ovum, path: "pipe" };
}
