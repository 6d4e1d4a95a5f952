/**
 * INFO: per-event metadata for `urth log` and `urth commit --json`, written in the same LMDB
 * transaction as the event's record. Keyed like EVENTS; the value is a small object in the
 * `lmdb` package's default encoding (msgpack). Shared: mars's log writes and reads it, and a
 * reader of the read view (view-reader.ts) reads it read-only, as mars's `/plea/log` peek
 * (docs/ipc.md, "Peeks") answers it: the same `EventInfo`.
 */
import type { EventInfo, EventPath, EventStorage } from "../ipc/event-info.ts";

export type { EventInfo, EventPath, EventStorage };

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
