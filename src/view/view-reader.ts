/**
 * The reading side of the read view (docs/read-view.md): any process, or a Bun Worker, opens the
 * log's LMDB environment read-only, with no lock and no wait for mars, and reads the files of the
 * last durable event. Each `read` is one LMDB read snapshot: everything it returns is one event's
 * state, never half of one, never a mix of two (LMDB's MVCC; mars writes the view in the same
 * transaction as the event's record).
 *
 * Before LMDB maps the file, its meta pages get the same check as the log's own open
 * (lmdb-meta.ts): a damaged data.mdb is a typed error, never a SIGSEGV.
 *
 * mars's chop replaces data.mdb with a compacted copy (rename over it: docs/event-log.md,
 * "Retention"). A reader that kept the old file open would go on reading the old file's last
 * state forever, so each `read` stats data.mdb (one stat(2)) and reopens when its inode changed.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { open as openLmdb, type Database, type RootDatabase, type Transaction } from "lmdb";
import { PleaError } from "../error.ts";
import type { EventInfo } from "../ipc/event-info.ts";
import { ViewErrorCode } from "./errors.ts";
import { readLmdbHead } from "./lmdb-meta.ts";
import { loadInfo } from "./stored-info.ts";
import {
  decodeDeskEntry,
  decodeViewFile,
  decodeViewHead,
  deskKey,
  elementBytes,
  elementText,
  fileKey,
  LMDB_TABLES_MAX,
  LOG_TABLE_EVENTS,
  LOG_TABLE_INFO,
  pathOfFileKey,
  spurRange,
  VIEW_HEAD_KEY,
  VIEW_KEY_BYTES_MAX,
  VIEW_TABLE_DESKS,
  VIEW_TABLE_FILES,
  VIEW_TABLE_HEAD,
  type DeskTotals,
  type ViewFile,
  type ViewHead,
} from "./view-format.ts";

export type { ViewFile, ViewHead, DeskTotals } from "./view-format.ts";

/**
 * A reader checks data.mdb's meta pages while mars may be rewriting one (a write of a few hundred
 * bytes that a concurrent read can see half done): a failed check is retried this many times,
 * this far apart, before it counts as damage (as the log's read-only open does).
 */
const VIEW_META_CHECK_ATTEMPTS = 3;
const VIEW_META_RETRY_MS = 20;

/** One listed file. */
export interface ViewListing {
  readonly path: string[];
  readonly size: number;
}

/** One LMDB read snapshot: everything read through it is one durable state. */
export interface ViewTxn {
  /** The event whose state the view shows (the log's last: checked when the snapshot began). */
  head(): ViewHead;
  /** A desk's file count and total bytes; zeros for no desk. */
  desk(desk: string): DeskTotals;
  /** The files at or under `spur` (every file of the desk for `[]`), in the kernel's `/t` order. */
  list(desk: string, spur: readonly string[]): ViewListing[];
  /** The file at `path`, or undefined. */
  file(desk: string, path: readonly string[]): ViewFile | undefined;
  /** INFO of events `from..to`, in order (events without INFO left out), as `/plea/log` answers. */
  infos(from: number, to: number): EventInfo[];
}

interface Tables {
  readonly events: Database<Uint8Array, Buffer>;
  readonly infos: Database<unknown, Buffer>;
  readonly files: Database<Uint8Array, Buffer>;
  readonly desks: Database<Uint8Array, Buffer>;
  readonly head: Database<Uint8Array, string>;
}

/** The log's environment and the view's tables, read-only; undefined when there is no view. */
function openTables(dir: string): { env: RootDatabase; t: Tables; ino: number } | undefined {
  const data = join(dir, "data.mdb");
  if (!existsSync(data)) return undefined;
  const st = statSync(data);
  if (st.size === 0) return undefined;
  checkDataFile(data);
  let env: RootDatabase;
  try {
    env = openLmdb({ path: dir, maxDbs: LMDB_TABLES_MAX, readOnly: true });
  } catch (cause) {
    throw new PleaError(ViewErrorCode.lmdbDamaged, `Cannot open the event log at "${dir}" to read its view: ${(cause as Error).message}`, { cause });
  }
  try {
    // `create: false` is honoured by the package but missing from its types; a missing table
    // then opens as nothing.
    const existing = { create: false } as object;
    const open = <V>(name: string, encoding?: "binary") =>
      env.openDB<V, Buffer>({ name, keyEncoding: "binary", ...(encoding === undefined ? {} : { encoding }), ...existing }) as Database<V, Buffer> | undefined;
    const events = open<Uint8Array>(LOG_TABLE_EVENTS, "binary");
    const infos = open<unknown>(LOG_TABLE_INFO);
    const files = open<Uint8Array>(VIEW_TABLE_FILES, "binary");
    const desks = open<Uint8Array>(VIEW_TABLE_DESKS, "binary");
    const head = env.openDB<Uint8Array, string>({ name: VIEW_TABLE_HEAD, encoding: "binary", ...existing }) as Database<Uint8Array, string> | undefined;
    if (!events || !infos || !files || !desks || !head) {
      void env.close();
      return undefined;
    }
    return { env, t: { events, infos, files, desks, head }, ino: st.ino };
  } catch (e) {
    void env.close();
    throw e;
  }
}

