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
import type { ReadWorkerInit, ReadWorkerReply, ReadWorkerUpdate } from "./read-server.ts";
import { PleaError } from "../error.ts";
import type { ControlReply, ControlRequest } from "./control.ts";
import { ListingCache, viewCat, viewLog, viewLs, viewTotals } from "./view-reads.ts";

declare const self: Worker;

let server: ControlServer | undefined;
let view: ReadView | undefined;
let init: ReadWorkerInit | undefined;
let flight: CommitFlight | undefined;
let lastCommit: unknown = null;
const rels = new Map<string, string>();
const listings = new ListingCache();

function post(m: ReadWorkerReply): void {
  self.postMessage(m);
}

type Out = Parameters<ControlHandler>[1];

/** Requests forwarded to the main thread, by id: where their answer goes, in order. */
const forwards = new Map<number, { out: Out; chain: Promise<void>; settle: (error?: PleaError) => void }>();
let nextForward = 1;

/**
 * Hands `req` to the main thread, which answers it through mars (read-server.ts), and writes its
 * answer to the socket as it comes. The view holds only the latest state, so `--at` reads go there.
 */
function forward(req: ControlRequest, out: Out): Promise<void> {
  const id = nextForward++;
  return new Promise<void>((resolve, reject) => {
    forwards.set(id, { out, chain: Promise.resolve(), settle: (error) => (error === undefined ? resolve() : reject(error)) });
    post({ type: "forward", id, req });
  });
}

/** The main thread's answer to a forwarded request, in order: reply, pieces, end. */
function onForwarded(m: Extract<ReadWorkerUpdate, { id: number }>): void {
  const f = forwards.get(m.id);
  if (f === undefined) {
    // Its client went away: a piece still coming must not wait for its write.
    if (m.type === "forward-bytes") post({ type: "forward-ack", id: m.id, ok: false });
    return;
  }
  const failed = (e: unknown) => {
    forwards.delete(m.id);
    f.settle(e instanceof PleaError ? e : new PleaError(UrthErrorCode.control.failed, String((e as Error)?.message ?? e)));
    // The main thread stops at its next piece.
    post({ type: "forward-ack", id: m.id, ok: false });
  };
  switch (m.type) {
    case "forward-reply":
      f.chain = f.chain.then(() => f.out.reply(m.reply));
      f.chain.catch(failed);
      return;
    case "forward-bytes":
      f.chain = f.chain.then(async () => {
        await f.out.bytes(m.chunk);
        post({ type: "forward-ack", id: m.id, ok: true });
      });
      f.chain.catch(failed);
      return;
    case "forward-end":
      void f.chain.then(() => {
        forwards.delete(m.id);
        f.settle(m.error === undefined ? undefined : new PleaError(m.error.code, m.error.message));
      }, () => {});
      return;
  }
}

const handler: ControlHandler = async (req, out) => {
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
      if (req.at !== undefined) return forward(req, out);
      await out.reply({ ok: true, files: viewLs(v, req.prefix === "" ? undefined : req.prefix, (key) => rels.get(key), listings) });
      return;
    case "cat": {
      if (req.at !== undefined) return forward(req, out);
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
  const m = e.data;
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
    case "rels":
      for (const [key, rel] of m.set) rels.set(key, rel);
      for (const key of m.del) rels.delete(key);
      listings.clear();
      return;
    case "forward-reply":
    case "forward-bytes":
    case "forward-end":
      onForwarded(m);
      return;
    case "close":
      for (const f of forwards.values()) f.settle(new PleaError(UrthErrorCode.control.unreachable, "urth is stopping"));
      forwards.clear();
      server?.close();
      server = undefined;
      view?.close();
      view = undefined;
      post({ type: "closed" });
      return;
  }
};
