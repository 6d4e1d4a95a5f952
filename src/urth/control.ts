/**
 * The running urth's control socket (`<pier>/.urb/urth.sock`): how `cat`, `ls`, `status` and
 * `stop` reach a pier that a `run` (or `commit`) holds (docs/urth.md, "A second shell").
 *
 * One request per connection: the client writes one JSON line (checked by control-request.ts);
 * the server answers with one JSON line, which for `cat` is followed by the file in framed pieces,
 * streamed as they are peeked so neither side holds a whole file, and a last line saying whether
 * every byte was sent (control-stream.ts). Only the pier's owner can connect: the socket is
 * created inside `.urb/` with mode 0600.
 */
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import type { Socket, UnixSocketListener } from "bun";
import { PleaError } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";
import { parseControlRequest, RequestLineReader, type ControlRequest } from "./control-request.ts";
import { opensStream, pieceHead, ReplyReader, STREAM_END, type ControlReply } from "./control-stream.ts";

export type { ControlRequest } from "./control-request.ts";
export type { ControlReply } from "./control-stream.ts";

/** What the server does with a request: answer, and for `cat` stream the bytes. */
export type ControlHandler = (req: ControlRequest, out: { reply(r: ControlReply): Promise<void>; bytes(chunk: Uint8Array): Promise<void> }) => Promise<void>;

interface ConnState {
  request: RequestLineReader;
  handled: boolean;
  drained: (() => void) | undefined;
  /** After a refused request: bytes of the client's that were read and dropped since. */
  discarded: number | undefined;
  /** The connection closed: a write waiting for drain gives up instead of waiting for ever. */
  closed: boolean;
}

/**
 * After refusing a request, the server goes on reading (and dropping) what the client still sends,
 * up to this many bytes, before it closes: a socket closed with unread bytes is reset, and the
 * reset can reach the client before it has read the refusal (seen with a 200 KiB request: the
 * client got ECONNRESET and no answer in about half the runs). Past the bound, the connection is
 * cut: a client that keeps sending is not ours.
 */
const CONTROL_DISCARD_BYTES_MAX = 16 * 1024 * 1024;

/** How long a refused client has to finish sending and close, before the server cuts it off. */
const CONTROL_DISCARD_SECONDS_MAX = 5;

export class ControlServer {
  private constructor(
    private readonly listener: UnixSocketListener<ConnState>,
    readonly path: string,
  ) {}

  /** Listens on `path`, replacing a stale socket file (the caller holds the pier lock). */
  static listen(path: string, handler: ControlHandler): ControlServer {
    if (existsSync(path)) unlinkSync(path);
    const listener = Bun.listen<ConnState>({
      unix: path,
      socket: {
        open(s) {
          s.data = { request: new RequestLineReader(), handled: false, drained: undefined, discarded: undefined, closed: false };
        },
        data(s, chunk) {
          const st = s.data;
          if (st.discarded !== undefined) {
            st.discarded += chunk.length;
            if (st.discarded > CONTROL_DISCARD_BYTES_MAX) s.terminate();
            return;
          }
          if (st.handled) return;
          let req: ControlRequest;
          try {
            const line = st.request.push(chunk);
            if (line === undefined) return;
            st.handled = true;
            req = parseControlRequest(line);
          } catch (e) {
            // Too long, not UTF-8, not JSON, wrong types: one typed answer, then the door closes.
            st.handled = true;
            const err = e as PleaError;
            // The answer, then only our half closes: what the client still sends is read and dropped
            // (CONTROL_DISCARD_BYTES_MAX) until it closes its half, so no reset overtakes the answer.
            s.write(JSON.stringify({ ok: false, code: err.code ?? UrthErrorCode.control.protocol, message: err.message }) + "\n");
            s.shutdown();
            st.discarded = 0;
            s.timeout(CONTROL_DISCARD_SECONDS_MAX);
            return;
          }
          void serve(s, req, handler);
        },
        drain(s) {
          const d = s.data.drained;
          s.data.drained = undefined;
          d?.();
        },
        // A client that stopped reading and then went away (`cat big | less`, then q) must not
        // leave its handler waiting for a drain that never comes, holding the file it was reading.
        close(s) {
          s.data.closed = true;
          const d = s.data.drained;
          s.data.drained = undefined;
          d?.();
        },
        // Only a refused client has a timeout (CONTROL_DISCARD_SECONDS_MAX): cut it off.
        timeout(s) {
          s.terminate();
        },
        error() {},
      },
    });
    chmodSync(path, 0o600);
    return new ControlServer(listener, path);
  }