export class ReadView {
  private closed = false;
  /** How many times a replaced data.mdb made this view reopen (tests). */
  reopened = 0;

  private constructor(
    private env: RootDatabase,
    private t: Tables,
    /** The log's directory, for messages. */
    readonly dir: string,
    /** data.mdb's inode when opened. */
    private ino: number,
  ) {}

  /**
   * Opens the pier's view read-only; undefined when the pier has no log yet, or a log without a
   * view (made before the view existed: starting mars builds it). Throws `view_lmdb_damaged`
   * when data.mdb fails its meta-page check.
   */
  static open(pier: string): ReadView | undefined {
    const dir = join(pier, ".urb", "log");
    const opened = openTables(dir);
    return opened === undefined ? undefined : new ReadView(opened.env, opened.t, dir, opened.ino);
  }

  /** Opens the environment again if data.mdb is another file than the one open (a chop's compaction). */
  private followReplacement(): void {
    let ino: number;
    try {
      ino = statSync(join(this.dir, "data.mdb")).ino;
    } catch {
      return; // never missing for long: it is replaced by rename
    }
    if (ino === this.ino) return;
    // The old environment goes first: the package shares one environment per path in a process.
    void this.env.close();
    const opened = openTables(this.dir);
    if (opened === undefined) throw new PleaError(ViewErrorCode.stale, `The event log "${this.dir}" was replaced by one without a read view: restart urth to rebuild it`);
    this.env = opened.env;
    this.t = opened.t;
    this.ino = opened.ino;
    this.reopened++;
  }

  /**
   * Runs `fn` on one read snapshot of the latest commit. Throws `view_stale` when the view's head
   * is not the log's last event (mars has not rebuilt it yet: restarting urth does).
   */
  read<T>(fn: (v: ViewTxn) => T): T {
    if (this.closed) throw new PleaError(ViewErrorCode.usage, `The read view of "${this.dir}" is closed`);
    this.followReplacement();
    // The package keeps a read transaction between calls: reset it so this one sees the latest commit.
    this.env.resetReadTxn();
    const txn = this.env.useReadTransaction();
    try {
      return fn(new SnapshotTxn(this.t, txn, this.dir));
    } finally {
      txn.done();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.env.close();
  }
}

class SnapshotTxn implements ViewTxn {
  private readonly at: { readonly transaction: Transaction };
  private readonly shown: ViewHead;

  constructor(
    private readonly t: Tables,
    transaction: Transaction,
    private readonly dir: string,
  ) {
    this.at = { transaction };
    this.shown = this.checkHead();
  }

  head(): ViewHead {
    return this.shown;
  }

  desk(desk: string): DeskTotals {
    const value = this.t.desks.get(deskKey(desk), this.at);
    if (value === undefined) return { files: 0, bytes: 0 };
    const { files, bytes } = decodeDeskEntry(value, `entry of desk %${desk} in "${this.dir}"`);
    return { files, bytes };
  }

  list(desk: string, spur: readonly string[]): ViewListing[] {
    this.checkComplete(desk);
    const out: ViewListing[] = [];
    const range = spurRange(desk, spur.map(elementBytes));
    // No key is longer than an LMDB key may be: under a longer prefix there is nothing (and the
    // package would throw its own untyped error for the range).
    if (range.start.length > VIEW_KEY_BYTES_MAX) return out;
    for (const { key, value } of this.t.files.getRange({ ...range, ...this.at })) {
      const where = `entry of a file of desk %${desk} in "${this.dir}"`;
      const path = pathOfFileKey(key as Buffer, desk, where).map(elementText);
      out.push({ path, size: decodeViewFile(value, where).len });
    }
    return out;
  }

  file(desk: string, path: readonly string[]): ViewFile | undefined {
    this.checkComplete(desk);
    const value = this.t.files.get(fileKey(desk, path.map(elementBytes)), this.at);
    if (value === undefined) return undefined;
    const f = decodeViewFile(value, `entry of /${desk}/${path.join("/")} in "${this.dir}"`);
    // The bytes outlive the snapshot: a copy, not a view of the package's buffer.
    return f.inline === undefined ? f : { ...f, inline: f.inline.slice() };
  }

