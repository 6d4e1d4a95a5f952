/**
 * The main thread's side of the read worker (read-worker.ts): starts it on the control socket,
 * tells it what only the main thread knows, and stops it. A running urth serves reads this way
 * so that they never wait for a commit (docs/urth.md, "Reads during a commit"); when the worker
 * cannot start (the pier's read view cannot be opened), the session serves the socket from the
 * main thread through mars instead, as before (session.ts).
 */
import { PleaError } from "../error.ts";
import type { CommitFlight } from "./commit-flight.ts";
import type { ControlHandler, ControlRequest } from "./control.ts";
import type { ControlReply } from "./control-stream.ts";
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

/**
 * What the worker cannot answer from the read view (it needs mars: `du`, `chop`, a read at an
 * older event) it forwards to the main thread, which runs it with the session's own handler
 * (control-handler.ts) and sends back the reply, the streamed bytes (one at a time: the worker
 * acknowledges each once the client's socket took it, so neither side buffers a whole file) and
 * the end, with the error if the handler threw.
 */
export type ReadWorkerUpdate =
  | { type: "last-commit"; value: unknown }
  | { type: "du"; value: unknown }
  | { type: "rels"; set: [string, string][]; del: string[] }
  | { type: "close" }
  | { type: "forward-reply"; id: number; reply: ControlReply }
  | { type: "forward-bytes"; id: number; chunk: Uint8Array }
  | { type: "forward-end"; id: number; error?: { code: string; message: string } };

export type ReadWorkerReply =
  | { type: "ready" }
  | { type: "failed"; code: string; message: string }
  | { type: "stop" }
  | { type: "closed" }
  /** The worker hit an error it cannot recover from; it has closed its socket. */
  | { type: "died"; message: string }
  | { type: "forward"; id: number; req: ControlRequest }
  | { type: "forward-ack"; id: number; error?: string };

/** Whether the read worker answers `req` itself, or forwards it to the main thread (it needs mars). */
export function servedByWorker(req: ControlRequest): boolean {
  switch (req.op) {
    case "status":
    case "ls":
    case "cat":
    case "log":
    case "stop":
      return !("at" in req && req.at !== undefined);
    default:
      return false;
  }
}

/** How long the worker has to open the view and listen before urth serves reads itself. */
const READ_WORKER_START_MS_MAX = 30_000;

/** How long closing waits for the worker to close the socket before it is terminated. */
const READ_WORKER_CLOSE_MS_MAX = 5_000;

export class ReadServer {
  private closed: Promise<void> | undefined;
  private failed = false;

  private constructor(private readonly worker: Worker) {}

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
    const server = new ReadServer(worker);
    worker.onmessage = (e: MessageEvent<ReadWorkerReply>) => {
      const m = e.data;
      if (m.type === "stop") onStop();
      else if (m.type === "forward") void server.runForwarded(m.id, m.req, forward);
      else if (m.type === "forward-ack") server.acked(m.id, m.error);
      else if (m.type === "died") failed(m.message);
    };
    // An uncaught error ends a worker, and its socket with it: readers would find no one there
    // until their wait ran out (2 minutes). Say so once, and let the caller take the socket over.
    const failed = (message: string) => {
      if (server.closed !== undefined || server.failed) return;
      server.failed = true;
      worker.terminate();
      onFailed(message);
    };
    worker.onerror = (e) => failed(`the read worker failed: ${e.message}`);
    worker.addEventListener("close", () => failed("the read worker exited"));
    // The worker must not keep urth alive: urth exits when its session is over.
    worker.unref();
    return server;
  }

  private readonly acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  /** Runs a request the worker forwarded, and sends back what the handler answers. */
  private async runForwarded(id: number, req: ControlRequest, handler: ControlHandler): Promise<void> {
    const post = (m: ReadWorkerUpdate) => this.worker.postMessage(m);
    try {
      await handler(req, {
        reply: async (reply) => post({ type: "forward-reply", id, reply }),
        bytes: (chunk) =>
          new Promise<void>((resolve, reject) => {
            this.acks.set(id, { resolve, reject });
            post({ type: "forward-bytes", id, chunk });
          }),
      });
      post({ type: "forward-end", id });
    } catch (e) {
      const err = e as PleaError;
      post({ type: "forward-end", id, error: { code: String(err.code ?? UrthErrorCode.control.failed), message: err.message ?? String(e) } });
    } finally {
      this.acks.delete(id);
    }
  }

  private acked(id: number, error: string | undefined): void {
    const a = this.acks.get(id);
    this.acks.delete(id);
    if (a === undefined) return;
    if (error === undefined) a.resolve();
    else a.reject(new PleaError(UrthErrorCode.control.unreachable, error));
  }

  lastCommit(value: unknown): void {
    this.worker.postMessage({ type: "last-commit", value } satisfies ReadWorkerUpdate);
  }

  /** The pier's disk use as of `value.eve`, for `status --json` (session.ts refreshes it). */
  du(value: unknown): void {
    this.worker.postMessage({ type: "du", value } satisfies ReadWorkerUpdate);
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
