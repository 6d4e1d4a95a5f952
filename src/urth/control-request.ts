/**
 * The server's side of a control request (control.ts): bytes in, one checked request out. No I/O.
 *
 * A request is one JSON line. The line is gathered as bytes and decoded once it is whole, so a
 * character split across two reads stays one character; its length is checked in bytes whether
 * or not the newline came in the same read; and its fields are checked for their types, so a
 * wrong request gets a sentence for a person rather than a TypeError.
 */
import { PleaError } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";
import { CHOP_KEEP_MAX } from "../ipc/task.ts";

export type ControlRequest =
  | { op: "status" }
  /** `at`: as after that event (`ls --at`, `cat --at`), served through mars, never the read view. */
  | { op: "ls"; prefix: string; at?: number }
  | { op: "cat"; path: string; at?: number }
  | { op: "log"; limit: number | null }
  | { op: "stop" }
  | { op: "du" }
  | { op: "chop"; keep: number };

/** A request line longer than this is refused: paths are short; anything longer is not ours. */
export const CONTROL_REQUEST_BYTES_MAX = 64 * 1024;

const NEWLINE = 0x0a;

/** Gathers one request line from a connection's reads. */
export class RequestLineReader {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /**
   * Takes the next read. Returns the line without its newline once it is complete, else
   * undefined. Throws `control_protocol` once the line is over CONTROL_REQUEST_BYTES_MAX bytes.
   * Bytes after the newline are ignored: one request per connection.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    const nl = chunk.indexOf(NEWLINE);
    const take = nl < 0 ? chunk : chunk.subarray(0, nl);
    if (this.length + take.length > CONTROL_REQUEST_BYTES_MAX) {
      throw new PleaError(UrthErrorCode.control.protocol, `The request is longer than ${CONTROL_REQUEST_BYTES_MAX} bytes; a request is one short JSON line`);
    }
    // Copied: the socket may reuse the buffer it handed us.
    this.chunks.push(take.slice());
    this.length += take.length;
    if (nl < 0) return undefined;
    const line = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      line.set(c, off);
      off += c.length;
    }
    return line;
  }
}

const OPS = ["status", "ls", "cat", "log", "stop", "du", "chop"] as const;

/** Decodes and checks a request line. Throws `control_protocol` saying what is wrong. */
export function parseControlRequest(line: Uint8Array): ControlRequest {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(line);
  } catch {
    throw new PleaError(UrthErrorCode.control.protocol, "The request is not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PleaError(UrthErrorCode.control.protocol, "The request is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PleaError(UrthErrorCode.control.protocol, 'The request is not a JSON object; send {"op":...}');
  }
  const req = value as Record<string, unknown>;
  const op = req.op;
  if (typeof op !== "string" || !(OPS as readonly string[]).includes(op)) {
    throw new PleaError(UrthErrorCode.control.protocol, `Unknown request ${JSON.stringify(op ?? null)}; "op" is one of ${OPS.join(", ")}`);
  }
  switch (op as (typeof OPS)[number]) {
    case "status":
      return { op: "status" };
    case "stop":
      return { op: "stop" };
    case "du":
      return { op: "du" };
    case "chop": {
      const keep = req.keep;
      if (!(Number.isSafeInteger(keep) && (keep as number) >= 0 && (keep as number) <= CHOP_KEEP_MAX)) {
        throw new PleaError(UrthErrorCode.control.protocol, `A chop request's "keep" must be a whole number from 0 to ${CHOP_KEEP_MAX}`);
      }
      return { op: "chop", keep: keep as number };
    }
    case "ls": {
      const prefix = req.prefix ?? "";
      if (typeof prefix !== "string") throw new PleaError(UrthErrorCode.control.protocol, 'An ls request\'s "prefix" must be a string');
      const at = eventField(req.at, "ls");
      return at === undefined ? { op: "ls", prefix } : { op: "ls", prefix, at };
    }
    case "cat": {
      const path = req.path;
      if (typeof path !== "string" || path === "") throw new PleaError(UrthErrorCode.control.protocol, 'A cat request needs "path", a non-empty string');
      const at = eventField(req.at, "cat");
      return at === undefined ? { op: "cat", path } : { op: "cat", path, at };
    }
    case "log": {
      const limit = req.limit ?? null;
      if (limit !== null && !(Number.isSafeInteger(limit) && (limit as number) >= 0)) {
        throw new PleaError(UrthErrorCode.control.protocol, 'A log request\'s "limit" must be null or a whole number from 0');
      }
      return { op: "log", limit: limit as number | null };
    }
  }
}

/** An `at` field: absent (or null), or an event number from 1. */
function eventField(value: unknown, op: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new PleaError(UrthErrorCode.control.protocol, `A ${op} request's "at" must be an event number from 1`);
  }
  return value;
}
