/**
 * The built-in kernel: a desk file store in the spirit of Clay (docs/kernel.md).
 *
 * Its state is one noun (state.ts):
 *
 *   state = [%fs 1 desks=(map @tas desk)]
 *   desk  = [files=@ud bytes=@ud tree=(map path mime)]
 *   mime  = [type=path len=@ud data=@]
 *
 * `(map ...)` is Hoon's treap (hoon-map.ts), so an event costs O(log n) per file it touches and
 * the mug of the new state costs only the cells it built. `files` and `bytes` are kept in the desk
 * so the desk's totals are O(1). `len` is the file's length in bytes: an atom drops trailing zero
 * bytes, `len` restores them. `data` is kept as it arrived (a zero-copy view into a mapping stays
 * one: see owners.ts).
 */
import { cell, Cell } from "../../noun/cell.ts";
import { BigAtom, cord, cordToString } from "../../noun/atom.ts";
import { list, type Noun } from "../../noun/noun.ts";
import { mug } from "../../noun/mug.ts";
import { assert, isPleaError } from "../../error.ts";
import type { Kernel, PeekResult, PokeDone, PokeResult } from "./kernel.ts";
import { EMPTY_MAP, mapApply, mapForEach, mapGet, mapPut } from "./hoon-map.ts";
import { desksOf, emptyFileStoreState, readDesk, readMime, stateOf } from "./state.ts";
import { IpcErrorCode } from "../../ipc/errors.ts";
import { cardTag, isInto, readInto } from "../../ipc/into.ts";
import { addOwnerDelta, OwnerCounts, ownerOf, unpin, unpinPath } from "./owners.ts";
import { peekDesks } from "./peek.ts";
import type { ViewChanges, ViewFileChange } from "../../view/view-change.ts";

const BAD_EVENT = cord("bad-event");

/** What one `%into` did, for status lines. */
export interface IntoSummary {
  readonly added: number;
  readonly changed: number;
  readonly deleted: number;
}

export interface FileStorePokeDone extends PokeDone {
  readonly summary: IntoSummary;
  /** The state the event was applied to: `commit` checks it is still the current one. */
  readonly base: Noun;
  /** What the event changed, for the read view mars's log writes with it (docs/read-view.md). */
  readonly view: ViewChanges;
}

/**
 * Applies an `%into` to a state. Pure: returns the new state, or throws `IpcErrorCode.event.malformed` (the state given
 * is never modified; nouns are immutable).
 */
export function applyInto(state: Noun, ovum: Noun): { state: Noun; owners: Map<unknown, number>; summary: IntoSummary; view: ViewChanges } {
  const desks = desksOf(state);
  const into = readInto(ovum);
  const deskName = unpin(into.desk);
  const owners = new Map<unknown, number>();
  const old = mapGet(desks, deskName);
  let { files, bytes, tree } = old === undefined ? { files: 0, bytes: 0, tree: EMPTY_MAP } : readDesk(old);
  if (into.all) {
    // The desk becomes exactly what this event adds: release everything it held.
    mapForEach(tree, (_path, mime) => addOwnerDelta(owners, ownerOf(readMime(mime).data), -1));
    files = 0;
    bytes = 0;
    tree = EMPTY_MAP;
  }
  let added = 0;
  let changed = 0;
  let deleted = 0;
  const ops = into.changes.map((c) => ({
    key: unpinPath(c.path),
    value: c.kind === "del" ? undefined : keptMime(c.type, c.len, c.data),
    len: c.kind === "del" ? 0 : c.len,
  }));
  tree = mapApply(tree, files, ops, (op, prev) => {
    if (prev !== undefined) {
      const p = readMime(prev);
      files--;
      bytes -= p.len;
      addOwnerDelta(owners, ownerOf(p.data), -1);
    }
    const { value, len } = op as (typeof ops)[number];
    if (value === undefined) {
      if (prev !== undefined) deleted++;
      return;
    }
    files++;
    bytes += len;
    addOwnerDelta(owners, ownerOf(readMime(value).data), +1);
    if (prev === undefined) added++;
    else changed++;
  });
  const desk = new Cell(files, new Cell(bytes, tree));
  // The view takes the event's own atoms (not the kept copies): a large one's blob is the one the
  // event's record names.
  const deskText = cordToString(deskName as number | BigAtom);
  const viewFiles: ViewFileChange[] = into.changes.map((c) =>
    c.kind === "del" ? { desk: deskText, path: c.path, deleted: true } : { desk: deskText, path: c.path, type: c.type, len: c.len, data: c.data as number | BigAtom },
  );
  const view: ViewChanges = { cleared: into.all ? [deskText] : [], files: viewFiles, desks: [{ desk: deskText, files, bytes }] };
  return { state: stateOf(mapPut(desks, deskName, desk)), owners, summary: { added, changed, deleted }, view };
}

/**
 * The mime `[type len data]` as stored: small views into a mapping copied to the heap, large ones
 * kept as they are (a zero-copy view stays one).
 */
function keptMime(type: Noun, len: number, data: number | BigAtom): Cell {
  return new Cell(unpinPath(type), new Cell(len, unpin(data)));
}

/** A goof `[%bad-event tang]` whose tang is the message as one cord (a cord is a tank). */
export function badEventGoof(message: string): Noun {
  return cell(BAD_EVENT, list([cord(message)]));
}

export class FileStoreKernel implements Kernel {
  private current: Noun;
  private readonly counts = new OwnerCounts();

  /** From a loaded state (checked), or empty. */
  constructor(state?: Noun) {
    this.current = state ?? emptyFileStoreState();
    const desks = desksOf(this.current);
    // A state built in this process may hold views (tests, or a kernel handed over in memory).
    const delta = new Map<unknown, number>();
    mapForEach(desks, (_name, desk) => {
      mapForEach(readDesk(desk).tree, (_path, mime) => addOwnerDelta(delta, ownerOf(readMime(mime).data), +1));
    });
    this.counts.apply(delta);
  }

  get state(): Noun {
    return this.current;
  }

  poke(_now: Noun, ovum: Noun): PokeResult {
    if (!isInto(ovum)) {
      const tag = cardTag(ovum);
      return { ok: false, goof: badEventGoof(`Plea's file store handles only %into events; got ${tag === undefined ? "a card it cannot read" : `%${tag}`}`) };
    }
    try {
      const { state, owners, summary, view } = applyInto(this.current, ovum);
      const done: FileStorePokeDone = { ok: true, state, effects: 0, owners, summary, base: this.current, view };
      return done;
    } catch (e) {
      if (isPleaError(e, IpcErrorCode.event.malformed)) return { ok: false, goof: badEventGoof(`Malformed %into: ${e.message}`) };
      throw e;
    }
  }

  commit(done: PokeDone): void {
    const base = (done as Partial<FileStorePokeDone>).base;
    assert(base === undefined || base === this.current, "a poke result was committed on a state it was not computed from");
    this.current = done.state;
    this.counts.apply(done.owners);
  }

  peek(path: Noun): PeekResult {
    return peekDesks(desksOf(this.current), path);
  }

  mug(): number {
    return mug(this.current);
  }

  owners(): ReadonlySet<unknown> {
    return this.counts.owners();
  }

  forgetOwner(owner: unknown): void {
    this.counts.forget(owner);
  }
}

/** The `KernelFactory` of the file store. */
export function createFileStoreKernel(state?: Noun): FileStoreKernel {
  return new FileStoreKernel(state);
}
