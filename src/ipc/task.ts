/**
 * Tasks: the messages urth sends to mars. Protocol 2 as vere v4 (docs/ipc.md, "urth -> mars") plus
 * the plea messages (docs/plea.md). `taskToNoun` builds the exact noun; `parseTask` reads one
 * from the pipe and throws a protocol error (`IpcErrorCode.protocol`) for anything else.
 *
 *     [%poke mil=@ ovum]                                  run an event (ovum = [wire card])
 *     [%peek mil=@ gang=(unit (set ship)) (each path [%once care=@tas desk=@tas path])]
 *     [%live %meld [per=? ford=?]]   [%live %pack ~]      memory maintenance, answered %live
 *     [%sync %save ~]                                     snapshot now, answered [%sync eve mug]
 *     [%quiz %quac ~]   [%quiz %quic ~]                   memory report / counters
 *     [%exit ~]                                           commit, save, exit 0, no answer
 *     [%plea len=@ud]                                     ask for a named segment of len bytes
 *     [%plea %memfd len=@ud]                              ask for a memfd segment of len bytes
 *     [%plea %bref refs jam=@]                            a %poke whose large atoms are blobs (bref.ts)
 *     [%done ~]                                           the segment holds the poke: take it
 *     [%drop ~]                                           urth could not fill it: forget it
 *     [%chop keep=@ud]                                    Plea: drop what retention no longer keeps
 *                                                         (docs/event-log.md, "Retention"), answered %chop
 */
import { assert } from "../error.ts";
import { BigAtom, cell, cord, isCell, metBits, tuple, type Cell, type Noun } from "../noun/index.ts";
import { brefRefsToNoun, readBrefRefs, type BrefRef } from "./bref.ts";
import { loobean, readAtom, readCell, readLoobean, readMote, readNull, readNumber, readPath, readUnit, unit } from "./shape.ts";
import { TAG, unknownTag } from "./tags.ts";

/** Largest `mil` (a timeout in ms; 0 = none): vere reads it as a 32-bit word (u3r_safe_word). */
export const TASK_MIL_MAX = 0xffff_ffff;

/** Largest `len` of `[%plea len]`: a byte count JS can hold exactly (2^53-1). */
export const PLEA_LENGTH_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Largest `keep` of `[%chop keep]` (older snapshots kept beside the newest). mars keeps only the
 * snapshots it has; a larger number than it could ever hold is a mistake, not a request.
 */
export const CHOP_KEEP_MAX = 1000;

/** What a peek asks for: a full path (`[%.y path]`) or a "once" scry (`[%.n %once care desk path]`). */
export type PeekRequest =
  | { readonly kind: "path"; readonly path: Noun }
  | { readonly kind: "once"; readonly care: string; readonly desk: string; readonly path: Noun };

export type Task =
  | { readonly type: "poke"; readonly mil: number; readonly ovum: Cell }
  | { readonly type: "peek"; readonly mil: number; readonly gang: Noun | null; readonly request: PeekRequest }
  | { readonly type: "live"; readonly kind: "meld"; readonly per: boolean; readonly ford: boolean }
  | { readonly type: "live"; readonly kind: "pack" }
  | { readonly type: "sync"; readonly kind: "save" }
  | { readonly type: "quiz"; readonly kind: "quac" | "quic" }
  | { readonly type: "exit" }
  /** `kind` absent or "named": the seed's `[%plea len]`; "memfd": Plea's `[%plea %memfd len]`. */
  | { readonly type: "plea"; readonly length: number; readonly kind?: "named" | "memfd" }
  | { readonly type: "done" }
  | { readonly type: "drop" }
  /**
   * Plea's `[%plea %bref refs jam]`: `jam` is the jam-with-refs of a `[%poke mil ovum]` task, in
   * which the atom at each reference's bit offset is the blob it names (bref.ts, docs/ipc.md).
   */
  | { readonly type: "bref"; readonly refs: readonly BrefRef[]; readonly jam: number | BigAtom }
  /** Plea's `[%chop keep=@ud]`: keep the newest snapshot and `keep` older ones, drop the rest. */
  | { readonly type: "chop"; readonly keep: number };

export type TaskType = Task["type"];

/** The task's noun, exactly as vere builds it (lord.c). Throws (our bug) on out-of-range fields. */
export function taskToNoun(t: Task): Noun {
  switch (t.type) {
    case "poke":
      checkMil(t.mil);
      assert(isCell(t.ovum), "a poke's ovum is a cell [wire card]");
      return tuple(TAG.poke, t.mil, t.ovum);
    case "peek": {
      checkMil(t.mil);
      const r = t.request;
      const each = r.kind === "path" ? cell(0, r.path) : cell(1, tuple(TAG.once, cord(r.care), cord(r.desk), r.path));
      return tuple(TAG.peek, t.mil, unit(t.gang), each);
    }
    case "live":
      return t.kind === "meld" ? tuple(TAG.live, TAG.meld, loobean(t.per), loobean(t.ford)) : tuple(TAG.live, TAG.pack, 0);
    case "sync":
      return tuple(TAG.sync, TAG.save, 0);
    case "quiz":
      return tuple(TAG.quiz, t.kind === "quac" ? TAG.quac : TAG.quic, 0);
    case "exit":
      return cell(TAG.exit, 0);
    case "plea":
      assert(Number.isSafeInteger(t.length) && t.length >= 0, `plea length ${t.length} is a byte count`);
      return t.kind === "memfd" ? tuple(TAG.plea, TAG.memfd, t.length) : cell(TAG.plea, t.length);
    case "done":
      return cell(TAG.done, 0);
    case "drop":
      return cell(TAG.drop, 0);
    case "bref":
      return tuple(TAG.plea, TAG.bref, brefRefsToNoun(t.refs), t.jam);
    case "chop":
      assert(Number.isInteger(t.keep) && t.keep >= 0 && t.keep <= CHOP_KEEP_MAX, `chop keep ${t.keep} is in 0..${CHOP_KEEP_MAX}`);
      return cell(TAG.chop, t.keep);
  }
}

