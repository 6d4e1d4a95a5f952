/**
 * Mars's event log: LMDB records for every event, blob files for large ones (docs/event-log.md).
 *
 * One writer (mars) appends; other processes may open the log read-only at the same time (urth
 * reads only the read view and INFO, src/view/, docs/read-view.md). Each append writes the event's
 * changes to the read view in the same transaction as its record, so the view's head is always the
 * last durable event. `append` resolves only when the event is durable:
 * - the LMDB environment runs with `overlappingSync: false`, so each commit's `mdb_txn_commit`
 *   writes the pages, `fdatasync`s the data file and then writes the meta page through LMDB's
 *   O_DSYNC descriptor before the write promise resolves (verified with strace: docs/event-log.md);
 *   `append` also awaits `env.flushed`, which the package documents as "committed and flushed to
 *   disk";
 * - a large event's blob file is fsynced and renamed into place, and its directory fsynced, before
 *   the transaction naming it is even started.
 * A crash at any moment therefore leaves the whole event or none of it (a blob without its record
 * is an orphan, removed by the next `open`).
 *
 * Before LMDB maps anything, `open` checks what LMDB cannot (docs/event-log.md, "Start-up
 * recovery"): a log missing on a pier that has had events (log-presence.ts), a second writer
 * (log-lock.ts), damaged meta pages or a truncated file (lmdb-meta.ts), and a log that holds
 * fewer events than were made durable (head-marker.ts).
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { open as openLmdb, type Database, type RootDatabase } from "lmdb";
import { assert } from "../../error.ts";
import { cell } from "../../noun/cell.ts";
import { blobAtomBytesMin, blobDigestOf, BlobStore, blobNameOf, type BlobSource } from "../../blob/index.ts";
import type { BigAtom } from "../../noun/atom.ts";
import { cue, jamToSink } from "../../noun/index.ts";
import type { Noun } from "../../noun/noun.ts";
import { unixMillisFromDa } from "../../noun/da.ts";
import { makePrivateDir, PIER_FILE_MODE } from "../../pier/private-mode.ts";
import { cueBlob } from "./blob-reader.ts";
import { blobJamRefs, blobSubstitution, recordRefs, sourcesOf, storeLargeAtoms } from "./blob-refs.ts";
import { list } from "../../noun/noun.ts";
import { loadInfo, storeInfo, type EventInfo, type EventPath, type EventStorage } from "./event-info.ts";
import type { ViewChanges } from "../../view/view-change.ts";
import { LMDB_TABLES_MAX, LOG_TABLE_EVENTS, LOG_TABLE_INFO, VIEW_TABLE_DESKS, VIEW_TABLE_FILES, VIEW_TABLE_HEAD, type ViewHead } from "../../view/view-format.ts";
import { applyViewChanges, openViewTables, readViewHead, rewriteView, type ViewTables } from "../../view/view-writer.ts";
import { EventSink } from "./event-sink.ts";
import { HEAD_MARKER_FILE, HeadMarker, readHeadMarker, type ReadHead } from "./head-marker.ts";
import { blobFileName, logPaths, parseBlobFileName, type LogPaths } from "./layout.ts";
import { readLmdbHead } from "./lmdb-meta.ts";
import { LogError, LogErrorCode } from "./log-error.ts";
import { LogLock } from "./log-lock.ts";
import { checkLogPresent, LMDB_DATA_FILE } from "./log-presence.ts";
import { DEFAULT_META, firstValue, META_FIRST_KEY, metaEntries, readFirst, readMeta, type LogMeta } from "./meta.ts";
import { blobRecord, decodeRecord, eventFromKey, eventKey, LOG_INLINE_BYTES_MAX, RECORD_HEADER_BYTES, recordMug, recordPrefixBytes, sealInlineRecord, type DecodedRecord } from "./record.ts";
import { fsyncDirectory, LOG_JAM_CHUNK_BYTES, renameDurably } from "./streamed-file.ts";

/** LMDB tables (named databases) in the environment. */
const TABLE_EVENTS = LOG_TABLE_EVENTS;
const TABLE_INFO = LOG_TABLE_INFO;
const TABLE_BLOBS = "BLOBS";
const TABLE_META = "META";
/** Blob store names the log refers to: key the 32-byte SHA-256, value the first event (8 bytes BE) naming it. */
const TABLE_BOBS = "BOBS";

/**
 * A reader checks data.mdb's meta pages while the writer may be rewriting one (a write of a few
 * hundred bytes that a concurrent read can see half done): a failed check is retried this many
 * times, this far apart, before it counts as damage. The writer holds the lock and never retries.
 */
const READER_META_CHECK_ATTEMPTS = 3;
const READER_META_RETRY_MS = 20;

/**
 * Entries (per table) a start removes in one transaction when it finishes a chop a crash
 * interrupted (keys below META first): short transactions, as chop's own (retention.ts).
 */
const OPEN_FINISH_BATCH_KEYS = 4096;

/** Where `compact` writes LMDB's compacted copy, inside the log directory (a leftover is removed at open). */
export const LOG_COMPACT_DIR = "compact";

/** What `compact` did: sizes, times, and how long appends were held for the swap. */
export interface CompactResult {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Catch-up rounds beside appends (keys commits wrote during the copy, set in the copy). */
  readonly catchUps: number;
  readonly copyMs: number;
  /** How long appends were held: the last catch-up round and the swap (close, fsync, rename, reopen). */
  readonly holdMs: number;
  /** Where the hold went, ms: the last catch-up, the copy's fsync, closing the live environment, the rename, reopening. */
  readonly holdSteps: { catchUp: number; sync: number; close: number; rename: number; reopen: number };
  readonly totalMs: number;
}

export interface AppendInput {
  /** Must be the log's last event + 1: the caller numbers events, the log checks. */
  readonly eve: number;
  /** Mug of the kernel's state after the event. */
  readonly mug: number;
  /** The `@da` mars stamped the event with. */
  readonly now: Noun;
  readonly ovum: Noun;
  /** How the event reached mars (INFO, for `urth log`); "pipe" by default. */
  readonly path?: EventPath;
  /**
   * What INFO calls the event: the card's tag (`into`). The caller says, since the log does not
   * look into the ovum; "?" by default.
   */
  readonly kind?: string;
  readonly detail?: Readonly<Record<string, string | number>>;
  /**
   * What the event changes in the read view (docs/read-view.md), written with its record, which
   * moves the view's head to this event. Without it the head stays behind (the view is then stale
   * until mars rebuilds it): only mars, which knows the kernel, gives it.
   */
  readonly view?: ViewChanges;
}

export interface AppendResult {
  readonly eve: number;
  readonly jamBytes: number;
  readonly storage: EventStorage;
  /**
   * The event's atoms this append wrote to the blob store, each with its blob: mars moves them
   * there (src/mars/settle.ts) so that their heap bytes or segment views can go.
   */
  readonly stored: ReadonlyMap<BigAtom, BlobSource>;
  /** Bytes of atoms the record refers to instead of holding (new blobs and existing ones). */
  readonly blobBytes: number;
}

