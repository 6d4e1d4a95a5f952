/**
 * What `urth log` lists: the INFO of the pier's last events. Like `cat`, `ls` and `status`, it
 * asks the running urth over the control socket when one holds the pier (its read worker reads the
 * INFO table read-only, read-worker.ts), or else a session of its own, whose mars answers
 * `/plea/log` peeks (docs/ipc.md "Peeks", docs/urth.md).
 *
 * Through the socket the reply `{"ok":true,"stream":true}` opens a framed stream
 * (control-stream.ts) that holds one JSON line per event and `{"end":N}` with their count, then the
 * stream's last line: a holder that dies part-way is an error, never a short list.
 */
import { PleaError } from "../error.ts";
import { eventInfoFromJson, type EventInfo } from "../ipc/event-info.ts";
import { LOG_PEEK_EVENTS_MAX } from "../ipc/peek-path.ts";
import type { ControlReply } from "./control.ts";
import { UrthErrorCode } from "./errors.ts";
import { eventInfos } from "./peeks.ts";
import { replyError, withPier } from "./pier-view.ts";
import type { Session } from "./session.ts";

/**
 * The INFO of the last `limit` events (every event when undefined), in order, handed over a page
 * (one peek) at a time.
 */
export async function sessionLog(s: Session, limit: number | undefined, onPage: (infos: EventInfo[]) => Promise<void> | void): Promise<void> {
  const last = s.mars.eve;
  const from = Math.max(1, last - (limit ?? last) + 1);
  for (let first = from; first <= last; first += LOG_PEEK_EVENTS_MAX) {
    await onPage(await eventInfos(s.mars, first, Math.min(last, first + LOG_PEEK_EVENTS_MAX - 1)));
  }
}

/** The running urth's side of `{"op":"log"}`: the reply, the events' lines, the count. */
export async function serveLog(s: Session, limit: number | undefined, out: { reply(r: ControlReply): Promise<void>; bytes(chunk: Uint8Array): Promise<void> }): Promise<void> {
  // A stream of unknown length (control-stream.ts): pieces, then the server's last line.
  await out.reply({ ok: true, stream: true });
  const enc = new TextEncoder();
  let count = 0;
  await sessionLog(s, limit, async (infos) => {
    count += infos.length;
    if (infos.length > 0) await out.bytes(enc.encode(infos.map((i) => JSON.stringify(i) + "\n").join("")));
  });
  await out.bytes(enc.encode(JSON.stringify({ end: count }) + "\n"));
}

/**
 * The reading side of the same stream: `push` the bytes that follow the reply, then `end` checks
 * that the count line came and agrees, and returns the events.
 */
export class LogLines {
  private readonly infos: EventInfo[] = [];
  private pending = new Uint8Array(0);
  private count: number | undefined;
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    let start = 0;
    for (let nl = joined.indexOf(10, start); nl >= 0; nl = joined.indexOf(10, start)) {
      this.line(this.decoder.decode(joined.subarray(start, nl)));
      start = nl + 1;
    }
    this.pending = joined.slice(start);
  }

  end(): EventInfo[] {
    if (this.pending.length > 0 || this.count === undefined) {
      throw new PleaError(UrthErrorCode.control.protocol, `The running urth stopped after ${this.infos.length} events of the log; run log again`);
    }
    return this.infos;
  }

  private line(text: string): void {
    if (this.count !== undefined) throw new PleaError(UrthErrorCode.control.protocol, "The running urth sent more after the end of the log");
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (cause) {
      throw new PleaError(UrthErrorCode.control.protocol, "The running urth sent a log line that is not JSON", { cause });
    }
    const o = v as { ok?: unknown; end?: unknown; message?: unknown };
    // The server's error line, when it failed part-way (control.ts).
    if (o !== null && typeof o === "object" && o.ok === false) throw new PleaError(UrthErrorCode.control.protocol, `The running urth failed while sending the log: ${String(o.message)}`);
    if (o !== null && typeof o === "object" && "end" in o) {
      if (o.end !== this.infos.length) throw new PleaError(UrthErrorCode.control.protocol, `The running urth sent ${this.infos.length} events of the log and counted ${String(o.end)}; run log again`);
      this.count = this.infos.length;
      return;
    }
    this.infos.push(eventInfoFromJson(v, `Log line ${this.infos.length + 1}`));
  }
}

/** The INFO of the pier's last `limit` events (every event when undefined), oldest first. */
export async function readLog(root: string, limit: number | undefined): Promise<EventInfo[]> {
  const lines = new LogLines();
  return withPier(
    root,
    async (s) => {
      const infos: EventInfo[] = [];
      await sessionLog(s, limit, (page) => void infos.push(...page));
      return infos;
    },
    { op: "log", limit: limit ?? null },
    (reply) => {
      if (!reply.ok) throw replyError(reply);
      return lines.end();
    },
    (chunk) => lines.push(chunk),
  );
}