function checkMil(mil: number): void {
  assert(Number.isInteger(mil) && mil >= 0 && mil <= TASK_MIL_MAX, `mil ${mil} is a u32 of milliseconds`);
}

/**
 * Reads a task noun from urth.
 * @throws PleaError (`IpcErrorCode.protocol`) for anything that is not one of the tasks above.
 */
export function parseTask(n: Noun): Task {
  const c = readCell(n, "Task");
  const tail = c.tail;
  switch (c.head) {
    case TAG.poke: {
      const p = readCell(tail, "Task %poke");
      const mil = readNumber(p.head, TASK_MIL_MAX, "Task %poke, mil");
      const ovum = readCell(p.tail, "Task %poke, ovum");
      readPath(ovum.head, "Task %poke, ovum wire");
      readCell(ovum.tail, "Task %poke, ovum card");
      return { type: "poke", mil, ovum };
    }
    case TAG.peek: {
      const p = readCell(tail, "Task %peek");
      const mil = readNumber(p.head, TASK_MIL_MAX, "Task %peek, mil");
      const q = readCell(p.tail, "Task %peek, [gang request]");
      const gang = readUnit(q.head, "Task %peek, gang");
      const each = readCell(q.tail, "Task %peek, request");
      const yes = readLoobean(each.head, "Task %peek, request tag");
      if (yes) return { type: "peek", mil, gang, request: { kind: "path", path: readPath(each.tail, "Task %peek, path") } };
      const once = readCell(each.tail, "Task %peek, once request");
      if (once.head !== TAG.once) throw unknownTag("Task %peek request", once.head);
      const [care, desk, path] = readTriple(once.tail, "Task %peek %once");
      return {
        type: "peek",
        mil,
        gang,
        request: { kind: "once", care: readMote(care, "Task %peek %once, care"), desk: readMote(desk, "Task %peek %once, desk"), path: readPath(path, "Task %peek %once, path") },
      };
    }
    case TAG.live: {
      const p = readCell(tail, "Task %live");
      if (p.head === TAG.meld) {
        // As vere (mars.c:657-693): an argument that is not [per=? ford=?] means %.n %.n
        // (vere 4.0 sent ~).
        const arg = p.tail;
        if (isCell(arg) && (arg.head === 0 || arg.head === 1) && (arg.tail === 0 || arg.tail === 1)) {
          return { type: "live", kind: "meld", per: arg.head === 0, ford: arg.tail === 0 };
        }
        return { type: "live", kind: "meld", per: false, ford: false };
      }
      if (p.head === TAG.pack) {
        readNull(p.tail, "Task %live %pack");
        return { type: "live", kind: "pack" };
      }
      throw unknownTag("Task %live", p.head);
    }
    case TAG.sync: {
      const p = readCell(tail, "Task %sync");
      if (p.head !== TAG.save) throw unknownTag("Task %sync", p.head);
      readNull(p.tail, "Task %sync %save");
      return { type: "sync", kind: "save" };
    }
    case TAG.quiz: {
      const p = readCell(tail, "Task %quiz");
      if (p.head !== TAG.quac && p.head !== TAG.quic) throw unknownTag("Task %quiz", p.head);
      readNull(p.tail, "Task %quiz");
      return { type: "quiz", kind: p.head === TAG.quac ? "quac" : "quic" };
    }
    case TAG.exit:
      readNull(tail, "Task %exit");
      return { type: "exit" };
    case TAG.plea: {
      if (!isCell(tail)) return { type: "plea", length: readNumber(tail, PLEA_LENGTH_MAX, "Task %plea, len") };
      if (tail.head === TAG.bref) {
        const b = readCell(tail.tail, "Task %plea %bref");
        const jam = readAtom(b.tail, "Task %plea %bref, jam");
        return { type: "bref", refs: readBrefRefs(b.head, metBits(jam), "Task %plea %bref, reference"), jam };
      }
      if (tail.head !== TAG.memfd) throw unknownTag("Task %plea", tail.head);
      return { type: "plea", kind: "memfd", length: readNumber(tail.tail, PLEA_LENGTH_MAX, "Task %plea %memfd, len") };
    }
    case TAG.done:
      readNull(tail, "Task %done");
      return { type: "done" };
    case TAG.drop:
      readNull(tail, "Task %drop");
      return { type: "drop" };
    case TAG.chop:
      return { type: "chop", keep: readNumber(tail, CHOP_KEEP_MAX, "Task %chop, keep") };
    default:
      throw unknownTag("Task", c.head);
  }
}

function readTriple(n: Noun, where: string): [Noun, Noun, Noun] {
  const a = readCell(n, where);
  const b = readCell(a.tail, where);
  return [a.head, b.head, b.tail];
}
