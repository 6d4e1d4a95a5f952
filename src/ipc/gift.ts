/**
 * Gifts: the messages mars sends to urth. Protocol 2 as vere v4 (docs/ipc.md, "mars -> urth") plus
 * the plea replies (docs/plea.md). `giftToNoun` builds the exact noun; `parseGift` reads one from
 * the pipe and throws a protocol error (`IpcErrorCode.protocol`) for anything else.
 *
 *     [%ripe [pro=%2 kel] [who=@p fake=?] eve=@ mug=@]   mars is ready (unsolicited, first)
 *     [%poke %.y fec=(list ovum)]   [%poke %.n lud=(list goof)]      answer to %poke
 *     [%peek %.y (unit cask)]       [%peek %.n goof]                 answer to %peek
 *     [%live ~]                                                      answer to %live
 *     [%quiz %quac p=*]   [%quiz %quic [[%open @] [%idle @] ~]]      answer to %quiz
 *     [%sync eve=@ mug=@]                                            after a snapshot
 *     [%slog pri=@ tank]   [%flog cord]                              log lines (unsolicited)
 *     [%plea nam=@t len=@ud]                                         answer to %plea: the segment
 *     [%plea %memfd fd=@ud len=@ud]                                  answer to %plea %memfd: mars's descriptor
 *     [%plea %fail goof]                                             answer to %plea: no segment
 *     [%chop %.y report=@t]   [%chop %.n goof]                       Plea: answer to %chop (report: a JSON object)
 *
 * The plea replies differ in shape: after the name comes an atom (len); after `%memfd` or `%fail`
 * a cell (`[fd len]` or a goof).
 */
import { assert, PleaError } from "../error.ts";
import { BigAtom, cell, cord, isCell, list, tuple, type Cell, type Noun } from "../noun/index.ts";
import { IpcErrorCode } from "./errors.ts";
import { goofToNoun, readGoof, type Goof } from "./goof.ts";
import { loobean, readAtom, readCell, readCord, readList, readLoobean, readMote, readNull, readNumber, readUnit, unit } from "./shape.ts";
import { TAG, unknownTag } from "./tags.ts";

/** The only protocol this urth and mars speak (vere v4; `%ripe` with another bails, lord.c:237-281). */
export const PROTOCOL_VERSION = 2;

/** Largest event number: JS numbers are exact to 2^53-1 (vere allows u64; 2^53 events is ample). */
export const EVENT_NUMBER_MAX = Number.MAX_SAFE_INTEGER;

/** A mug is 31 bits; vere checks it fits a u32 (lord.c:237-281). */
export const MUG_MAX = 0xffff_ffff;

/** A ship (@p) is at most 128 bits. */
export const SHIP_BYTES_MAX = 16;

/** Longest segment name in a `%plea` reply: NAME_MAX. */
export const PLEA_NAME_BYTES_MAX = 255;

/** Largest descriptor in a `[%plea %memfd fd len]` reply: a C `int`. */
export const PLEA_FD_MAX = 2 ** 31 - 1;

/**
 * Longest report of a `[%chop %.y report]`: a JSON object of counts and byte figures is a few
 * hundred bytes; anything near this is not a report.
 */
export const CHOP_REPORT_BYTES_MAX = 64 * 1024;

/** A scry result: `[mark noun]`. */
export interface Cask {
  readonly mark: string;
  readonly noun: Noun;
}

export type Gift =
  | {
      readonly type: "ripe";
      /** Extra version data (`kel`; vere sends `~`). */
      readonly kel: Noun;
      readonly who: number | BigAtom;
      readonly fake: boolean;
      readonly eve: number;
      readonly mug: number;
    }
  | { readonly type: "poke"; readonly ok: true; readonly effects: readonly Cell[] }
  | { readonly type: "poke"; readonly ok: false; readonly goofs: readonly Goof[] }
  | { readonly type: "peek"; readonly ok: true; readonly result: Cask | null }
  | { readonly type: "peek"; readonly ok: false; readonly goof: Goof }
  | { readonly type: "live" }
  | { readonly type: "quiz"; readonly kind: "quac"; readonly report: Noun }
  | { readonly type: "quiz"; readonly kind: "quic"; readonly open: number; readonly idle: number }
  | { readonly type: "sync"; readonly eve: number; readonly mug: number }
  | { readonly type: "slog"; readonly priority: number; readonly tank: Noun }
  | { readonly type: "flog"; readonly text: string }
  | { readonly type: "plea"; readonly ok: true; readonly kind?: "named"; readonly name: string; readonly length: number }
  /** Plea's `[%plea %memfd fd len]`: descriptor `fd` of mars, a sealed memfd (docs/shm-segments.md). */
  | { readonly type: "plea"; readonly ok: true; readonly kind: "memfd"; readonly fd: number; readonly length: number }
  | { readonly type: "plea"; readonly ok: false; readonly goof: Goof }
  | { readonly type: "chop"; readonly ok: true; readonly report: string }
  | { readonly type: "chop"; readonly ok: false; readonly goof: Goof };

