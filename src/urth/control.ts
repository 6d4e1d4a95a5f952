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
import type { Socket, UnixSocketListener } from "bun";
import { PleaError } from "../error.ts";

export type ControlRequest =
  | { op: "status" }
  | { op: "ls"; prefix: string }
  | { op: "cat"; path: string }
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
 * follow it are handed to `onBytes` as they arrive (awaited: backpressure reaches the socket).
 */
export async function controlRequest(path: string, req: ControlRequest, onBytes?: (chunk: Uint8Array) => void | Promise<void>): Promise<ControlReply> {
  let reply: ControlReply | undefined;
  let head = new Uint8Array(0);
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  try {
    await Bun.connect({
      unix: path,
      socket: {
        open(s) {
          s.write(JSON.stringify(req) + "\n");
        },
        data(_s, chunk) {
          queue.push(new Uint8Array(chunk));
          wake?.();
        },
        close() {
          done = true;
          wake?.();
        },
        error(_s, e) {
          failure = e;
          done = true;
          wake?.();
        },
      },
    });
  } catch (cause) {
    throw new ControlError(ControlErrorCode.unreachable, `Cannot reach the urth running on this pier (${path}): ${(cause as Error).message}`, { cause });
  }
  for (;;) {
    while (queue.length > 0) {
      let chunk = queue.shift()!;
      if (!reply) {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        const nl = joined.indexOf(10);
        if (nl < 0) {
          if (joined.length > CONTROL_REQUEST_BYTES_MAX) throw new ControlError(ControlErrorCode.protocol, "The running urth sent an overlong reply.");
          head = joined;
          continue;
        }
        try {
          reply = JSON.parse(new TextDecoder().decode(joined.subarray(0, nl))) as ControlReply;
        } catch (cause) {
          throw new ControlError(ControlErrorCode.protocol, "The running urth's reply is not JSON.", { cause });
        }
        chunk = joined.subarray(nl + 1);
        if (chunk.length === 0) continue;
      }
      if (onBytes) await onBytes(chunk);
    }
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  if (!reply) {
    throw new ControlError(ControlErrorCode.unreachable, `The urth running on this pier closed the connection without answering${failure ? `: ${(failure as Error).message}` : ""}.`);
  }
  return reply;
}