export interface ReplayedEvent {
  readonly eve: number;
  /** The mug stored with the event (0 = not checked, as vere's boot events). */
  readonly mug: number;
  /** `[now ovum]`. */
  readonly job: Noun;
  readonly jamBytes: number;
  /** Whether its jam was kept inline in LMDB or in a blob file. */
  readonly storage: EventStorage;
}

export interface OpenLogOptions {
  /** Open for reading only: no recovery, no appends (another process may be writing). */
  readonly readOnly?: boolean;
  /** META for a new log (default: ~zod, fake, life 0). */
  readonly meta?: LogMeta;
  /** Inline/blob threshold (tests lower it); LOG_INLINE_BYTES_MAX by default. */
  readonly inlineBytesMax?: number;
  /** Atoms of at least this many bytes go to the blob store; `blobAtomBytesMin()` by default. */
  readonly blobBytesMin?: number;
}

export class EventLog {
  readonly paths: LogPaths;
  readonly meta: LogMeta;
  readonly readOnly: boolean;
  /** What start-up recovery did (orphans removed), one sentence each. */
  readonly warnings: readonly string[];
  // Not readonly: `compact` swaps the environment for its compacted copy and reopens them.
  private env: RootDatabase;
  private events: Database<Uint8Array, Buffer>;
  private infos: Database<unknown, Buffer>;
  private blobs: Database<Uint8Array, Buffer>;
  private bobs: Database<Uint8Array, Buffer>;
  private metaDb: Database<Uint8Array, string>;
  /** The read view's tables (undefined for a reader: it reads them through src/view). */
  private view: ViewTables | undefined;
  /** The first event the log holds (META first; 1 for a log never chopped). */
  private firstEve: number;
  /**
   * While a chop runs: every blob name an append committed since `watchNames` began, with the first
   * event naming it (retention.ts reads it in its own transactions, so a name an event named while
   * it worked is neither dropped from BOBS nor removed).
   */
  private named: Map<string, number> | undefined;
  /** Appends whose transaction was issued and has not committed yet. */
  private txnsInFlight = 0;
  /** Set while `compact` swaps the environment: appends wait for it before issuing a transaction. */
  private swapping: Promise<void> | undefined;
  private readonly inlineBytesMax: number;
  /** The pier's blob store (docs/blob-store.md): large atoms live there, records name them. */
  readonly store: BlobStore;
  private readonly blobBytesMin: number;
  /** The writer's lock and head marker (undefined for a reader). */
  private readonly lock: LogLock | undefined;
  private readonly head: HeadMarker | undefined;
  /** Appends not yet settled: `close` waits for their head-marker writes. */
  private readonly writes = new Set<Promise<unknown>>();
  /** Last durable event. */
  private durableEve: number;
  /** Last event handed to `append` (durable or on its way). */
  private claimedEve: number;
  /** Resolves when the previous append has started its LMDB transaction. */
  private issued: Promise<void> = Promise.resolve();
  private failure: LogError | undefined;
  private closed = false;

  private constructor(
    paths: LogPaths,
    env: RootDatabase,
    tables: Tables,
    meta: LogMeta,
    first: number,
    eve: number,
    options: { readOnly: boolean; inlineBytesMax: number; blobBytesMin: number; store: BlobStore; warnings: string[]; lock?: LogLock; head?: HeadMarker },
  ) {
    this.paths = paths;
    this.env = env;
    this.events = tables.events;
    this.infos = tables.infos;
    this.blobs = tables.blobs;
    this.bobs = tables.bobs;
    this.metaDb = tables.metaDb;
    this.view = tables.view;
    this.firstEve = first;
    this.store = options.store;
    this.blobBytesMin = options.blobBytesMin;
    this.meta = meta;
    this.durableEve = eve;
    this.claimedEve = eve;
    this.readOnly = options.readOnly;
    this.inlineBytesMax = options.inlineBytesMax;
    this.warnings = options.warnings;
    this.lock = options.lock;
    this.head = options.head;
  }

  /**
   * Opens the pier's log, creating it if missing (unless read-only), and runs start-up recovery
   * (docs/event-log.md, "Start-up recovery"): a damaged or inconsistent log throws LogError naming
   * the event; orphan blobs are removed and listed in `warnings`.
   */
  static async open(pier: string, options: OpenLogOptions = {}): Promise<EventLog> {
    const paths = logPaths(pier);
    const readOnly = options.readOnly ?? false;
    const data = join(paths.log, LMDB_DATA_FILE);
    // A log gone from a pier that has had events is damage, not a new pier: refuse before creating anything.
    checkLogPresent(paths);
    let lock: LogLock | undefined;
    if (readOnly) {
      if (!existsSync(data) || statSync(data).size === 0) {
        throw new LogError(LogErrorCode.format, `There is no event log at "${paths.log}": mars has not run on this pier yet`);
      }
    } else {
      for (const dir of [paths.urb, paths.log, paths.blob, paths.chk]) makePrivateDir(dir);
      lock = LogLock.acquire(paths.log);
    }
    let env: RootDatabase;
    let marker: ReadHead | undefined;
    try {
      // The marker first: a writer commits LMDB before the marker, so a reader that reads them in
      // this order never sees the marker ahead of the log.
      marker = readHeadMarker(paths.log);
      if (existsSync(data) && statSync(data).size > 0) await checkDataFile(data, readOnly);
      // `permissionsMode` (the mode of data.mdb and lock.mdb) is honoured by the package but missing from its types.
      env = openLmdb({ path: paths.log, maxDbs: LMDB_TABLES_MAX, overlappingSync: false, readOnly, ...({ permissionsMode: PIER_FILE_MODE } as object) });
    } catch (cause) {
      lock?.release();
      if (cause instanceof LogError) throw cause;
      throw new LogError(LogErrorCode.format, `Cannot open the event log at "${paths.log}": ${(cause as Error).message}`, { cause });
    }
    let head: HeadMarker | undefined;
    try {
      const tables = openTables(env, readOnly);
      const { events, blobs, bobs, metaDb } = tables;
      const store = new BlobStore(pier);
      let meta: LogMeta;
      if (metaDb.get("plea-format") === undefined && metaDb.get("version") === undefined && !readOnly && firstKey(events) === undefined) {
        meta = options.meta ?? DEFAULT_META;
        await env.transaction(() => {
          for (const [key, value] of metaEntries(meta)) metaDb.put(key, value);
        });
        await env.flushed;
      } else {
        meta = readMeta((key) => metaDb.get(key), paths.log);
      }
      const first = readFirst(metaDb.get(META_FIRST_KEY), paths.log);
      const warnings: string[] = [];
      // A chop a crash interrupted left events below `first` (docs/event-log.md, "Retention"):
      // the writer finishes removing them; a reader accepts them and ignores them.
      if (!readOnly) await finishChop(env, tables, first, paths, warnings);
      const eve = checkContiguous(events, first, paths.log);
      const mugOf = (n: number) => (n === 0 || n < first ? 0 : recordMug(events.get(eventKey(n))!));
      // A marker is never behind `first` (a chop keeps the last durable event): its mug is checkable.
      if (marker !== undefined) checkHead(marker, eve, (n) => (n < first ? marker!.mug : mugOf(n)), paths);
      if (!readOnly) {
        recoverBlobs(paths, events, blobs, first, eve, warnings);
        checkStoredBlobs(store, bobs, paths);
        // The directories may be new: make their names durable before anything names a file in them.
        for (const dir of [paths.log, paths.blob, paths.chk, paths.urb, pier]) fsyncDirectory(dir);
        const now = { eve, mug: mugOf(eve) };
        if (marker === undefined) {
          head = await HeadMarker.create(paths.log, now);
          if (eve > 0) warnings.push(`Wrote the head marker "${join(paths.log, HEAD_MARKER_FILE)}" at event ${eve}: this log is from before Plea kept one.`);
        } else {
          head = await HeadMarker.open(paths.log, marker);
          // Events committed after the marker's last write (a crash came in between).
          await head.advance(now);
        }
      }
      // The read view's tables are made by the writer (a pier from before them gets them here; its
      // head stays missing until mars rebuilds the view).
      const view = readOnly ? undefined : openViewTables(env);
      return new EventLog(paths, env, { ...tables, view }, meta, first, eve, {
        readOnly,
        inlineBytesMax: options.inlineBytesMax ?? LOG_INLINE_BYTES_MAX,
        blobBytesMin: options.blobBytesMin ?? blobAtomBytesMin(),
        store,
        warnings,
        lock,
        head,
      });
    } catch (e) {
      await head?.close();
      await env.close();
      lock?.release();
      throw e;
    }
  }