  close(): void {
    this.listener.stop(true);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

async function writeAll(s: Socket<ConnState>, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const n = s.write(bytes.subarray(off));
    if (n < 0 || s.data.closed) throw new PleaError(UrthErrorCode.control.unreachable, "The client went away");
    off += n;
    if (off < bytes.length) await new Promise<void>((r) => (s.data.drained = r));
    if (s.data.closed) throw new PleaError(UrthErrorCode.control.unreachable, "The client went away");
  }
}

/**
 * Runs the handler for one request. A `cat` reply opens a stream: each piece goes out framed, and
 * a last line says whether every byte was sent or why not (control-stream.ts). An error before
 * the reply is the reply; after it, it is the stream's last line, never mistaken for file bytes.
 */
async function serve(s: Socket<ConnState>, req: ControlRequest, handler: ControlHandler): Promise<void> {
  const enc = new TextEncoder();
  const line = (r: ControlReply) => writeAll(s, enc.encode(JSON.stringify(r) + "\n"));
  let streaming = false;
  try {
    await handler(req, {
      reply: (r) => {
        streaming = opensStream(r);
        return line(r);
      },
      bytes: async (chunk) => {
        if (chunk.length === 0) return;
        await writeAll(s, pieceHead(chunk.length));
        await writeAll(s, chunk);
      },
    });
    if (streaming) await line(STREAM_END);
  } catch (e) {
    const err = e as PleaError;
    await line({ ok: false, code: err.code ?? UrthErrorCode.control.failed, message: err.message }).catch(() => {});
  }
  s.end();
}

/**
 * Sends one request to the urth at `path`. Resolves with the reply; for `cat`, the file's bytes
 * are handed to `onBytes` as they arrive, and the promise resolves only once the server said all
 * of them were sent (control-stream.ts counts them against the size). A stream that stops early
 * rejects with the server's reason, or with `interrupted` if the urth went away. The client is
 * node:net's socket because it can pause: while `onBytes` is busy (stdout is slow) nothing more is
 * read, the kernel's socket buffer fills, and the server's writes wait for drain, so the client
 * never buffers the file. (Bun.connect's sockets cannot pause: a `cat` to a slow reader grew to
 * 300 MB of RSS for a 200 MB file; 93 MB now.)
 */
export async function controlRequest(path: string, req: ControlRequest, onBytes?: (chunk: Uint8Array) => void | Promise<void>): Promise<ControlReply> {
  const sock = createConnection({ path });
  const answer = new ReplyReader();
  let reply: ControlReply | undefined;
  let last: ControlReply | undefined;
  let connected = false;
  let busy: Promise<void> = Promise.resolve();
  let failure: unknown;
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", () => {
        connected = true;
        sock.write(JSON.stringify(req) + "\n");
      });
      sock.on("data", (chunk: Uint8Array) => {
        if (failure !== undefined) return;
        let events;
        try {
          events = answer.push(chunk);
        } catch (e) {
          failure = e;
          sock.destroy();
          return;
        }
        let pieces = false;
        for (const ev of events) {
          if (ev.kind === "reply") reply = ev.reply;
          else if (ev.kind === "end") last = ev.last;
          else if (onBytes) {
            pieces = true;
            const piece = ev.bytes;
            busy = busy.then(() => onBytes(piece));
          }
        }
        if (!pieces) return;
        // Pause until these bytes are consumed: backpressure reaches the server through the socket.
        sock.pause();
        busy = busy.then(
          () => {
            if (failure === undefined) sock.resume();
          },
          (e) => {
            failure ??= e;
            sock.destroy();
          },
        );
      });
      sock.on("error", (e) => {
        if (!connected) {
          reject(new PleaError(UrthErrorCode.control.unreachable, `Cannot reach the urth running on this pier (${path}): ${e.message}`, { cause: e }));
        }
        // Once connected, a reset (the urth was killed) ends the answer like a close: the reader
        // below says whether it was complete.
      });
      sock.on("close", () => resolve());
    });
  } finally {
    sock.destroy();
  }
  await busy;
  // A reply that broke the protocol, or `onBytes` failing (stdout closed: `output_closed`).
  if (failure !== undefined) throw failure;
  // No reply (unreachable: safe to retry), or a stream cut short (interrupted).
  answer.close();
  if (last && !last.ok) {
    // The server's reason the stream stopped. Bytes were delivered: never a retryable code.
    const code = !last.code || last.code === UrthErrorCode.control.unreachable ? UrthErrorCode.control.interrupted : last.code;
    throw new PleaError(code, last.message ?? "The running urth stopped sending the file");
  }
  return reply!;
}
