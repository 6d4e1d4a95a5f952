/**
 * The main thread's side of the read worker (read-worker.ts): starts it on the control socket,
 * tells it what only the main thread knows, and stops it. A running urth serves reads this way
 * so that they never wait for a commit (docs/urth.md, "Reads during a commit"); when the worker
 * cannot start (the pier's read view cannot be opened), the session serves the socket from the
 * main thread through mars instead, as before (session.ts).
 *
 * What the view cannot answer (`ls --at`, `cat --at`: the view holds only the latest state) the
 * worker forwards here, and the main thread answers it through mars (`forward`, the same handler
 * that serves the socket when there is no worker). The answer goes back as messages: the reply,
 * then for `cat` its pieces, one at a time (each waits for the worker to have written the one
 * before to the socket, so a slow reader holds at most one piece here and one there), then the end.
 */
import { PleaError } from "../error.ts";
import type { CommitFlight } from "./commit-flight.ts";
import type { ControlHandler, ControlReply, ControlRequest } from "./control.ts";
import { UrthErrorCode } from "./errors.ts";

export interface ReadWorkerInit {
  type: "init";
  pier: string;
  socket: string;
  flight: SharedArrayBuffer;
  namespace: string;
  marsPid: number;
  shm: unknown;
  /** Clay key -> mount path, where the Clay path alone does not say it (view-reads.ts `viewLs`). */
  rels: [string, string][];
}

export type ReadWorkerUpdate =
  | { type: "last-commit"; value: unknown }
  | { type: "rels"; set: [string, string][]; del: string[] }
  | { type: "close" }
  /** A forwarded request's reply line, its pieces, and its end (with the error that ended it). */
  | { type: "forward-reply"; id: number; reply: ControlReply }
  | { type: "forward-bytes"; id: number; chunk: Uint8Array }
  | { type: "forward-end"; id: number; error?: { code: string; message: string } };

export type ReadWorkerReply =
  | { type: "ready" }
  | { type: "failed"; code: string; message: string }
  | { type: "stop" }
  | { type: "closed" }
  /** A request the view cannot answer, for the main thread. */
  | { type: "forward"; id: number; req: ControlRequest }
  /** The forwarded piece was written to the socket (ok), or it never will be: the client went away. */
  | { type: "forward-ack"; id: number; ok: boolean };

/** How long the worker has to open the view and listen before urth serves reads itself. */
const READ_WORKER_START_MS_MAX = 30_000;

/** How long closing waits for the worker to close the socket before it is terminated. */
const READ_WORKER_CLOSE_MS_MAX = 5_000;

export class ReadServer {
  private closed: Promise<void> | undefined;
  private failed = false;
  /** Forwarded `cat`s waiting for the worker to have written their last piece. */
  private readonly acks = new Map<number, (ok: boolean) => void>();

  private constructor(
    private readonly worker: Worker,
    private readonly forward: ControlHandler,
  ) {}