  /** The last durable event (0 for an empty log). Read-only logs see the writer's latest commit. */
  get eve(): number {
    if (this.readOnly) {
      this.env.resetReadTxn();
      return lastKey(this.events) ?? 0;
    }
    return this.durableEve;
  }

  /**
   * The first event the log holds: 1, or after a chop the first event it kept (META first,
   * docs/event-log.md, "Retention"). Events `first..eve` are in the log. Read-only logs re-read it.
   */
  get first(): number {
    if (this.readOnly) {
      this.env.resetReadTxn();
      return readFirst(this.metaDb.get(META_FIRST_KEY), this.paths.log);
    }
    return this.firstEve;
  }

  /**
   * The mug stored with event `eve` (default: the last), unchecked; 0 for an empty log and for an
   * event not in it (beyond the last, or removed by a chop: below `first`).
   */
  mugAt(eve = this.eve): number {
    if (eve === 0 || eve < this.first) return 0;
    const value = this.events.get(eventKey(eve));
    return value === undefined ? 0 : recordMug(value);
  }

  /**
   * Appends one event and resolves when it is durable. Appends may be issued without awaiting the
   * previous one: they are written in order, and small ones issued together share a commit.
   * After any failure the log refuses further appends (mars should exit: its state is ahead of
   * the disk).
   */
  append(input: AppendInput): Promise<AppendResult> {
    if (this.readOnly) return Promise.reject(new LogError(LogErrorCode.usage, "This event log was opened read-only; only mars appends"));
    if (this.closed) return Promise.reject(new LogError(LogErrorCode.usage, "The event log is closed"));
    if (this.failure) return Promise.reject(this.failure);
    if (input.eve !== this.claimedEve + 1) {
      return Promise.reject(
        new LogError(LogErrorCode.usage, `Event ${input.eve} cannot be appended after event ${this.claimedEve}: events are numbered 1, 2, 3, ...`, { eve: input.eve }),
      );
    }
    this.claimedEve = input.eve;
    const previous = this.issued;
    let markIssued!: () => void;
    this.issued = new Promise<void>((resolve) => (markIssued = resolve));
    const written = this.write(input, previous, markIssued);
    this.writes.add(written);
    void written.then(
      () => this.writes.delete(written),
      () => this.writes.delete(written),
    );
    return written.catch((e: unknown) => {
      markIssued();
      const failure =
        e instanceof LogError && e.code === LogErrorCode.write
          ? e
          : new LogError(LogErrorCode.write, `Event ${input.eve} could not be made durable: ${(e as Error)?.message ?? String(e)}`, { eve: input.eve, cause: e });
      this.failure ??= failure;
      throw failure;
    });
  }

  private async write(input: AppendInput, previous: Promise<void>, markIssued: () => void): Promise<AppendResult> {
    const { eve } = input;
    const job = cell(input.now, input.ovum);
    // Large atoms go to the blob store first: the record names only blobs that are durable.
    const fresh = await storeLargeAtoms(this.store, job, this.blobBytesMin);
    const refs = blobJamRefs(fresh);
    const sink = new EventSink(this.paths.blob, eve, this.inlineBytesMax);
    let jamBytes: number;
    try {
      jamBytes = await jamToSink(job, sink, LOG_JAM_CHUNK_BYTES, undefined, refs);
    } catch (e) {
      await sink.abort();
      throw e;
    }
    const named = recordRefs(refs.table);
    // No refs: a version-1 record, as before the blob store (decodeRecord reads both).
    const tableRefs = named.length > 0 ? named : undefined;
    let value: Uint8Array;
    let blobRef: Buffer | undefined;
    if (sink.file !== undefined) {
      const file = sink.file;
      assert(file.length === jamBytes, `blob of event ${eve} holds ${file.length} bytes of a ${jamBytes}-byte jam`);
      await file.finish();
      renameDurably(file.path, join(this.paths.blob, blobFileName(eve, file.crc)), this.paths.blob);
      value = blobRecord(input.mug, jamBytes, file.crc, tableRefs);
      blobRef = Buffer.from(value.subarray(value.length - 12));
    } else if (tableRefs === undefined) {
      value = sealInlineRecord(sink.inlineValue(), input.mug);
    } else {
      // The ref table goes before the jam: one copy of an inline jam (at most 1 MiB).
      const jam = sink.inlineValue().subarray(RECORD_HEADER_BYTES);
      const prefix = recordPrefixBytes(tableRefs.length);
      const whole = new Uint8Array(prefix + jam.length);
      whole.set(jam, prefix);
      value = sealInlineRecord(whole, input.mug, tableRefs);
    }
    const storage: EventStorage = blobRef === undefined ? "inline" : "blob";
    const info = storeInfo({
      eve,
      timeMs: unixMillisFromDa(input.now) ?? Date.now(),
      kind: input.kind ?? "?",
      jamBytes,
      path: input.path ?? "pipe",
      storage,
      ...(input.detail !== undefined ? { detail: input.detail } : {}),
    });
    // Records go to LMDB in event order: wait until the previous append has issued its own.
    await previous;
    // A compaction's swap closes the environment: no transaction is issued until it is back.
    while (this.swapping !== undefined) await this.swapping;
    if (this.failure) throw this.failure;
    // A blob this record names must not be removed by a chop running beside it (retention.ts):
    // naming it rescues it. One removed already means the event names bytes that are gone.
    for (const r of named) {
      if (!this.store.rescue(r.name)) {
        throw new LogError(LogErrorCode.write, `Event ${eve} names blob "${this.store.pathOf(r.name)}", which a chop removed while the event was being written`, { eve });
      }
    }
    const key = eventKey(eve);
    const committed = this.env.transaction(() => {
      if (this.named !== undefined) for (const r of named) if (!this.named.has(r.name)) this.named.set(r.name, eve);
      this.events.put(key, Buffer.from(value.buffer, value.byteOffset, value.length));
      this.infos.put(key, info);
      if (blobRef !== undefined) this.blobs.put(key, blobRef);
      for (const r of named) {
        const digest = Buffer.from(blobDigestOf(r.name));
        if (this.bobs.get(digest) === undefined) this.bobs.put(digest, key);
      }
      // The view's entries name the blobs this record names (the event's own atoms).
      if (input.view !== undefined) applyViewChanges(this.view!, input.view, { eve, mug: input.mug }, (a) => refs.refOf(a));
    });
    this.txnsInFlight++;
    markIssued();
    try {
      await committed;
    } finally {
      this.txnsInFlight--;
    }
    await this.env.flushed;
    // Only once the marker covers it is the event reported durable (head-marker.ts).
    await this.head!.advance({ eve, mug: input.mug });
    if (eve > this.durableEve) this.durableEve = eve;
    let blobBytes = 0;
    for (const r of named) blobBytes += r.byteLength;
    return { eve, jamBytes, storage, stored: sourcesOf(this.store, fresh), blobBytes };
  }

