/**
 * The writing side of the read view (docs/read-view.md): mars's log calls it inside the write
 * transaction of each event's record, so that the view's head always equals the last durable
 * event and a reader's snapshot never holds half an event. The log knows no kernel: what changed
 * comes as a `ViewChanges` list, and the log says which blob holds a large atom (`BlobOf`).
 */
import type { Database, RootDatabase } from "lmdb";
import { BigAtom, toBytes } from "../noun/atom.ts";
import { Cell } from "../noun/cell.ts";
import { mug } from "../noun/mug.ts";
import type { Noun } from "../noun/noun.ts";
import type { ViewChanges } from "./view-change.ts";
import {
  viewTypeFits,
  decodeDeskEntry,
  deskKey,
  encodeDeskEntry,
  encodeViewFile,
  encodeViewHead,
  fileKey,
  spurRange,
  VIEW_HEAD_KEY,
  VIEW_KEY_BYTES_MAX,
  VIEW_TABLE_DESKS,
  VIEW_TABLE_FILES,
  VIEW_TABLE_HEAD,
  decodeViewHead,
  scratchBytes,
  type ViewHead,
} from "./view-format.ts";

/** The blob that holds a large atom's bytes (its record names it), or undefined: keep it inline. */
export type BlobOf = (atom: BigAtom) => { readonly name: string; readonly byteLength: number } | undefined;

export interface ViewTables {
  readonly files: Database<Uint8Array, Buffer>;
  readonly desks: Database<Uint8Array, Buffer>;
  readonly head: Database<Uint8Array, string>;
}

/** Opens (creating) the view's tables in the writer's environment. */
export function openViewTables(env: RootDatabase): ViewTables {
  return {
    files: env.openDB<Uint8Array, Buffer>({ name: VIEW_TABLE_FILES, keyEncoding: "binary", encoding: "binary" }),
    desks: env.openDB<Uint8Array, Buffer>({ name: VIEW_TABLE_DESKS, keyEncoding: "binary", encoding: "binary" }),
    head: env.openDB<Uint8Array, string>({ name: VIEW_TABLE_HEAD, encoding: "binary" }),
  };
}

/** The head the view shows, or undefined when there is none (a pier from before the view). */
export function readViewHead(t: ViewTables): ViewHead | undefined {
  const value = t.head.get(VIEW_HEAD_KEY);
  return value === undefined ? undefined : decodeViewHead(value, "head");
}

/**
 * Applies one event's changes and moves the head. Call inside the write transaction of the
 * event's record.
 */
export function applyViewChanges(t: ViewTables, changes: ViewChanges, head: ViewHead, blobOf: BlobOf): void {
  const incomplete = new Map<string, boolean>();
  for (const desk of changes.cleared) {
    const { start, end } = spurRange(desk, []);
    removeRange(t.files, start, end);
    incomplete.set(desk, false);
  }
  // Keys put in key order: LMDB then fills each leaf page before the next instead of splitting
  // pages all over the tree; for 100,000 new files the transaction took 1.3 s instead of 2.5 s
  // (measured). The sort is stable, so a later change of the same path still wins.
  const types = new Map<Noun, Uint8Array[]>();
  const bytes = scratchBytes();
  const keyed = changes.files.map((c) => ({ c, key: fileKey(c.desk, elements(c.path)) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (const { c, key } of keyed) {
    if (key.length > VIEW_KEY_BYTES_MAX) {
      incomplete.set(c.desk, true);
      continue;
    }
    if ("deleted" in c) {
      t.files.remove(key);
      continue;
    }
    // Files of one event mostly share one mime type noun (urth's `/text/plain`).
    let type = types.get(c.type);
    if (type === undefined) types.set(c.type, (type = elements(c.type)));
    if (!viewTypeFits(type)) {
      // The kernel took this file (any mime type is a path); the view cannot hold its type. It is
      // left out, as a path too long for a key is, and the desk says so: never an error inside
      // the record's transaction, which would refuse the event and every one after it.
      t.files.remove(key);
      incomplete.set(c.desk, true);
      continue;
    }
    t.files.put(key, encodeViewFile({ type, len: c.len, mug: mug(c.data), ...dataOf(c.data, blobOf) }, bytes));
  }
  for (const d of changes.desks) {
    const key = deskKey(d.desk);
    const before = t.desks.get(key);
    const was = before === undefined ? false : decodeDeskEntry(before, `entry of desk %${d.desk}`).incomplete;
    t.desks.put(key, encodeDeskEntry({ files: d.files, bytes: d.bytes, incomplete: incomplete.get(d.desk) ?? was }));
  }
  t.head.put(VIEW_HEAD_KEY, encodeViewHead(head));
}

/**
 * Replaces the whole view with `changes` (every desk's files and totals) at `head`: mars's rebuild
 * of a view that is missing or stale. Call inside one write transaction.
 */
export function rewriteView(t: ViewTables, changes: ViewChanges, head: ViewHead, blobOf: BlobOf): void {
  for (const db of [t.files, t.desks]) removeRange(db, undefined, undefined);
  applyViewChanges(t, changes, head, blobOf);
}

/** Removes the keys in [start, end) (all when undefined): listed first, then removed. */
function removeRange(db: Database<Uint8Array, Buffer>, start: Buffer | undefined, end: Buffer | undefined): void {
  const keys = [...db.getKeys(start === undefined ? {} : { start, end })];
  for (const key of keys) db.remove(key as Buffer);
}

/** The bytes of each atom of a list (a path, a mime type). */
function elements(list: Noun): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = list; n instanceof Cell; n = n.tail) out.push(toBytes(n.head as number | BigAtom));
  return out;
}

function dataOf(data: number | BigAtom, blobOf: BlobOf): { inline: Uint8Array } | { blob: { name: string; byteLength: number } } {
  const blob = data instanceof BigAtom ? blobOf(data) : undefined;
  return blob === undefined ? { inline: toBytes(data) } : { blob: { name: blob.name, byteLength: blob.byteLength } };
}