export type GiftType = Gift["type"];

/** The gift's noun, exactly as vere builds it (mars.c). Throws (our bug) on out-of-range fields. */
export function giftToNoun(g: Gift): Noun {
  switch (g.type) {
    case "ripe":
      checkNumber(g.eve, EVENT_NUMBER_MAX, "eve");
      checkNumber(g.mug, MUG_MAX, "mug");
      return tuple(TAG.ripe, cell(PROTOCOL_VERSION, g.kel), cell(g.who, loobean(g.fake)), g.eve, g.mug);
    case "poke":
      return g.ok ? tuple(TAG.poke, 0, list(g.effects)) : tuple(TAG.poke, 1, list(g.goofs.map(goofToNoun)));
    case "peek":
      if (!g.ok) return tuple(TAG.peek, 1, goofToNoun(g.goof));
      return tuple(TAG.peek, 0, unit(g.result === null ? null : cell(cord(g.result.mark), g.result.noun)));
    case "live":
      return cell(TAG.live, 0);
    case "quiz":
      if (g.kind === "quac") return tuple(TAG.quiz, TAG.quac, g.report);
      checkNumber(g.open, Number.MAX_SAFE_INTEGER, "open");
      checkNumber(g.idle, Number.MAX_SAFE_INTEGER, "idle");
      return tuple(TAG.quiz, TAG.quic, list([cell(TAG.open, g.open), cell(TAG.idle, g.idle)]));
    case "sync":
      checkNumber(g.eve, EVENT_NUMBER_MAX, "eve");
      checkNumber(g.mug, MUG_MAX, "mug");
      return tuple(TAG.sync, g.eve, g.mug);
    case "slog":
      checkNumber(g.priority, Number.MAX_SAFE_INTEGER, "priority");
      return tuple(TAG.slog, g.priority, g.tank);
    case "flog":
      return cell(TAG.flog, cord(g.text));
    case "plea":
      if (!g.ok) return tuple(TAG.plea, TAG.fail, goofToNoun(g.goof));
      checkNumber(g.length, Number.MAX_SAFE_INTEGER, "length");
      if (g.kind === "memfd") {
        checkNumber(g.fd, PLEA_FD_MAX, "fd");
        return tuple(TAG.plea, TAG.memfd, g.fd, g.length);
      }
      assert(g.name.length > 0, "a plea reply names its segment");
      return tuple(TAG.plea, cord(g.name), g.length);
    case "chop":
      if (!g.ok) return tuple(TAG.chop, 1, goofToNoun(g.goof));
      return tuple(TAG.chop, 0, cord(g.report));
  }
}

function checkNumber(v: number, max: number, what: string): void {
  assert(Number.isInteger(v) && v >= 0 && v <= max, `${what} ${v} is in 0..${max}`);
}

/**
 * Reads a gift noun from mars.
 * @throws PleaError (`IpcErrorCode.protocol`) for anything that is not one of the gifts above, and
 *   `protocol_unsupported` for a `%ripe` of another protocol version.
 */
