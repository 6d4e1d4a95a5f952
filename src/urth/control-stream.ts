/**
 * What the server sends back on the control socket, and the client's reading of it: a state
 * machine over the bytes, no I/O (control.ts does the socket). docs/urth.md, "A second shell".
 *
 *   reply   one JSON line: {"ok":true,...} or {"ok":false,"code":...,"message":...}
 *
 * A `cat` reply, {"ok":true,"size":N}, is followed by the file in pieces, each a line
 * {"bytes":n} and then n raw bytes, and by a last line: {"ok":true} once all N bytes were sent,
 * or {"ok":false,"code":...,"message":...} saying why the rest will not come (a commit changed the
 * file, mars died). Framing the pieces is what lets an error arrive after bytes did without being
 * taken for file bytes; counting them against N is what tells a complete file from one cut off
 * by an urth that was killed (the connection closes before the last line).
 *
 * A `log` reply, {"ok":true,"stream":true}, opens a stream of the same pieces whose length is not
 * known in advance (the log's lines, docs/urth.md): only its last line tells it complete.
 */
import { PleaError } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";

export interface ControlReply {
  ok: boolean;
  code?: string;
  message?: string;
  [key: string]: unknown;
}

/**
 * A reply line longer than this is refused. An `ls` reply lists every file on one line (about
 * 100 bytes a file): 256 MiB is over two million files.
 */
export const CONTROL_REPLY_BYTES_MAX = 256 * 1024 * 1024;

/** The last line of a `cat` stream that delivered every byte. */
export const STREAM_END: ControlReply = { ok: true };

const NEWLINE = 0x0a;
const encoder = new TextEncoder();

/** Whether `reply` opens a stream of pieces (a `cat` that found its file). */
export function opensStream(reply: ControlReply): boolean {
  return reply.ok && (typeof reply.size === "number" || reply.stream === true);
}

/** The line that precedes a piece of `length` raw bytes. */
export function pieceHead(length: number): Uint8Array {
  return encoder.encode(`{"bytes":${length}}\n`);
}

export type ReplyEvent =
  /** The reply line. */
  | { kind: "reply"; reply: ControlReply }
  /** Bytes of the file, in order (a piece may arrive over several reads). */
  | { kind: "bytes"; bytes: Uint8Array }
  /** The stream's last line: ok with every byte delivered, or the reason it stopped. */
  | { kind: "end"; last: ControlReply };

/** The client's reading of one answer. Throws `control_protocol` on anything out of protocol. */
export class ReplyReader {
  private state: "reply" | "head" | "piece" | "done" = "reply";
  private readonly line: Uint8Array[] = [];
  private lineLength = 0;
  /** The file's size, from the reply; undefined for a stream of unknown length (`log`). */
  private size: number | undefined = 0;
  /** File bytes delivered so far. */
  private received = 0;
  /** Bytes of the current piece not yet delivered. */
  private pieceLeft = 0;

  /** Whether the answer is complete. */
  get done(): boolean {
    return this.state === "done";
  }

  /** Takes the next read; returns what it completed, in order. */
  push(chunk: Uint8Array): ReplyEvent[] {
    const events: ReplyEvent[] = [];
    let off = 0;
    // Anything after the answer is not ours to read (one request per connection).
    while (off < chunk.length && this.state !== "done") {
      if (this.state === "piece") {
        const n = Math.min(this.pieceLeft, chunk.length - off);
        events.push({ kind: "bytes", bytes: chunk.subarray(off, off + n) });
        off += n;
        this.pieceLeft -= n;
        this.received += n;
        if (this.pieceLeft === 0) this.state = "head";
        continue;
      }
      const nl = chunk.indexOf(NEWLINE, off);
      const end = nl < 0 ? chunk.length : nl;
      this.lineLength += end - off;
      if (this.lineLength > CONTROL_REPLY_BYTES_MAX) throw protocol(`sent a line longer than ${CONTROL_REPLY_BYTES_MAX} bytes`);
      this.line.push(chunk.slice(off, end));
      if (nl < 0) break;
      off = nl + 1;
      const event = this.onLine(this.takeLine());
      if (event) events.push(event);
    }
    return events;
  }

  /**
   * The connection closed. Throws if the answer is incomplete: no reply at all (unreachable: no
   * byte was delivered, so the request may be sent again), or a stream cut short (interrupted).
   */
  close(): void {
    if (this.state === "done") return;
    if (this.state === "reply") throw new PleaError(UrthErrorCode.control.unreachable, "The urth running on this pier closed the connection without answering");
    throw new PleaError(
      UrthErrorCode.control.interrupted,
      this.size === undefined
        ? `The urth holding the pier went away after sending ${this.received} bytes (it exited or was killed); the output is incomplete. Run the command again`
        : `The urth holding the pier went away after sending ${this.received} of ${this.size} bytes (it exited or was killed); the output is incomplete. Run cat again`,
    );
  }

  private takeLine(): ControlReply {
    const bytes = new Uint8Array(this.lineLength);
    let off = 0;
    for (const part of this.line) {
      bytes.set(part, off);
      off += part.length;
    }
    this.line.length = 0;
    this.lineLength = 0;
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (cause) {
      throw protocol(`sent a line that is not JSON: ${(cause as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw protocol("sent a line that is not a JSON object");
    return value as ControlReply;
  }

  private onLine(value: ControlReply): ReplyEvent | undefined {
    if (this.state === "reply") {
      if (typeof value.ok !== "boolean") throw protocol('sent a reply without "ok"');
      if (opensStream(value)) {
        if (value.size === undefined) this.size = undefined;
        else if (!Number.isSafeInteger(value.size) || (value.size as number) < 0) throw protocol(`announced a file of ${String(value.size)} bytes`);
        else this.size = value.size as number;
        this.state = "head";
      } else {
        this.state = "done";
      }
      return { kind: "reply", reply: value };
    }
    // A piece's head, or the stream's last line.
    if (typeof value.bytes === "number") {
      const n = value.bytes;
      const left = this.size === undefined ? Number.MAX_SAFE_INTEGER - this.received : this.size - this.received;
      if (!Number.isSafeInteger(n) || n <= 0 || n > left) {
        throw protocol(`announced a piece of ${n} bytes with ${left} of ${this.size ?? "an unknown number of"} left`);
      }
      this.pieceLeft = n;
      this.state = "piece";
      return undefined;
    }
    if (typeof value.ok !== "boolean") throw protocol('sent a line that is neither a piece nor the last line');
    if (value.ok && this.size !== undefined && this.received !== this.size) throw protocol(`ended the file after ${this.received} of ${this.size} bytes`);
    this.state = "done";
    return { kind: "end", last: value };
  }
}

function protocol(what: string): PleaError {
  return new PleaError(UrthErrorCode.control.protocol, `The urth running on this pier ${what}; urth and the running urth disagree about the protocol`);
}
