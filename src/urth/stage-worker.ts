/**
 * A worker thread that hashes a file urth is staging into the blob store, close behind the copy
 * (file-stage.ts, docs/blob-store.md "Staged by urth"). The main thread copies the file into
 * `bob/stg/` piece by piece and tells each worker how far the copy has got; the worker reads the
 * staged copy up to there (from the page cache, where the copy just put it) and hashes it.
 *
 * Two workers share the work, one per role (stage-hash.ts), because both hashes over the same
 * bytes in one thread take longer than the copy and the disk. Each reads the staged copy, not the
 * user's file: the copy is urth's own (0600 in the pier), so what is hashed is what mars installs.
 */
import type { StageWorkerReply, StageWorkerRequest } from "./file-stage.ts";
import { StageHasher, stageReadBuffer } from "./stage-hash.ts";

declare const self: Worker;

const buffer = stageReadBuffer();
let hasher: StageHasher | undefined;

function drop(): void {
  const h = hasher;
  hasher = undefined;
  h?.close();
}

self.onmessage = (e: MessageEvent<StageWorkerRequest>) => {
  const m = e.data;
  try {
    if (m.type === "open") {
      drop();
      hasher = new StageHasher(m.path, [m.role], buffer);
      return;
    }
    if (hasher === undefined) return; // the file failed: the rest of its messages are moot
    hasher.advance(m.bytes);
    if (!m.end) return;
    const h = hasher;
    hasher = undefined;
    self.postMessage({ type: "done", ...h.finish() } satisfies StageWorkerReply);
  } catch (err) {
    drop();
    self.postMessage({ type: "failed", message: (err as Error).message } satisfies StageWorkerReply);
  }
};