  /**
   * Starts the worker; rejects (and leaves nothing running) if it cannot serve. `onFailed` is
   * called once if the worker dies later (its socket is gone with it): the caller serves the
   * socket itself from then on.
   */
  static async start(
    init: Omit<ReadWorkerInit, "type" | "flight">,
    flight: CommitFlight,
    onStop: () => void,
    onFailed: (message: string) => void,
    forward: ControlHandler,
  ): Promise<ReadServer> {
    const worker = new Worker(new URL("./read-worker.ts", import.meta.url).href);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PleaError(UrthErrorCode.control.failed, `The read worker did not start within ${READ_WORKER_START_MS_MAX / 1000} s`)), READ_WORKER_START_MS_MAX);
        worker.onmessage = (e: MessageEvent<ReadWorkerReply>) => {
          const m = e.data;
          if (m.type === "ready") {
            clearTimeout(timer);
            resolve();
          } else if (m.type === "failed") {
            clearTimeout(timer);
            reject(new PleaError(m.code, m.message));
          }
        };
        worker.onerror = (e) => {
          clearTimeout(timer);
          reject(new PleaError(UrthErrorCode.control.failed, `The read worker failed to start: ${e.message}`));
        };
        worker.postMessage({ type: "init", ...init, flight: flight.buffer } satisfies ReadWorkerInit);
      });
    } catch (e) {
      worker.terminate();
      throw e;
    }
    const server = new ReadServer(worker, forward);
    worker.onmessage = (e: MessageEvent<ReadWorkerReply>) => {
      const m = e.data;
      if (m.type === "stop") onStop();
      else if (m.type === "forward") void server.serveForward(m.id, m.req);
      else if (m.type === "forward-ack") server.settleAck(m.id, m.ok);
    };
    // An uncaught error ends a worker, and its socket with it: readers would find no one there
    // until their wait ran out (2 minutes). Say so once, and let the caller take the socket over.
    const failed = (message: string) => {
      if (server.closed !== undefined || server.failed) return;
      server.failed = true;
      worker.terminate();
      server.dropAcks();
      onFailed(message);
    };
    worker.onerror = (e) => failed(`the read worker failed: ${e.message}`);
    worker.addEventListener("close", () => failed("the read worker exited"));
    // The worker must not keep urth alive: urth exits when its session is over.
    worker.unref();
    return server;
  }

  /** Answers a forwarded request through `forward`, sending its answer back to the worker. */
  private async serveForward(id: number, req: ControlRequest): Promise<void> {
    const post = (m: ReadWorkerUpdate, transfer: ArrayBuffer[] = []) => {
      if (this.closed === undefined && !this.failed) this.worker.postMessage(m, transfer);
    };
    try {
      await this.forward(req, {
        reply: async (reply) => post({ type: "forward-reply", id, reply }),
        bytes: async (chunk) => {
          if (chunk.length === 0) return;
          // A copy of its own, moved to the worker: a piece may be a view into a larger buffer,
          // which a message would otherwise copy whole.
          const own = chunk.slice();
          const written = new Promise<boolean>((resolve) => this.acks.set(id, resolve));
          post({ type: "forward-bytes", id, chunk: own }, [own.buffer]);
          if (!(await written)) throw new PleaError(UrthErrorCode.control.unreachable, "The client went away");
        },
      });
      post({ type: "forward-end", id });
    } catch (e) {
      const err = e as PleaError;
      post({ type: "forward-end", id, error: { code: err.code ?? UrthErrorCode.control.failed, message: err.message ?? String(e) } });
    } finally {
      this.acks.delete(id);
    }
  }

  private settleAck(id: number, ok: boolean): void {
    const ack = this.acks.get(id);
    this.acks.delete(id);
    ack?.(ok);
  }

  /** No piece will be written any more: forwarded `cat`s stop. */
  private dropAcks(): void {
    for (const ack of this.acks.values()) ack(false);
    this.acks.clear();
  }

  lastCommit(value: unknown): void {
    this.worker.postMessage({ type: "last-commit", value } satisfies ReadWorkerUpdate);
  }

  rels(set: [string, string][], del: string[]): void {
    if (set.length > 0 || del.length > 0) this.worker.postMessage({ type: "rels", set, del } satisfies ReadWorkerUpdate);
  }

  /** Closes the socket (no new reads) and ends the worker. */
  close(): Promise<void> {
    if (this.failed) return Promise.resolve();
    this.closed ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.worker.terminate();
        this.dropAcks();
        resolve();
      };
      const timer = setTimeout(done, READ_WORKER_CLOSE_MS_MAX);
      this.worker.onmessage = (e: MessageEvent<ReadWorkerReply>) => {
        if (e.data.type === "closed") done();
      };
      this.worker.postMessage({ type: "close" } satisfies ReadWorkerUpdate);
    });
    return this.closed;
  }
}
