/**
 * INFO: per-event metadata for `urth log` and `urth status`, written in the same LMDB
 * transaction as the event's record. Keyed like EVENTS; the value is a small object in the
 * `lmdb` package's default encoding (msgpack), so any process with the package can read it
 * read-only while mars writes (LMDB allows concurrent readers across processes).
 */

/** How an event reached mars: over the pipe, or through a shared-memory plea. */
export type EventPath = "pipe" | "plea";

/** Where its jam is kept: inside the LMDB record, or in a blob file. */
export type EventStorage = "inline" | "blob";

export interface EventInfo {
  readonly eve: number;
  /** Unix milliseconds of the event's `now`. */
  readonly timeMs: number;
  /** The card's tag (`into`), or "?" when it has none. */
  readonly kind: string;
  /** Bytes of the jam of `[now ovum]`. */
  readonly jamBytes: number;
  readonly path: EventPath;
  readonly storage: EventStorage;
  /** Free-form figures the caller attached (files added, ...). */
  readonly detail?: Readonly<Record<string, string | number>>;
}

/** The stored form (without `eve`, which is the key). */
export interface StoredEventInfo {
  t: number;
  k: string;
  b: number;
  p: EventPath;
  s: EventStorage;
  d?: Record<string, string | number>;
}

export function storeInfo(info: EventInfo): StoredEventInfo {
  const stored: StoredEventInfo = { t: info.timeMs, k: info.kind, b: info.jamBytes, p: info.path, s: info.storage };
  if (info.detail !== undefined) stored.d = { ...info.detail };
  return stored;
}

export function loadInfo(eve: number, stored: unknown): EventInfo | undefined {
  if (typeof stored !== "object" || stored === null) return undefined;
  const s = stored as Partial<StoredEventInfo>;
  if (typeof s.t !== "number" || typeof s.k !== "string" || typeof s.b !== "number") return undefined;
  return {
    eve,
    timeMs: s.t,
    kind: s.k,
    jamBytes: s.b,
    path: s.p === "plea" ? "plea" : "pipe",
    storage: s.s === "blob" ? "blob" : "inline",
    ...(s.d !== undefined ? { detail: s.d } : {}),
  };
}
