/**
 * An event's INFO as mars reports it in answer to a `/plea/log` peek (peek-path.ts): what
 * `urth log` lists and `urth commit --json` takes its mars-side timings from. mars keeps INFO in
 * its log (docs/event-log.md, "INFO"); urth reads it from there only read-only, through the read
 * view's reader (src/view/view-reader.ts, docs/read-view.md), never the records.
 *
 * Each event is one cord of JSON text, `{"eve":..,"timeMs":..,"kind":..,"jamBytes":..,"path":..,
 * "storage":..,"detail":{..}}`: the timings in `detail` are fractional milliseconds, which an atom
 * cannot carry, and JSON carries a JS number exactly.
 */
import { PleaError } from "../error.ts";
import { BigAtom, cord, cordToString } from "../noun/atom.ts";
import type { Noun } from "../noun/noun.ts";
import { IpcErrorCode } from "./errors.ts";
import { describeNoun } from "./shape.ts";

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
  /** Free-form figures the caller attached (arrival, decode, apply and persist times). */
  readonly detail?: Readonly<Record<string, string | number>>;
}

/**
 * Longest INFO cord accepted, in bytes. Mars writes a few hundred; the bound keeps a hostile
 * multi-MiB cord from being decoded and parsed.
 */
export const EVENT_INFO_BYTES_MAX = 64 * 1024;

export function eventInfoToNoun(info: EventInfo): Noun {
  return cord(JSON.stringify(info));
}

/** Reads one INFO cord from mars (checked: a protocol error, `IpcErrorCode.protocol`, names what is wrong). */
export function readEventInfo(n: Noun, where = "INFO"): EventInfo {
  if (!(typeof n === "number" || (n instanceof BigAtom && n.byteLength <= EVENT_INFO_BYTES_MAX))) {
    throw bad(`${where}: expected a cord of at most ${EVENT_INFO_BYTES_MAX} bytes, got ${describeNoun(n)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(cordToString(n));
  } catch {
    throw bad(`${where}: the cord is not JSON`);
  }
  return eventInfoFromJson(v, where);
}

/**
 * An INFO object from parsed JSON (checked), with its fields in one order whatever order they came
 * in, so that printing it gives the same text.
 */
export function eventInfoFromJson(v: unknown, where = "INFO"): EventInfo {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`${where}: expected an object`);
  const o = v as Record<string, unknown>;
  const num = (key: string): number => {
    const x = o[key];
    if (typeof x !== "number" || !Number.isFinite(x)) throw bad(`${where}: "${key}" is not a number`);
    return x;
  };
  const eve = num("eve");
  if (!Number.isSafeInteger(eve) || eve < 1) throw bad(`${where}: "eve" is not an event number`);
  if (typeof o.kind !== "string") throw bad(`${where}: "kind" is not a string`);
  if (o.path !== "pipe" && o.path !== "plea") throw bad(`${where}: "path" is neither "pipe" nor "plea"`);
  if (o.storage !== "inline" && o.storage !== "blob") throw bad(`${where}: "storage" is neither "inline" nor "blob"`);
  const info: EventInfo = { eve, timeMs: num("timeMs"), kind: o.kind, jamBytes: num("jamBytes"), path: o.path, storage: o.storage };
  if (o.detail === undefined) return info;
  if (typeof o.detail !== "object" || o.detail === null || Array.isArray(o.detail)) throw bad(`${where}: "detail" is not an object`);
  for (const [key, value] of Object.entries(o.detail)) {
    if (typeof value !== "string" && typeof value !== "number") throw bad(`${where}: detail "${key}" is neither a string nor a number`);
  }
  return { ...info, detail: o.detail as Record<string, string | number> };
}

function bad(message: string): PleaError {
  return new PleaError(IpcErrorCode.protocol.badShape, message);
}
