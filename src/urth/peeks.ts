/**
 * urth's reads of mars, through `%peek`: the file store (the kernel's paths, docs/kernel.md) and
 * mars's event log (Plea's `/plea/...` paths, docs/ipc.md "Peeks"). A running urth's read worker
 * reads the same from the read view instead (view-reads.ts, docs/read-view.md).
 * Each turns the `(unit cask)` answer into plain data and every surprise into a typed error.
 */
import { PleaError } from "../error.ts";
import { readEventInfo, type EventInfo } from "../ipc/event-info.ts";
import { goofToText, tangToLines } from "../ipc/goof.ts";
import { logPeekPath, PEEK_MARK, peekPath } from "../ipc/peek-path.ts";
import { pathFromNoun, readList, readNumber } from "../ipc/shape.ts";
import { isCell, type Cell, type Noun } from "../noun/index.ts";
import type { MarsProcess } from "./mars-process.ts";
import { UrthErrorCode } from "./errors.ts";
import { MOUNT_DESK } from "./pier.ts";

/** The mote of mars's answer to a `/plea/at` peek of an event it does not hold. */
const NOT_RETAINED = "plea-not-retained";

export interface CommittedFile {
  path: string[];
  size: number;
}

/**
 * `path` as asked of the state after event `at` (`/plea/at/EVE/...`, docs/ipc.md "Peeks"), or of
 * the latest state when `at` is undefined.
 */
function historical(path: Noun, at: number | undefined): Noun {
  return at === undefined ? path : logPeekPath({ kind: "at", eve: at, path });
}

async function peekCask(mars: MarsProcess, path: Noun, mark: string): Promise<Noun | undefined> {
  const r = await mars.peek({ kind: "path", path });
  if (!r.ok) {
    // mars's sentence names the events it holds: it is the whole message.
    if (r.goof.mote === NOT_RETAINED) throw new PleaError(UrthErrorCode.peek.notRetained, tangToLines(r.goof.tang).join("; "));
    throw new PleaError(UrthErrorCode.peek.failed, `mars could not answer the peek: ${goofToText(r.goof)}`);
  }
  if (r.result === null) return undefined;
  if (r.result.mark !== mark) throw new PleaError(UrthErrorCode.peek.shape, `mars answered a peek with a %${r.result.mark} cask; expected %${mark}`);
  return r.result.noun;
}

/** Every committed file of the desk under `spur`, with its size, sorted by path (after event `at`, if given). */
export async function listFiles(mars: MarsProcess, spur: readonly string[] = [], desk = MOUNT_DESK, at?: number): Promise<CommittedFile[]> {
  const noun = await peekCask(mars, historical(peekPath("t", desk, spur), at), PEEK_MARK.list);
  if (noun === undefined) return [];
  return readList(noun, "listing").map((item) => {
    if (!isCell(item)) throw new PleaError(UrthErrorCode.peek.shape, "A listing item is not [path len]");
    return { path: pathFromNoun(item.head, "listing path"), size: readNumber(item.tail, Number.MAX_SAFE_INTEGER, "listing len") };
  });
}

/** The desk's file count and total bytes. */
export async function deskTotals(mars: MarsProcess, desk = MOUNT_DESK): Promise<{ files: number; bytes: number }> {
  const noun = await peekCask(mars, peekPath("d", desk), PEEK_MARK.desk);
  if (noun === undefined || !isCell(noun)) return { files: 0, bytes: 0 };
  return { files: readNumber(noun.head, Number.MAX_SAFE_INTEGER, "files"), bytes: readNumber(noun.tail, Number.MAX_SAFE_INTEGER, "bytes") };
}

/** A committed file: its mime type, length and data atom, or undefined if there is none. */
export async function readFile(mars: MarsProcess, path: readonly string[], desk = MOUNT_DESK): Promise<{ type: string[]; len: number; data: Noun } | undefined> {
  const noun = await peekCask(mars, peekPath("x", desk, path), PEEK_MARK.mime);
  if (noun === undefined) return undefined;
  // [type len data]
  if (!isCell(noun) || !isCell(noun.tail)) throw new PleaError(UrthErrorCode.peek.shape, "A file's cask is not [type len data]");
  const rest = noun.tail as Cell;
  return { type: pathFromNoun(noun.head, "mime type"), len: readNumber(rest.head, Number.MAX_SAFE_INTEGER, "len"), data: rest.tail };
}


export interface FileRange {
  /** The file's whole length. */
  len: number;
  /** The mug of the whole file's atom: equal across pieces of one version of the file. */
  mug: number;
  /** The piece's bytes as the atom holds them: trailing zero bytes may be missing. */
  data: Noun;
}

/** Bytes [offset, offset + length) of a committed file (`/r` peek; after event `at`, if given), or undefined if none. */
export async function readFileRange(mars: MarsProcess, path: readonly string[], offset: number, length: number, desk = MOUNT_DESK, at?: number): Promise<FileRange | undefined> {
  const noun = await peekCask(mars, historical(peekPath("r", desk, [String(offset), String(length), ...path]), at), PEEK_MARK.range);
  if (noun === undefined) return undefined;
  // [type len mug slice]
  if (!isCell(noun) || !isCell(noun.tail) || !isCell(noun.tail.tail)) throw new PleaError(UrthErrorCode.peek.shape, "A file range's cask is not [type len mug slice]");
  const rest = noun.tail as Cell;
  const more = rest.tail as Cell;
  return {
    len: readNumber(rest.head, Number.MAX_SAFE_INTEGER, "len"),
    mug: readNumber(more.head, 0xffff_ffff, "mug"),
    data: more.tail,
  };
}

/** The mug mars stored with event `eve` (its state's after it), or undefined if its log does not hold it. */
export async function eventMug(mars: MarsProcess, eve: number): Promise<number | undefined> {
  const noun = await peekCask(mars, logPeekPath({ kind: "mug", eve }), PEEK_MARK.mug);
  return noun === undefined ? undefined : readNumber(noun, 0xffff_ffff, "mug");
}

/**
 * The INFO of events `from..to` (at most LOG_PEEK_EVENTS_MAX of them: one peek), in order; events
 * whose INFO is missing are left out, as the log leaves them out.
 */
export async function eventInfos(mars: MarsProcess, from: number, to: number): Promise<EventInfo[]> {
  const noun = await peekCask(mars, logPeekPath({ kind: "log", from, to }), PEEK_MARK.log);
  if (noun === undefined) throw new PleaError(UrthErrorCode.peek.shape, `mars answered the INFO of events ${from}..${to} with ~`);
  const infos = readList(noun, "INFO list").map((n) => readEventInfo(n));
  let previous = from - 1;
  for (const info of infos) {
    if (info.eve <= previous || info.eve > to) throw new PleaError(UrthErrorCode.peek.shape, `mars answered the INFO of events ${from}..${to} with event ${info.eve}, out of order`);
    previous = info.eve;
  }
  return infos;
}
