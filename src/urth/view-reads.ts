/**
 * `status`, `ls`, `cat` and `log` answered from the pier's read view (docs/read-view.md): the
 * last durable state, as mars wrote it into the event log's LMDB environment with each event.
 * No mars, no lock, no wait for a commit: LMDB gives every read one committed snapshot, never a
 * partial one (docs/urth.md, "Reads during a commit"). The read worker of a running urth
 * (read-worker.ts) answers from here.
 */
import type { EventInfo } from "../ipc/event-info.ts";
import { LOG_PEEK_EVENTS_MAX } from "../ipc/peek-path.ts";
import { BlobStore } from "../blob/index.ts";
import type { ReadView, ViewFile } from "../view/index.ts";
import { readBlobPieces } from "../blob/index.ts";
import { clayPathArg, prefixArg } from "./clay-path.ts";
import { clayKey, relOfClayPath } from "./mount-scan.ts";
import { MOUNT_DESK } from "./pier.ts";
import { CAT_CHUNK_BYTES, type LsEntry } from "./pier-view.ts";

/** The pier's committed totals and the state they are of. */
export interface ViewTotals {
  eve: number;
  mug: number;
  files: number;
  bytes: number;
}

export function viewTotals(view: ReadView): ViewTotals {
  return view.read((v) => ({ ...v.head(), ...v.desk(MOUNT_DESK) }));
}

/**
 * Listings of one state, kept for the next `ls` of the same folder: a state never changes once
 * durable, so a listing read at event N is the answer at event N for as long as N is the last
 * event. Reading 1,000 entries out of LMDB costs about 2 ms here (the `lmdb` package copies each
 * value); a client that polls a folder during a long commit then gets it in microseconds.
 */
export class ListingCache {
  private eve = -1;
  private readonly listings = new Map<string, LsEntry[]>();
  private entries = 0;

  /** The listing of `arg` at `eve`, if kept. */
  get(eve: number, arg: string | undefined): LsEntry[] | undefined {
    return eve === this.eve ? this.listings.get(arg ?? "") : undefined;
  }

  set(eve: number, arg: string | undefined, files: LsEntry[]): void {
    if (eve !== this.eve) this.clear();
    this.eve = eve;
    if (this.entries + files.length > LISTING_CACHE_ENTRIES_MAX) return;
    this.listings.set(arg ?? "", files);
    this.entries += files.length;
  }

  /** Forgets every listing (the mount paths they show changed). */
  clear(): void {
    this.listings.clear();
    this.entries = 0;
    this.eve = -1;
  }
}

/** Entries kept by a ListingCache over all its listings: about 30 MiB of heap at most. */
const LISTING_CACHE_ENTRIES_MAX = 200_000;

/**
 * The committed files under `arg`, as `ls` lists them (pier-view.ts `sessionLs` does the same
 * through mars). `relOf` gives a file's mount-relative path where the mount cache knows one that
 * the Clay path alone does not say (a name without a dot in a folder, for one).
 */
export function viewLs(view: ReadView, arg: string | undefined, relOf: (key: string) => string | undefined = () => undefined, cache?: ListingCache): LsEntry[] {
  return view.read((v) => {
    // The listing and the event it is of come from one snapshot.
    const eve = v.head().eve;
    const kept = cache?.get(eve, arg);
    if (kept !== undefined) return kept;
    let files = v.list(MOUNT_DESK, prefixArg(arg));
    if (files.length === 0 && arg !== undefined) {
      // Not a directory: perhaps a file (`ls lib/a.txt` names /lib/a/txt, which no prefix reaches).
      const path = clayPathArg(arg);
      const one = v.file(MOUNT_DESK, path);
      files = one === undefined ? [] : [{ path, size: one.len }];
    }
    const out = files.map((f) => {
      const key = clayKey(f.path);
      return { path: relOf(key) ?? relOfClayPath(f.path), clay: key, size: f.size };
    });
    cache?.set(eve, arg, out);
    return out;
  });
}

/**
 * Streams a committed file: its size to `onSize`, then its bytes to `out` in pieces of at most
 * CAT_CHUNK_BYTES, zero bytes after the atom's own up to the file's length. Returns false if
 * there is no such file. One snapshot of the view names the file; a blob's bytes never change
 * once installed (docs/blob-store.md), so a commit landing meanwhile cannot tear the output.
 */
export async function viewCat(
  view: ReadView,
  pier: string,
  path: readonly string[],
  out: (chunk: Uint8Array) => Promise<void> | void,
  onSize?: (size: number) => Promise<void> | void,
): Promise<boolean> {
  const file: ViewFile | undefined = view.read((v) => v.file(MOUNT_DESK, path));
  if (file === undefined) return false;
  await onSize?.(file.len);
  let sent = 0;
  if (file.inline !== undefined) {
    const bytes = file.inline;
    for (let off = 0; off < bytes.length && off < file.len; off += CAT_CHUNK_BYTES) {
      const piece = bytes.subarray(off, Math.min(bytes.length, file.len, off + CAT_CHUNK_BYTES));
      await out(piece);
      sent += piece.length;
    }
  } else if (file.blob !== undefined) {
    const store = new BlobStore(pier);
    for (const piece of readBlobPieces(store.pathOf(file.blob.name), file.blob.name, file.blob.byteLength, CAT_CHUNK_BYTES)) {
      await out(piece);
      sent += piece.length;
    }
  }
  // The zeros an atom cannot hold (a file may end in them; its `len` says how many).
  while (sent < file.len) {
    const n = Math.min(CAT_CHUNK_BYTES, file.len - sent);
    await out(new Uint8Array(n));
    sent += n;
  }
  return true;
}

/** The INFO of the last `limit` events (every event when undefined), a page at a time, oldest first. */
export async function viewLog(view: ReadView, limit: number | undefined, onPage: (infos: EventInfo[]) => Promise<void> | void): Promise<void> {
  const last = view.read((v) => v.head().eve);
  const from = Math.max(1, last - (limit ?? last) + 1);
  for (let first = from; first <= last; first += LOG_PEEK_EVENTS_MAX) {
    const to = Math.min(last, first + LOG_PEEK_EVENTS_MAX - 1);
    // Events whose INFO is missing are left out, as mars's `/plea/log` peek leaves them out.
    await onPage(view.read((v) => v.infos(first, to)));
  }
}