export function parseGift(n: Noun): Gift {
  const c = readCell(n, "Gift");
  const tail = c.tail;
  switch (c.head) {
    case TAG.ripe: {
      const p = readCell(tail, "Gift %ripe");
      const version = readCell(p.head, "Gift %ripe, [pro kel]");
      if (version.head !== PROTOCOL_VERSION) {
        throw new PleaError(
          IpcErrorCode.protocol.unsupportedProtocol,
          `Gift %ripe: mars speaks protocol ${typeof version.head === "number" ? version.head : "(not a number)"}, this urth speaks only ${PROTOCOL_VERSION}: run a matching mars`,
        );
      }
      const q = readCell(p.tail, "Gift %ripe, [[who fake] eve mug]");
      const id = readCell(q.head, "Gift %ripe, [who fake]");
      const who = readAtom(id.head, "Gift %ripe, who");
      if (typeof who !== "number" && who.byteLength > SHIP_BYTES_MAX) {
        throw new PleaError(IpcErrorCode.protocol.outOfRange, `Gift %ripe, who: a ship of ${who.byteLength} bytes is above its limit of ${SHIP_BYTES_MAX}`);
      }
      const fake = readLoobean(id.tail, "Gift %ripe, fake");
      const r = readCell(q.tail, "Gift %ripe, [eve mug]");
      const eve = readNumber(r.head, EVENT_NUMBER_MAX, "Gift %ripe, eve");
      const mug = readNumber(r.tail, MUG_MAX, "Gift %ripe, mug");
      return { type: "ripe", kel: version.tail, who, fake, eve, mug };
    }
    case TAG.poke: {
      const p = readCell(tail, "Gift %poke");
      if (readLoobean(p.head, "Gift %poke, result")) {
        const effects = readList(p.tail, "Gift %poke, effects").map((e, i) => readCell(e, `Gift %poke, effect ${i}`));
        return { type: "poke", ok: true, effects };
      }
      const goofs = readList(p.tail, "Gift %poke, errors").map((g, i) => readGoof(g, `Gift %poke, error ${i}`));
      return { type: "poke", ok: false, goofs };
    }
    case TAG.peek: {
      const p = readCell(tail, "Gift %peek");
      if (!readLoobean(p.head, "Gift %peek, result")) return { type: "peek", ok: false, goof: readGoof(p.tail, "Gift %peek, error") };
      const u = readUnit(p.tail, "Gift %peek, (unit cask)");
      if (u === null) return { type: "peek", ok: true, result: null };
      const cask = readCell(u, "Gift %peek, cask");
      return { type: "peek", ok: true, result: { mark: readMote(cask.head, "Gift %peek, mark"), noun: cask.tail } };
    }
    case TAG.live:
      readNull(tail, "Gift %live");
      return { type: "live" };
    case TAG.quiz: {
      const p = readCell(tail, "Gift %quiz");
      if (p.head === TAG.quac) return { type: "quiz", kind: "quac", report: p.tail };
      if (p.head !== TAG.quic) throw unknownTag("Gift %quiz", p.head);
      const items = readList(p.tail, "Gift %quiz %quic");
      if (items.length !== 2) {
        throw new PleaError(IpcErrorCode.protocol.badShape, `Gift %quiz %quic: expected [[%open @] [%idle @] ~], got a list of ${items.length} items`);
      }
      const open = readCell(items[0], "Gift %quiz %quic, open");
      const idle = readCell(items[1], "Gift %quiz %quic, idle");
      if (open.head !== TAG.open) throw unknownTag("Gift %quiz %quic, first counter", open.head);
      if (idle.head !== TAG.idle) throw unknownTag("Gift %quiz %quic, second counter", idle.head);
      return {
        type: "quiz",
        kind: "quic",
        open: readNumber(open.tail, Number.MAX_SAFE_INTEGER, "Gift %quiz %quic, open"),
        idle: readNumber(idle.tail, Number.MAX_SAFE_INTEGER, "Gift %quiz %quic, idle"),
      };
    }
    case TAG.sync: {
      const p = readCell(tail, "Gift %sync");
      return { type: "sync", eve: readNumber(p.head, EVENT_NUMBER_MAX, "Gift %sync, eve"), mug: readNumber(p.tail, MUG_MAX, "Gift %sync, mug") };
    }
    case TAG.slog: {
      const p = readCell(tail, "Gift %slog");
      return { type: "slog", priority: readNumber(p.head, Number.MAX_SAFE_INTEGER, "Gift %slog, pri"), tank: p.tail };
    }
    case TAG.flog:
      return { type: "flog", text: readCord(tail, "Gift %flog") };
    case TAG.plea: {
      const p = readCell(tail, "Gift %plea");
      if (isCell(p.tail)) {
        if (p.head === TAG.memfd) {
          const m = p.tail;
          return { type: "plea", ok: true, kind: "memfd", fd: readNumber(m.head, PLEA_FD_MAX, "Gift %plea %memfd, fd"), length: readNumber(m.tail, Number.MAX_SAFE_INTEGER, "Gift %plea %memfd, len") };
        }
        if (p.head !== TAG.fail) throw unknownTag("Gift %plea failure", p.head);
        return { type: "plea", ok: false, goof: readGoof(p.tail, "Gift %plea %fail") };
      }
      const name = readAtom(p.head, "Gift %plea, nam");
      if (name === 0 || (typeof name !== "number" && name.byteLength > PLEA_NAME_BYTES_MAX)) {
        throw new PleaError(IpcErrorCode.protocol.outOfRange, `Gift %plea, nam: a segment name must be 1 to ${PLEA_NAME_BYTES_MAX} bytes`);
      }
      return { type: "plea", ok: true, name: readCord(name, "Gift %plea, nam"), length: readNumber(p.tail, Number.MAX_SAFE_INTEGER, "Gift %plea, len") };
    }
    case TAG.chop: {
      const p = readCell(tail, "Gift %chop");
      if (!readLoobean(p.head, "Gift %chop, result")) return { type: "chop", ok: false, goof: readGoof(p.tail, "Gift %chop, error") };
      const report = readAtom(p.tail, "Gift %chop, report");
      if (typeof report !== "number" && report.byteLength > CHOP_REPORT_BYTES_MAX) {
        throw new PleaError(IpcErrorCode.protocol.outOfRange, `Gift %chop, report: ${report.byteLength} bytes is above its limit of ${CHOP_REPORT_BYTES_MAX}`);
      }
      return { type: "chop", ok: true, report: readCord(report, "Gift %chop, report") };
    }
    default:
      throw unknownTag("Gift", c.head);
  }
}

