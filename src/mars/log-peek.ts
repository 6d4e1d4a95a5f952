/**
 * mars's answers to Plea's log peeks, `/plea/mug/EVE` and `/plea/log/FROM/TO` (docs/ipc.md,
 * "Peeks"): read from mars's own event log, which no other process opens. The kernel never sees
 * these paths.
 */
import { isPleaError } from "../error.ts";
import { IpcErrorCode } from "../ipc/errors.ts";
import { eventInfoToNoun } from "../ipc/event-info.ts";
import type { Gift } from "../ipc/gift.ts";
import { goof } from "../ipc/goof.ts";
import { parseLogPeekPath, PEEK_MARK, type LogPeek } from "../ipc/peek-path.ts";
import { list, type Noun } from "../noun/index.ts";
import type { EventLog } from "./log/event-log.ts";

type PeekGift = Extract<Gift, { type: "peek" }>;

/**
 * What mars answers beyond its log: `/plea/du` needs the kernel's state and the pier's files,
 * `/plea/at` a state rebuilt at an older event. mars.ts passes them in.
 */
export interface MarsPeeks {
  du(): PeekGift | Promise<PeekGift>;
  at(eve: number, path: Noun): PeekGift | Promise<PeekGift>;
}

/** The `%peek` gift answering a `/plea/...` path: the cask, `~`, or a `%bad-peek` goof. */
export async function answerLogPeek(log: EventLog, path: Noun, mars?: MarsPeeks): Promise<PeekGift> {
  let peek: LogPeek;
  try {
    peek = parseLogPeekPath(path);
  } catch (e) {
    if (isPleaError(e, IpcErrorCode.protocol)) return { type: "peek", ok: false, goof: goof("bad-peek", e.message) };
    throw e;
  }
  const last = log.eve;
  if (peek.kind === "du" || peek.kind === "at") {
    if (mars === undefined) return { type: "peek", ok: false, goof: goof("bad-peek", `this mars does not answer /plea/${peek.kind}`) };
    return peek.kind === "du" ? mars.du() : mars.at(peek.eve, peek.path);
  }
  if (peek.kind === "mug") {
    if (peek.eve > last) return { type: "peek", ok: true, result: null };
    return { type: "peek", ok: true, result: { mark: PEEK_MARK.mug, noun: log.mugAt(peek.eve) } };
  }
  const infos = peek.from > last ? [] : log.info(peek.from, Math.min(peek.to, last));
  return { type: "peek", ok: true, result: { mark: PEEK_MARK.log, noun: list(infos.map(eventInfoToNoun)) } };
}
