/**
 * urth's reads of mars's file store, through `%peek` (the kernel's peek paths: docs/kernel.md).
 * Each turns the `(unit cask)` answer into plain data and every surprise into a typed error.
 */
import { PleaError } from "../error.ts";
import { goofToText } from "../ipc/goof.ts";
import { pathFromNoun, readList, readNumber } from "../ipc/shape.ts";
import { isCell, type Cell, type Noun } from "../noun/index.ts";
import { peekPath } from "../mars/kernel/peek.ts";
import type { MarsProcess } from "./mars-process.ts";
import { MOUNT_DESK } from "./pier.ts";

export const PeekErrorCode = {
  failed: "peek_failed",
  shape: "peek_shape",
  /** A file changed or vanished between two pieces of one `cat`. */
  changed: "peek_changed",
} as const;

export class PeekError extends PleaError {}

export interface CommittedFile {
  path: string[];
  size: number;
}

async function peekCask(mars: MarsProcess, path: Noun, mark: string): Promise<Noun | undefined> {
  const r = await mars.peek({ kind: "path", path });
  if (!r.ok) throw new PeekError(PeekErrorCode.failed, `mars could not answer the peek: ${goofToText(r.goof)}`);
  if (r.result === null) return undefined;
  if (r.result.mark !== mark) throw new PeekError(PeekErrorCode.shape, `mars answered a peek with a %${r.result.mark} cask; expected %${mark}.`);
  return r.result.noun;
}

/** Every committed file of the desk under `spur`, with its size, sorted by path. */
export async function listFiles(mars: MarsProcess, spur: readonly string[] = [], desk = MOUNT_DESK): Promise<CommittedFile[]> {
  const noun = await peekCask(mars, peekPath("t", desk, spur), "plea-list");
  if (noun === undefined) return [];
  return readList(noun, "listing").map((item) => {
    if (!isCell(item)) throw new PeekError(PeekErrorCode.shape, "A listing item is not [path len].");
    return { path: pathFromNoun(item.head, "listing path"), size: readNumber(item.tail, Number.MAX_SAFE_INTEGER, "listing len") };
  });
}

/** The desk's file count and total bytes. */
export async function deskTotals(mars: MarsProcess, desk = MOUNT_DESK): Promise<{ files: number; bytes: number }> {
  const noun = await peekCask(mars, peekPath("d", desk), "plea-desk");
  if (noun === undefined || !isCell(noun)) return { files: 0, bytes: 0 };
  return { files: readNumber(noun.head, Number.MAX_SAFE_INTEGER, "files"), bytes: readNumber(noun.tail, Number.MAX_SAFE_INTEGER, "bytes") };
}

/** A committed file: its mime type, length and data atom, or undefined if there is none. */
export async function readFile(mars: MarsProcess, path: readonly string[], desk = MOUNT_DESK): Promise<{ type: string[]; len: number; data: Noun } | undefined> {
  const noun = await peekCask(mars, peekPath("x", desk, path), "mime");
  if (noun === undefined) return undefined;
  // [type len data]
  if (!isCell(noun) || !isCell(noun.tail)) throw new PeekError(PeekErrorCode.shape, "A file's cask is not [type len data].");
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

/** Bytes [offset, offset + length) of a committed file (`/r` peek), or undefined if none. */
export async function readFileRange(mars: MarsProcess, path: readonly string[], offset: number, length: number, desk = MOUNT_DESK): Promise<FileRange | undefined> {
  const noun = await peekCask(mars, peekPath("r", desk, [String(offset), String(length), ...path]), "plea-range");
  if (noun === undefined) return undefined;
  // [type len mug slice]
  if (!isCell(noun) || !isCell(noun.tail) || !isCell(noun.tail.tail)) throw new PeekError(PeekErrorCode.shape, "A file range's cask is not [type len mug slice].");
  const rest = noun.tail as Cell;
  const more = rest.tail as Cell;
  return {
    len: readNumber(rest.head, Number.MAX_SAFE_INTEGER, "len"),
    mug: readNumber(more.head, 0xffff_ffff, "mug"),
    data: more.tail,
  };
}