  /**
   * The event the read view shows (docs/read-view.md), or undefined when it has none (a pier from
   * before the view) or its head is damaged: either way mars rebuilds it. Writer only.
   */
  viewHead(): ViewHead | undefined {
    assert(this.view !== undefined, "only the writer reads the view's head through the log");
    try {
      return readViewHead(this.view);
    } catch {
      return undefined;
    }
  }

  /**
   * Replaces the whole read view with `changes` (every desk's files and totals) at the log's last
   * event, in one transaction: mars's rebuild of a view that is missing or stale. Large atoms of
   * the state that are not in the blob store yet (an older pier's heap atoms) are stored first and
   * entered in BOBS under the last event, so that the sweep keeps the blobs the view names; they
   * are returned, each with its blob, for mars to move there (src/mars/settle.ts).
   */
  async rebuildView(changes: ViewChanges): Promise<ReadonlyMap<BigAtom, BlobSource>> {
    assert(this.view !== undefined && this.durableEve === this.claimedEve && !this.closed, "the view is rebuilt by the writer, between appends");
    const eve = this.durableEve;
    const large = changes.files.flatMap((c) => ("deleted" in c ? [] : [c.data]));
    const fresh = await storeLargeAtoms(this.store, list(large), this.blobBytesMin);
    const refs = blobJamRefs(fresh);
    const key = eventKey(eve);
    const head = { eve, mug: this.mugAt(eve) };
    await this.env.transaction(() => {
      for (const ref of fresh.values()) {
        const digest = Buffer.from(blobDigestOf(ref.name));
        if (this.bobs.get(digest) === undefined) this.bobs.put(digest, key);
      }
      rewriteView(this.view!, changes, head, (a) => refs.refOf(a));
    });
    await this.env.flushed;
    return sourcesOf(this.store, fresh);
  }

  /** Event `eve`'s record, checked (LogError naming the event if it is missing or damaged). */
  record(eve: number): DecodedRecord {
    const value = eve < this.first ? undefined : this.events.get(eventKey(eve));
    if (value === undefined) throw this.notHeld(eve);
    return decodeRecord(eve, value);
  }

  /**
   * Event `eve`'s stored bytes: its record, plus its spill file for a blob-form event. From the
   * record's header and length alone (no checksum: `du` and chop count, they do not read events).
   */
  storedBytes(eve: number): number {
    return recordStoredBytes(this.events.getBinaryFast(eventKey(eve)));
  }

  /** The error for an event the log does not hold: `log_chopped` below `first`, else `log_gap`. */
  private notHeld(eve: number): LogError {
    const held = `it holds events ${this.first}..${this.eve}`;
    if (eve >= 1 && eve < this.first) {
      return new LogError(LogErrorCode.chopped, `Event ${eve} was removed from the event log at "${this.paths.log}" by a chop (${held})`, { eve });
    }
    return new LogError(LogErrorCode.gap, `Event ${eve} is not in the event log at "${this.paths.log}" (${held})`, { eve });
  }

  /** Event `eve`'s job `[now ovum]` and stored mug, checked (blob jobs are cued in chunks). */
  async read(eve: number): Promise<ReplayedEvent> {
    const rec = this.record(eve);
    if (rec.form === "inline") {
      let job: Noun;
      try {
        job = cue(rec.jam, { substitute: blobSubstitution(this.store, rec.refs) });
      } catch (cause) {
        throw new LogError(LogErrorCode.record, `Event ${eve} passed its checksum but is not a jam (${(cause as Error).message}): it was written wrong. Restore the pier from a backup`, { eve, cause });
      }
      return { eve, mug: rec.mug, job, jamBytes: rec.jam.length, storage: "inline" };
    }
    const job = await cueBlob(join(this.paths.blob, blobFileName(eve, rec.crc)), eve, rec.length, rec.crc, blobSubstitution(this.store, rec.refs));
    return { eve, mug: rec.mug, job, jamBytes: rec.length, storage: "blob" };
  }

  /**
   * Events `from..to` (default: to the last), in order, each checked against its checksum. The
   * caller re-applies each job and compares its mug (`restore` does both).
   */
  async *replay(from = this.first, to = this.eve): AsyncGenerator<ReplayedEvent> {
    // Below `first` is refused (record() throws log_chopped), not skipped: a replay that starts
    // there would build a wrong state.
    for (let eve = Math.max(1, from); eve <= to; eve++) yield await this.read(eve);
  }

  /** The blob store names the log refers to (the BOBS table): blobs that must never go. */
  blobNames(): Set<string> {
    const out = new Set<string>();
    for (const key of this.bobs.getKeys()) out.add(blobNameOf(key as Buffer));
    return out;
  }