  infos(from: number, to: number): EventInfo[] {
    const out: EventInfo[] = [];
    const first = Math.max(1, from);
    if (to < first) return out;
    for (const { key, value } of this.t.infos.getRange({ start: eventKey(first), end: eventKey(to + 1), ...this.at })) {
      const info = loadInfo(eventOfKey(key as Buffer), value);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  /** The view's head, checked against the log's last event in the same snapshot. */
  private checkHead(): ViewHead {
    const value = this.t.head.get(VIEW_HEAD_KEY, this.at);
    const last = lastEvent(this.t.events, this.at);
    if (value === undefined) throw stale(this.dir, `it has no head yet, and the log is at event ${last?.eve ?? 0}`);
    const head = decodeViewHead(value, `head in "${this.dir}"`);
    const lastEve = last?.eve ?? 0;
    if (head.eve !== lastEve) throw stale(this.dir, `it shows event ${head.eve}, and the log is at event ${lastEve}`);
    if (last !== undefined && last.mug !== head.mug) {
      throw stale(this.dir, `it shows event ${head.eve} with mug 0x${head.mug.toString(16)}, and the log's event ${lastEve} has mug 0x${last.mug.toString(16)}`);
    }
    return head;
  }

  private checkComplete(desk: string): void {
    const value = this.t.desks.get(deskKey(desk), this.at);
    if (value === undefined || !decodeDeskEntry(value, `entry of desk %${desk} in "${this.dir}"`).incomplete) return;
    throw new PleaError(
      ViewErrorCode.incomplete,
      `The read view of "${this.dir}" does not hold every file of desk %${desk}: a file's path (over ${VIEW_KEY_BYTES_MAX} bytes) or mime type was too long for it, so a running urth cannot list or read this desk. Stop urth and run the command again (a stopped pier's reads ask mars), or shorten that path and commit`,
    );
  }
}

function stale(dir: string, finding: string): PleaError {
  return new PleaError(ViewErrorCode.stale, `The read view of the event log "${dir}" is stale: ${finding}. Restart urth to rebuild it`);
}

/** Checks data.mdb's meta pages (retrying a check that may have met a write in progress). */
function checkDataFile(file: string): void {
  const damaged = (f: string, finding: string, cause?: unknown) =>
    new PleaError(
      ViewErrorCode.lmdbDamaged,
      `The event log's data file "${f}" is damaged: ${finding}. LMDB keeps no checksums, so its view is not read (it could crash the reader); stop urth and start it again to have mars check the log, or restore the pier from a backup`,
      { cause },
    );
  for (let attempt = 1; ; attempt++) {
    try {
      readLmdbHead(file, damaged);
      return;
    } catch (e) {
      if (attempt >= VIEW_META_CHECK_ATTEMPTS) throw e;
      Bun.sleepSync(VIEW_META_RETRY_MS);
    }
  }
}

const TWO_32 = 4294967296;

/** EVENTS and INFO keys: the event number, 8 bytes big-endian (docs/event-log.md, "Records"). */
function eventKey(eve: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32BE(Math.floor(eve / TWO_32), 0);
  key.writeUInt32BE(eve % TWO_32 >>> 0, 4);
  return key;
}

function eventOfKey(key: Uint8Array): number {
  const view = new DataView(key.buffer, key.byteOffset, key.length);
  return key.length === 8 ? view.getUint32(0) * TWO_32 + view.getUint32(4) : 0;
}

/**
 * The log's last event and the mug its record starts with (u32 little-endian at byte 0: the
 * record format, docs/event-log.md "Records"); undefined for an empty log.
 */
function lastEvent(events: Database<Uint8Array, Buffer>, at: { transaction: Transaction }): { eve: number; mug: number } | undefined {
  // The key only, then the record without a copy: the last record may be an inline event of up
  // to 1 MiB, and this runs for every read.
  for (const key of events.getKeys({ reverse: true, limit: 1, ...at })) {
    // The package's types omit the options (`transaction`) its `getBinaryFast` takes, as `get` does.
    const fast = events.getBinaryFast as unknown as (this: typeof events, id: Buffer, options: object) => Buffer | undefined;
    const value = fast.call(events, key as Buffer, at);
    const mug = value !== undefined && value.length >= 4 ? new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true) : 0;
    return { eve: eventOfKey(key as Buffer), mug };
  }
  return undefined;
}
