/**
 * The read worker: a Bun Worker in a running urth (`run`, `commit`) that owns the control socket
 * and answers `status`, `ls`, `cat` and `log` from the pier's read view (view-reads.ts), so no
 * read waits for the commit that urth's main thread and mars are busy with (docs/urth.md, "Reads
 * during a commit"). What only the main thread knows reaches it as messages (the last commit,
 * mount paths the Clay path does not say) or through shared memory (the commit in flight,
 * commit-flight.ts); `stop` goes back to the main thread as a message.
 *
 * Started by read-server.ts; this file runs only inside the Worker.
 */
import { isPleaError } from "../error.ts";
import { listMemfdSegments, listSegments } from "../ffi/index.ts";
import { ReadView } from "../view/index.ts";
import { CommitFlight } from "./commit-flight.ts";
import { ControlServer, type ControlHandler } from "./control.ts";
import { clayPathArg } from "./clay-path.ts";
import { UrthErrorCode } from "./errors.ts";
import { servedByWorker, type ReadWorkerInit, type ReadWorkerReply, type ReadWorkerUpdate } from "./read-server.ts";
import { PleaError } from "../error.ts";
import type { ControlReply } from "./control-stream.ts";
import { ListingCache, viewCat, viewLog, viewLs, viewTotals } from "./view-reads.ts";

declare const self: Worker;

let server: ControlServer | undefined;
let view: ReadView | undefined;
let init: ReadWorkerInit | undefined;
let flight: CommitFlight | undefined;
let lastCommit: unknown = null;
/** The main thread's last `du` (null until it has one): the worker cannot ask mars. */
let du: unknown = null;
const rels = new Map<string, string>();
const listings = new ListingCache();

function post(m: ReadWorkerReply): void {
  self.postMessage(m);
}

type ForwardOut = Parameters<ControlHandler>[1];
/** Requests forwarded to the main thread, by id: where their answer goes, and how they end. */
const forwarded = new Map<number, { out: ForwardOut; done: (error?: { code: string; message: string }) => void; chain: Promise<unknown> }>();
let nextForwardId = 1;

/** Hands a request that needs mars to the main thread (read-server.ts) and relays its answer. */
function forward(req: Parameters<ControlHandler>[0], out: ForwardOut): Promise<void> {
  const id = nextForwardId++;
  return new Promise<void>((resolve, reject) => {
    forwarded.set(id, {
      out,
      // The reply, each piece and the end are written in the order they came: one socket write waits for the last.
      chain: Promise.resolve(),
      done: (error) => {
        forwarded.delete(id);
        if (error === undefined) resolve();
        else reject(new PleaError(error.code, error.message));
      },
    });
    post({ type: "forward", id, req });
  });
}

const handler: ControlHandler = async (req, out) => {
  if (!servedByWorker(req)) return forward(req, out);
  const v = view!;
  const i = init!;
  switch (req.op) {
    case "status": {
      const totals = viewTotals(v);
      await out.reply({
        ok: true,
        status: {
          pier: i.pier,
          ...totals,
          lastCommit,
          commit: flight!.read(),
          du,
          shm: i.shm,
          segments: [
            ...listSegments(i.namespace).map((s) => ({ kind: "named", name: s.name, bytes: s.bytes, creator: s.creator })),
            ...listMemfdSegments(i.marsPid, i.namespace).map((m) => ({ kind: "memfd", name: m.name, bytes: m.bytes, creator: "alive" })),
          ],
        },
      });
      return;
    }
    case "ls":
      await out.reply({ ok: true, files: viewLs(v, req.prefix === "" ? undefined : req.prefix, (key) => rels.get(key), listings) });
      return;
    case "cat": {
      let started = false;
      const found = await viewCat(
        v,
        i.pier,
        clayPathArg(req.path),
        (chunk) => out.bytes(chunk),
        async (size) => {
          started = true;
          await out.reply({ ok: true, size });
        },
      );
      if (!found && !started) await out.reply({ ok: false, code: UrthErrorCode.control.notFound, message: `No committed file at ${req.path}` });
      return;
    }
    case "log": {
      await out.reply({ ok: true, stream: true });
      const enc = new TextEncoder();
      let count = 0;
      await viewLog(v, req.limit ?? undefined, async (infos) => {
        count += infos.length;
        if (infos.length > 0) await out.bytes(enc.encode(infos.map((info) => JSON.stringify(info) + "\n").join("")));
      });
      await out.bytes(enc.encode(JSON.stringify({ end: count }) + "\n"));
      return;
    }
    case "stop":
      await out.reply({ ok: true });
      post({ type: "stop" });
      return;
    default:
      await out.reply({ ok: false, code: UrthErrorCode.control.protocol, message: `Unknown request ${JSON.stringify((req as { op?: unknown }).op)}` });
  }
};

self.onmessage = (e: MessageEvent<ReadWorkerInit | ReadWorkerUpdate>) => {
  try {
    onMessage(e.data);
  } catch (err) {
    died(err);
  }
};

/**
 * A message the worker cannot handle is a bug, and it leaves the worker's state unknown: it says
 * so and lets the main thread end it and take the socket over. An uncaught error in a Worker's
 * onmessage did not always end the worker or reach the main thread's `onerror` (a test waiting
 * for it timed out in 1 run of 4 on a loaded machine), so the worker does not rely on either.
 */
function died(err: unknown): void {
  server?.close();
  server = undefined;
  post({ type: "died", message: `the read worker failed: ${(err as Error)?.message ?? String(err)}` });
}

function onMessage(m: ReadWorkerInit | ReadWorkerUpdate): void {
  switch (m.type) {
    case "init":
      try {
        init = m;
        flight = new CommitFlight(m.flight);
        for (const [key, rel] of m.rels) rels.set(key, rel);
        view = ReadView.open(m.pier);
        if (view === undefined) {
          post({ type: "failed", code: UrthErrorCode.control.failed, message: "The pier's event log holds no read view (mars builds it at start); restart urth to have it built" });
          return;
        }
        // A view behind the log (stale) or damaged fails here, before the socket is taken.
        viewTotals(view);
        server = ControlServer.listen(m.socket, handler);
        post({ type: "ready" });
      } catch (err) {
        view?.close();
        view = undefined;
        post({ type: "failed", code: isPleaError(err) ? String(err.code) : UrthErrorCode.control.failed, message: (err as Error).message });
      }
      return;
    case "last-commit":
      lastCommit = m.value;
      return;
    case "du":
      du = m.value;
      return;
    case "rels":
      for (const [key, rel] of m.set) rels.set(key, rel);
      for (const key of m.del) rels.delete(key);
      listings.clear();
      return;
    case "forward-reply": {
      const f = forwarded.get(m.id);
      if (f !== undefined) f.chain = f.chain.then(() => f.out.reply(m.reply as ControlReply)).catch(() => {});
      return;
    }
    case "forward-bytes": {
      const f = forwarded.get(m.id);
      if (f === undefined) return;
      f.chain = f.chain.then(() => f.out.bytes(m.chunk)).then(
        () => post({ type: "forward-ack", id: m.id }),
        (e: Error) => post({ type: "forward-ack", id: m.id, error: e.message }),
      );
      return;
    }
    case "forward-end": {
      const f = forwarded.get(m.id);
      if (f !== undefined) void f.chain.then(() => f.done(m.error));
      return;
    }
    case "close":
      server?.close();
      server = undefined;
      view?.close();
      view = undefined;
      post({ type: "closed" });
      return;
  }
};