  /**
   * Removes what a crash left in the blob store (docs/blob-store.md, "Sweep"): staging files and
   * blobs that neither the log nor `alsoLive` (the kept snapshots' refs) names. Writer only, at
   * start, before any append: a blob written for an event in flight is never swept.
   */
  sweepBlobs(alsoLive: Iterable<string>): string[] {
    assert(!this.readOnly && this.durableEve === this.claimedEve, "blobs are swept by the writer before its first append");
    const live = this.blobNames();
    for (const name of alsoLive) live.add(name);
    return this.store.sweep(live);
  }

  /** INFO of events `from..to` (default: all), in order; events without INFO are skipped. */
  info(from = 1, to = this.eve): EventInfo[] {
    if (this.readOnly) this.env.resetReadTxn();
    const out: EventInfo[] = [];
    // Events below `first` are gone; so may be entries a crashed chop had still to remove.
    from = Math.max(from, this.first);
    if (to < from) return out;
    for (const { key, value } of this.infos.getRange({ start: eventKey(from), end: eventKey(to + 1) })) {
      const info = loadInfo(eventFromKey(key), value);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  /** Reads every event and checks every checksum (blobs included): `urth`'s deep check. */
  async verify(onEvent?: (eve: number) => void): Promise<void> {
    for (let eve = this.first; eve <= this.eve; eve++) {
      await this.read(eve);
      onEvent?.(eve);
    }
  }

  // ---- Retention (src/mars/retention.ts, docs/event-log.md "Retention"): the writer's steps of
  // a chop. Each is short, or cut into short transactions, so appends go on between them.

  /**
   * Starts (or, with `false`, stops) recording the blob names appends commit, for a chop: each name
   * with the first event that named it since. Returned live: the chop reads it in its own steps.
   */
  watchNames(on = true): ReadonlyMap<string, number> {
    this.named = on ? (this.named ?? new Map()) : undefined;
    return this.named ?? new Map();
  }

  /** Resolves when no append is in flight (every one claimed so far is durable or failed). */
  async idle(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  /** Whether no append is in flight now. */
  get isIdle(): boolean {
    return this.writes.size === 0 && this.claimedEve === this.durableEve;
  }

  /**
   * Records durably that the log's first event is `first` (META first): from then on, events below
   * it are not the log's, and a start removes any left. Writer only; `first` at most the last event.
   */
  async setFirst(first: number): Promise<void> {
    assert(!this.readOnly && first >= this.firstEve && first <= Math.max(1, this.durableEve), `the first event can move from ${this.firstEve} to ${first} only, up to the last ${this.durableEve}`);
    if (first === this.firstEve) return;
    const value = firstValue(first);
    await this.env.transaction(() => {
      this.metaDb.put(META_FIRST_KEY, value);
    });
    await this.env.flushed;
    this.firstEve = first;
  }

  /**
   * Removes up to `maxKeys` EVENTS/INFO/BLOBS entries below `first` in one transaction; resolves to
   * how many events it removed (0: none left) and their stored bytes (`storedBytes`). Each call is
   * its own short commit.
   */
  async removeEventsBelowFirst(maxKeys: number): Promise<{ removed: number; bytes: number }> {
    assert(!this.readOnly, "only the writer removes events");
    return removeBelow(this.env, { events: this.events, infos: this.infos, blobs: this.blobs }, this.firstEve, maxKeys);
  }

  /**
   * BOBS entries whose first naming event is below `first` (before a chop's rewrite): name and
   * event. A read, no transaction.
   */
  bobsBelowFirst(): { name: string; eve: number }[] {
    const out: { name: string; eve: number }[] = [];
    for (const { key, value } of this.bobs.getRange({})) {
      const eve = eventFromKey(value as Buffer);
      if (eve < this.firstEve) out.push({ name: blobNameOf(key as Buffer), eve });
    }
    return out;
  }

  /**
   * One transaction over BOBS entries: `decide(name)` is asked inside it (so against the blob
   * store's and the appends' state at that moment) and answers a new first event for the entry,
   * or undefined to delete it. Resolves once committed, to how many were deleted.
   */
  async rewriteBobs(names: readonly string[], decide: (name: string) => number | undefined): Promise<number> {
    assert(!this.readOnly, "only the writer rewrites BOBS");
    let deleted = 0;
    await this.env.transaction(() => {
      deleted = 0;
      for (const name of names) {
        const digest = Buffer.from(blobDigestOf(name));
        if (this.bobs.get(digest) === undefined) continue;
        const eve = decide(name);
        if (eve === undefined) {
          this.bobs.remove(digest);
          deleted++;
        } else this.bobs.put(digest, eventKey(eve));
      }
    });
    await this.env.flushed;
    return deleted;
  }

  /** Bytes LMDB's data file takes (allocated blocks). */
  dataFileBytes(): number {
    return allocatedBytes(join(this.paths.log, LMDB_DATA_FILE));
  }

  /**
   * Copy-compacts LMDB (docs/event-log.md, "Retention"): LMDB never gives freed pages back to the
   * file system, so a chop's removals shrink data.mdb only through a compacted copy. The copy is
   * made beside the writer (LMDB copies a read snapshot; appends go on), while every key a commit
   * writes is journaled. Then, in up to `rounds` catch-up rounds beside appends, each journaled
   * key is set in the copy to its current value (or removed); then appends are held (no
   * transaction in flight, none issued) for the last round's few keys and the swap: the live
   * environment is closed, the copy renamed over data.mdb, lock.mdb removed and the environment
   * reopened. Readers that had data.mdb open keep reading the old file until they reopen (ReadView
   * does on the next read, seeing the new inode).
   */
  async compact(rounds = 3, hooks: { copied?: () => void; renamed?: () => void } = {}): Promise<CompactResult> {
    assert(!this.readOnly && !this.closed, "only an open writer compacts its log");
    const t0 = performance.now();
    const dir = join(this.paths.log, LOG_COMPACT_DIR);
    const data = join(this.paths.log, LMDB_DATA_FILE);
    const copy = join(dir, LMDB_DATA_FILE);
    const old = join(dir, "replaced.mdb");
    const bytesBefore = allocatedBytes(data);
    rmSync(dir, { recursive: true, force: true });
    makePrivateDir(dir);
    // Journaling starts with no transaction in flight, before the copy's snapshot: every commit
    // after that snapshot is in the journal.
    for (;;) {
      await this.env.flushed;
      if (this.txnsInFlight === 0) break;
    }
    const journal = new Journal(this.journaled());
    let copyEnv: RootDatabase | undefined;
    let release: (() => void) | undefined;
    let heldAt = 0;
    let holdMs = 0;
    let catchUps = 0;
    try {
      const c0 = performance.now();
      await this.env.backup(dir, true);
      const copyMs = performance.now() - c0;
      copyEnv = openLmdb({ path: dir, maxDbs: LMDB_TABLES_MAX, overlappingSync: false, ...({ permissionsMode: PIER_FILE_MODE } as object) });
      for (let round = 0; round < rounds; round++) {
        // A key is taken from the journal and its value read in one synchronous step with no
        // transaction in flight: a put journaled but not yet committed would be read as absent,
        // and its commit would then go unseen.
        for (;;) {
          await this.env.flushed;
          if (this.txnsInFlight === 0) break;
        }
        const keys = journal.take();
        if (keys.size === 0) break;
        await this.catchUp(copyEnv, keys);
        catchUps++;
      }
      // The last round with appends held: none in flight, none issued until the swap is done.
      ({ release, heldAt } = await this.hold());
      const keys = journal.take();
      journal.stop();
      let mark = performance.now();
      const step = () => {
        const now = performance.now();
        const ms = Math.round((now - mark) * 10) / 10;
        mark = now;
        return ms;
      };
      // Always one write: it also gives the copy's second meta page the next txnid (a compacted
      // copy holds zero there, which the meta-page check refuses, rightly, for a live file).
      await this.catchUp(copyEnv, keys, true);
      const catchUpMs = step();
      await copyEnv.close();
      copyEnv = undefined;
      rmSync(join(dir, "lock.mdb"), { force: true });
      const fd = openSync(copy, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const syncMs = step();
      hooks.copied?.();
      await this.env.close();
      const closeMs = step();
      // The old file keeps a second name until the hold is over: the rename then drops only a
      // name, and freeing its blocks (a large file's extents) happens after appends go on.
      linkSync(data, old);
      renameSync(copy, data);
      fsyncDirectory(this.paths.log);
      hooks.renamed?.();
      try {
        unlinkSync(join(this.paths.log, "lock.mdb"));
      } catch {
        // LMDB makes it again.
      }
      const renameMs = step();
      this.reopen();
      const holdSteps = { catchUp: catchUpMs, sync: syncMs, close: closeMs, rename: renameMs, reopen: step() };
      holdMs = performance.now() - heldAt;
      release();
      release = undefined;
      // Off the main thread: freeing a large file's blocks can take the file system a while.
      await rm(dir, { recursive: true, force: true });
      fsyncDirectory(this.paths.log);
      return { bytesBefore, bytesAfter: allocatedBytes(data), catchUps, copyMs, holdMs, holdSteps, totalMs: performance.now() - t0 };
    } finally {
      journal.stop();
      if (copyEnv !== undefined) await copyEnv.close();
      release?.();
    }
  }

  /** The writer's tables, by name, for the compaction's journal and catch-up. */
  private journaled(): Map<string, AnyTable> {
    const out = new Map<string, AnyTable>([
      [TABLE_EVENTS, this.events],
      [TABLE_INFO, this.infos],
      [TABLE_BLOBS, this.blobs],
      [TABLE_BOBS, this.bobs],
      [TABLE_META, this.metaDb],
    ] as [string, AnyTable][]);
    if (this.view !== undefined) {
      out.set(VIEW_TABLE_FILES, this.view.files as AnyTable);
      out.set(VIEW_TABLE_DESKS, this.view.desks as AnyTable);
      out.set(VIEW_TABLE_HEAD, this.view.head as AnyTable);
    }
    return out;
  }

  /**
   * Sets each journaled key in the copy to its current value in the log, or removes it; one
   * transaction. The values are read before the first await (the caller ensures no transaction is
   * in flight then).
   */
  private async catchUp(copyEnv: RootDatabase, keys: Map<string, Map<string, Buffer | string>>, always = false): Promise<void> {
    this.env.resetReadTxn();
    const live = this.journaled();
    const writes: { table: string; key: Buffer | string; value: Buffer | undefined }[] = [];
    for (const [table, byId] of keys) {
      const db = live.get(table)!;
      for (const key of byId.values()) writes.push({ table, key, value: db.getBinary(key as never) as Buffer | undefined });
    }
    const copies = new Map<string, AnyTable>();
    const copyOf = (table: string, key: Buffer | string) => {
      let db = copies.get(table);
      if (db === undefined) {
        db = copyEnv.openDB({ name: table, encoding: "binary", ...(typeof key === "string" ? {} : { keyEncoding: "binary" }) });
        copies.set(table, db);
      }
      return db;
    };
    if (writes.length === 0 && !always) return;
    const meta = copyEnv.openDB<Buffer, string>({ name: TABLE_META, encoding: "binary" });
    await copyEnv.transaction(() => {
      for (const w of writes) {
        const db = copyOf(w.table, w.key);
        if (w.value === undefined) db.remove(w.key as never);
        else db.put(w.key as never, w.value);
      }
      if (writes.length === 0) {
        const version = meta.get("version");
        if (version !== undefined) meta.put("version", Buffer.from(version));
      }
    });
    await copyEnv.flushed;
  }

  /**
   * Holds appends from now (called with no transaction in flight): none issues a transaction
   * until `release`.
   */
  private holdNow(): { release: () => void; heldAt: number } {
    let open!: () => void;
    this.swapping = new Promise<void>((resolve) => (open = resolve));
    const release = () => {
      this.swapping = undefined;
      open();
    };
    return { release, heldAt: performance.now() };
  }

  /** Holds appends once no transaction is in flight. */
  private async hold(): Promise<{ release: () => void; heldAt: number }> {
    for (;;) {
      await this.env.flushed;
      if (this.txnsInFlight === 0) return this.holdNow();
    }
  }

  /** Opens the environment again after `compact` replaced its file (the same options as `open`). */
  private reopen(): void {
    this.env = openLmdb({ path: this.paths.log, maxDbs: LMDB_TABLES_MAX, overlappingSync: false, ...({ permissionsMode: PIER_FILE_MODE } as object) });
    const t = openTables(this.env, false);
    this.events = t.events;
    this.infos = t.infos;
    this.blobs = t.blobs;
    this.bobs = t.bobs;
    this.metaDb = t.metaDb;
    this.view = openViewTables(this.env);
    const last = lastKey(this.events) ?? 0;
    assert(last === this.durableEve, `the compacted log ends at event ${last}, not ${this.durableEve}`);
  }

  /**
   * Waits for appends in flight (their failures are their callers'), then closes LMDB and the
   * head marker, and lets go of the writer lock.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.issued;
    try {
      await this.env.flushed;
    } catch {
      // The failing append already reported it.
    }
    await Promise.allSettled([...this.writes]);
    await this.env.close();
    await this.head?.close();
    this.lock?.release();
  }
}

/**
 * The keys commits write while a compaction copies the log: each journaled table's `put` and
 * `remove` are wrapped (on the instance) to note the key. `take` hands over what was noted and
 * starts afresh; `stop` puts the methods back.
 */
/** Any of the log's tables, as the journal and the catch-up handle them (by key, raw bytes). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTable = Database<any, any>;

class Journal {
  private keys = new Map<string, Map<string, Buffer | string>>();
  private readonly undo: (() => void)[] = [];

  constructor(tables: Map<string, AnyTable>) {
    for (const [name, db] of tables) {
      const target = db as unknown as Record<string, (...args: unknown[]) => unknown>;
      for (const method of ["put", "remove"]) {
        const original = target[method];
        target[method] = (...args: unknown[]) => {
          this.note(name, args[0] as Buffer | string);
          return original.apply(db, args);
        };
        this.undo.push(() => {
          target[method] = original;
        });
      }
    }
  }

  private note(table: string, key: Buffer | string): void {
    let byId = this.keys.get(table);
    if (byId === undefined) this.keys.set(table, (byId = new Map()));
    const id = typeof key === "string" ? `s${key}` : `b${Buffer.from(key).toString("hex")}`;
    if (!byId.has(id)) byId.set(id, typeof key === "string" ? key : Buffer.from(key));
  }

  take(): Map<string, Map<string, Buffer | string>> {
    const out = this.keys;
    this.keys = new Map();
    return out;
  }

  stop(): void {
    while (this.undo.length > 0) this.undo.pop()!();
  }
}

interface Tables {
  readonly events: Database<Uint8Array, Buffer>;
  readonly infos: Database<unknown, Buffer>;
  readonly blobs: Database<Uint8Array, Buffer>;
  readonly bobs: Database<Uint8Array, Buffer>;
  readonly metaDb: Database<Uint8Array, string>;
  readonly view?: ViewTables;
}

/** The log's tables in `env` (a writer creates missing ones). */
function openTables(env: RootDatabase, readOnly: boolean): Tables {
  // `create: false` (read-only) is honoured by the package but missing from its types.
  const create = { create: !readOnly } as object;
  return {
    events: env.openDB<Uint8Array, Buffer>({ name: TABLE_EVENTS, keyEncoding: "binary", encoding: "binary", ...create }),
    infos: env.openDB<unknown, Buffer>({ name: TABLE_INFO, keyEncoding: "binary", ...create }),
    blobs: env.openDB<Uint8Array, Buffer>({ name: TABLE_BLOBS, keyEncoding: "binary", encoding: "binary", ...create }),
    // An older pier's read-only log may lack it: `create: false` then yields no table.
    bobs: env.openDB<Uint8Array, Buffer>({ name: TABLE_BOBS, keyEncoding: "binary", encoding: "binary", ...create }),
    metaDb: env.openDB<Uint8Array, string>({ name: TABLE_META, encoding: "binary", ...create }),
  };
}

/** Bytes the file at `path` takes on disk (allocated blocks), 0 when there is none. */
export function allocatedBytes(path: string): number {
  try {
    return statSync(path).blocks * 512;
  } catch {
    return 0;
  }
}

/** A record's stored bytes: its length, plus its spill file's for a blob-form record (from its last 12 bytes). */
function recordStoredBytes(value: Uint8Array | undefined): number {
  if (value === undefined) return 0;
  if (value.length < RECORD_HEADER_BYTES + 12 || value[4] !== 2) return value.length;
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  return value.length + view.getUint32(value.length - 12, true) + view.getUint32(value.length - 8, true) * 4294967296;
}

/**
 * Removes up to `maxKeys` events below `first` (EVENTS, INFO and BLOBS entries) in one
 * transaction; resolves to how many events it removed and their stored bytes.
 */
async function removeBelow(env: RootDatabase, t: Pick<Tables, "events" | "infos" | "blobs">, first: number, maxKeys: number): Promise<{ removed: number; bytes: number }> {
  const end = eventKey(first);
  let removed = 0;
  let bytes = 0;
  await env.transaction(() => {
    removed = 0;
    bytes = 0;
    for (const db of [t.events, t.infos, t.blobs] as Database<unknown, Buffer>[]) {
      // Keys first, then removals: no cursor is left walking a table it changes.
      const keys = [...db.getKeys({ end, limit: maxKeys })] as Buffer[];
      for (const key of keys) {
        if (db === t.events) bytes += recordStoredBytes(t.events.getBinaryFast(key));
        db.remove(key);
      }
      removed = Math.max(removed, keys.length);
    }
  });
  await env.flushed;
  return { removed, bytes };
}

/**
 * Start-up's end of a chop a crash interrupted (docs/event-log.md, "Retention"): events below
 * META first are removed in short transactions, a compaction's leftover copy is removed. Spill
 * files of removed events go in `recoverBlobs`; blobs in `restore`'s sweep.
 */
async function finishChop(env: RootDatabase, t: Tables, first: number, paths: LogPaths, warnings: string[]): Promise<void> {
  const leftover = join(paths.log, LOG_COMPACT_DIR);
  if (existsSync(leftover)) {
    rmSync(leftover, { recursive: true, force: true });
    fsyncDirectory(paths.log);
    warnings.push(`Removed "${leftover}": a compaction of the log that a crash interrupted (the log itself is whole).`);
  }
  if (first <= 1) return;
  let total = 0;
  for (;;) {
    const { removed } = await removeBelow(env, t, first, OPEN_FINISH_BATCH_KEYS);
    if (removed === 0) break;
    total += removed;
  }
  if (total > 0) warnings.push(`Removed ${total} events below event ${first}: a chop that a crash interrupted had still to remove them.`);
}

/** Checks data.mdb's meta pages and length (lmdb-meta.ts); a reader retries a failed check. */
async function checkDataFile(file: string, readOnly: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      readLmdbHead(file);
      return;
    } catch (e) {
      if (!readOnly || attempt >= READER_META_CHECK_ATTEMPTS) throw e;
      await Bun.sleep(READER_META_RETRY_MS);
    }
  }
}

/**
 * The log must hold every event the head marker says was durable, and the marker's event must be
 * the one that was: otherwise LMDB rolled back (a damaged meta page) or the log was replaced.
 */
function checkHead(marker: ReadHead, eve: number, mugOf: (eve: number) => number, paths: LogPaths): void {
  const path = join(paths.log, HEAD_MARKER_FILE);
  const asked = `If "${join(paths.log, LMDB_DATA_FILE)}" was put back from an older copy on purpose, remove "${path}" and start again`;
  if (eve < marker.eve) {
    const lost = marker.eve - eve;
    throw new LogError(
      LogErrorCode.rollback,
      `The event log "${paths.log}" ends at event ${eve}, but event ${marker.eve} was made durable (its head marker says so): LMDB lost the last ${lost === 1 ? "event" : `${lost} events`}, most likely to a damaged meta page. Mars will not start on a log that went back silently; restore the pier from a backup. ${asked}`,
      { eve: marker.eve },
    );
  }
  if (marker.eve > 0 && mugOf(marker.eve) !== marker.mug) {
    throw new LogError(
      LogErrorCode.rollback,
      `Event ${marker.eve} in the event log "${paths.log}" has mug 0x${mugOf(marker.eve).toString(16)}, but the head marker says 0x${marker.mug.toString(16)}: this log is not the one that made event ${marker.eve} durable. Restore the pier from a backup. ${asked}`,
      { eve: marker.eve },
    );
  }
}

function firstKey(db: Database<Uint8Array, Buffer>): Buffer | undefined {
  for (const key of db.getKeys({ limit: 1 })) return key as Buffer;
  return undefined;
}

function lastKeyBuffer(db: Database<Uint8Array, Buffer>): Buffer | undefined {
  for (const key of db.getKeys({ reverse: true, limit: 1 })) return key as Buffer;
  return undefined;
}

function lastKey(db: Database<Uint8Array, Buffer>): number | undefined {
  const key = lastKeyBuffer(db);
  return key === undefined ? undefined : eventFromKey(key);
}

/**
 * EVENTS must hold exactly the keys first..N (META first, 1 for a log never chopped): first key
 * `first`, last key N, N - first + 1 entries (O(1) with LMDB's statistics). Keys below `first`
 * (a chop a crash interrupted: the writer removed them before this; a reader meets them) are
 * counted and otherwise ignored. Otherwise the first gap is found and reported.
 */
function checkContiguous(events: Database<Uint8Array, Buffer>, first: number, where: string): number {
  const firstKeyFound = firstKey(events);
  if (firstKeyFound === undefined) {
    if (first > 1) throw new LogError(LogErrorCode.gap, `The event log at "${where}" holds no events, but its META says it starts at event ${first}. Restore the pier from a backup`, { eve: first });
    return 0;
  }
  let below = 0;
  if (eventFromKey(firstKeyFound) < first) for (const _ of events.getKeys({ end: eventKey(first) })) below++;
  const last = lastKey(events)!;
  const count = (events.getStats() as { entryCount: number }).entryCount - below;
  if (last >= first && last - first + 1 === count && (count === 0 || events.get(eventKey(first)) !== undefined)) return last;
  let expected = first;
  for (const key of events.getKeys({ start: eventKey(first) })) {
    const eve = eventFromKey(key as Buffer);
    if (eve !== expected) {
      throw new LogError(
        LogErrorCode.gap,
        `The event log at "${where}" is missing event ${expected}: ${expected === first ? `it starts (its META says at event ${first})` : `event ${expected - 1} is followed`} by event ${eve}. Mars will not start on a log with gaps; restore the pier from a backup`,
        { eve: expected },
      );
    }
    expected++;
  }
  throw new LogError(LogErrorCode.gap, `The event log at "${where}" holds ${count} entries but its keys end at ${last}. Restore the pier from a backup`);
}

/**
 * Every blob the log names (BOBS) must be in the store with a sound size: a record naming a
 * missing blob would replay into an atom whose bytes are gone. One stat per blob, no read.
 */
function checkStoredBlobs(store: BlobStore, bobs: Database<Uint8Array, Buffer>, paths: LogPaths): void {
  for (const { key, value } of bobs.getRange({})) {
    const name = blobNameOf(key as Buffer);
    const eve = eventFromKey(value as Buffer);
    let ok: boolean;
    try {
      ok = store.stat(name) !== undefined;
    } catch (e) {
      throw new LogError(LogErrorCode.blobLength, `Event ${eve}'s blob "${store.pathOf(name)}" is damaged (${(e as Error).message}). Mars will not start on a damaged store; restore the file or the pier from a backup`, { eve, cause: e });
    }
    if (!ok) {
      throw new LogError(
        LogErrorCode.blobMissing,
        `Event ${eve}'s blob "${store.pathOf(name)}" is missing from the blob store "${paths.urb}/bob". Mars will not start without it (dropping it would change every later state); restore the file or the pier from a backup`,
        { eve },
      );
    }
  }
}

/**
 * Blob recovery (docs/event-log.md, "Start-up recovery"): every blob the BLOBS index names must
 * exist with its record's length; every other file named like a blob is an orphan of a crash
 * between writing a blob and committing its record, and is removed.
 */
function recoverBlobs(paths: LogPaths, events: Database<Uint8Array, Buffer>, blobs: Database<Uint8Array, Buffer>, first: number, head: number, warnings: string[]): void {
  const expected = new Set<string>();
  for (const { key } of blobs.getRange({})) {
    const eve = eventFromKey(key as Buffer);
    const value = eve <= head && eve >= first ? events.get(eventKey(eve)) : undefined;
    if (value === undefined) {
      throw new LogError(LogErrorCode.record, `The event log's blob index names event ${eve}, which is not in the log (1..${head}). The log is damaged; restore the pier from a backup`, { eve });
    }
    const rec = decodeRecord(eve, value);
    if (rec.form !== "blob") {
      throw new LogError(LogErrorCode.record, `The event log's blob index names event ${eve}, whose record is inline. The log is damaged; restore the pier from a backup`, { eve });
    }
    const name = blobFileName(eve, rec.crc);
    const path = join(paths.blob, name);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new LogError(
        LogErrorCode.blobMissing,
        `Event ${eve}'s blob "${path}" is missing. Mars will not start without it (dropping it would change every later state); restore the file or the pier from a backup`,
        { eve },
      );
    }
    if (size !== rec.length) {
      throw new LogError(
        LogErrorCode.blobLength,
        `Event ${eve}'s blob "${path}" is ${size} bytes; its record says ${rec.length}. Mars will not start on a damaged log; restore the file or the pier from a backup`,
        { eve },
      );
    }
    expected.add(name);
  }
  let removed = 0;
  for (const name of readdirSync(paths.blob)) {
    if (expected.has(name)) continue;
    const parsed = parseBlobFileName(name);
    const partial = /^[1-9][0-9]*\.partial$/.test(name);
    if (parsed === undefined && !partial) {
      warnings.push(`Left "${join(paths.blob, name)}" alone: it is not a file Plea writes.`);
      continue;
    }
    if (parsed !== undefined && parsed.eve < first) {
      // A chop removed its event and a crash came before the file went: finish that.
      unlinkSync(join(paths.blob, name));
      removed++;
      warnings.push(`Removed "${name}": the spill file of event ${parsed.eve}, which a chop removed from the log before a crash.`);
      continue;
    }
    if (parsed !== undefined && parsed.eve <= head) {
      // Named like a committed blob but not indexed: trust the record, never delete what it names.
      const rec = decodeRecord(parsed.eve, events.get(eventKey(parsed.eve))!);
      if (rec.form === "blob" && rec.crc === parsed.crc) {
        throw new LogError(LogErrorCode.record, `Event ${parsed.eve}'s blob is missing from the blob index. The log is damaged; restore the pier from a backup`, { eve: parsed.eve });
      }
    }
    unlinkSync(join(paths.blob, name));
    removed++;
    warnings.push(`Removed orphan blob "${name}": a crash came between writing it and committing its record${partial ? " (it was never completed)" : ""}.`);
  }
  if (removed > 0) fsyncDirectory(paths.blob);
}
