/**
 * The running urth's control socket (`<pier>/.urb/urth.sock`): how `cat`, `ls`, `status` and
 * `stop` reach a pier that a `run` (or `commit`) holds (docs/urth.md, "A second shell").
 *
 * One request per connection: the client writes one JSON line; the server answers with one JSON
 * line, which for `cat` is followed by exactly `size` raw bytes, streamed in pieces as they are
 * peeked so neither side holds a whole file. Only the pier's owner can connect: the socket is
 * created inside `.urb/` with mode 0600.
 */
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import type { Socket, UnixSocketListener } from "bun";
import { PleaError } from "../error.ts";

export type ControlRequest =
  | { op: "status" }
  | { op: "ls"; prefix: string }
  | { op: "cat"; path: string }
  | { op: "log"; limit: number | null }
  | { op: "stop" };

export interface ControlReply {
  ok: boolean;
  code?: string;
  message?: string;
  [key: string]: unknown;
}

/** A request line longer than this is refused (paths are short; anything longer is not ours). */
const CONTROL_REQUEST_BYTES_MAX = 64 * 1024;

export const ControlErrorCode = {
  unreachable: "control_unreachable",
  protocol: "control_protocol",
} as const;

export class ControlError extends PleaError {}

/** What the server does with a request: answer, and for `cat` stream the bytes. */
export type ControlHandler = (req: ControlRequest, out: { reply(r: ControlReply): Promise<void>; bytes(chunk: Uint8Array): Promise<void> }) => Promise<void>;

interface ConnState {
  buf: string;
  handled: boolean;
  drained: (() => void) | undefined;
}

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
          s.data = { buf: "", handled: false, drained: undefined };
        },
        data(s, chunk) {
          const st = s.data;
          if (st.handled) return;
          st.buf += new TextDecoder().decode(chunk);
          const nl = st.buf.indexOf("\n");
          if (nl < 0) {
            if (st.buf.length > CONTROL_REQUEST_BYTES_MAX) s.end();
            return;
          }
          st.handled = true;
          let req: ControlRequest;
          try {
            req = JSON.parse(st.buf.slice(0, nl)) as ControlRequest;
          } catch {
            s.end(JSON.stringify({ ok: false, code: ControlErrorCode.protocol, message: "The request is not JSON." }) + "\n");
            return;
          }
          void serve(s, req, handler);
        },
        drain(s) {
          const d = s.data.drained;
          s.data.drained = undefined;
          d?.();
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
    if (n < 0) throw new ControlError(ControlErrorCode.unreachable, "The client went away.");
    off += n;
    if (off < bytes.length) await new Promise<void>((r) => (s.data.drained = r));
  }
}

async function serve(s: Socket<ConnState>, req: ControlRequest, handler: ControlHandler): Promise<void> {
  const enc = new TextEncoder();
  try {
    await handler(req, {
      reply: (r) => writeAll(s, enc.encode(JSON.stringify(r) + "\n")),
      bytes: (chunk) => writeAll(s, chunk),
    });
  } catch (e) {
    const err = e as PleaError;
    await writeAll(s, enc.encode(JSON.stringify({ ok: false, code: err.code ?? "error", message: err.message }) + "\n")).catch(() => {});
  }
  s.end();
}

/**
 * Sends one request to the urth at `path`. Resolves with the reply; for `cat`, the raw bytes that
 * follow it are handed to `onBytes` as they arrive. The client is node:net's socket because it can
 * pause: while `onBytes` is busy (stdout is slow) nothing more is read, the kernel's socket buffer
 * fills, and the server's writes wait for drain, so the client never buffers the file. (Bun.connect's
 * sockets cannot pause: a `cat` to a slow reader grew to 300 MB of RSS for a 200 MB file; 93 MB now.)
 */
export async function controlRequest(path: string, req: ControlRequest, onBytes?: (chunk: Uint8Array) => void | Promise<void>): Promise<ControlReply> {
  const sock = createConnection({ path });
  let reply: ControlReply | undefined;
  let head = new Uint8Array(0);
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
        let bytes: Uint8Array = chunk;
        if (!reply) {
          const joined = new Uint8Array(head.length + bytes.length);
          joined.set(head);
          joined.set(bytes, head.length);
          const nl = joined.indexOf(10);
          if (nl < 0) {
            if (joined.length > CONTROL_REQUEST_BYTES_MAX) {
              failure = new ControlError(ControlErrorCode.protocol, "The running urth sent an overlong reply.");
              sock.destroy();
            }
            head = joined;
            return;
          }
          try {
            reply = JSON.parse(new TextDecoder().decode(joined.subarray(0, nl))) as ControlReply;
          } catch (cause) {
            failure = new ControlError(ControlErrorCode.protocol, "The running urth's reply is not JSON.", { cause });
            sock.destroy();
            return;
          }
          bytes = joined.subarray(nl + 1);
        }
        if (bytes.length === 0 || !onBytes) return;
        // Pause until this piece is consumed: backpressure reaches the server through the socket.
        sock.pause();
        const piece = bytes;
        busy = busy
          .then(() => onBytes(piece))
          .then(
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
          reject(new ControlError(ControlErrorCode.unreachable, `Cannot reach the urth running on this pier (${path}): ${e.message}`, { cause: e }));
          return;
        }
        failure ??= e;
      });
      sock.on("close", () => resolve());
    });
  } finally {
    sock.destroy();
  }
  await busy;
  if (failure !== undefined) {
    if (failure instanceof Error && !(failure instanceof PleaError) && !reply) {
      throw new ControlError(ControlErrorCode.unreachable, `The urth running on this pier closed the connection without answering: ${failure.message}.`, { cause: failure });
    }
    throw failure;
  }
  if (!reply) {
    throw new ControlError(ControlErrorCode.unreachable, "The urth running on this pier closed the connection without answering.");
  }
  return reply;
}
