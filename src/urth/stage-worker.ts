/**
 * A worker thread that hashes a file urth is staging into the blob store, close behind the copy
 * (file-stage.ts, docs/blob-store.md "Staged by urth"). The main thread copies the file into
 * `bob/stg/` piece by piece and tells each worker how far the copy has got; the worker reads the
 * staged copy up to there (from the page cache, where the copy just put it) and hashes it.
 *
 * Two workers share the work, one per role, because both hashes over the same bytes in one
 * thread take longer than the copy and the disk: `sums` computes the SHA-256 that names the blob
 * and its crc table, `mug` the atom's mug. Each reads the staged copy, not the user's file: the
 * copy is urth's own (0600 in the pier), so what is hashed is what mars will install.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { BLOB_PIECE_BYTES, BlobChecksums } from "../blob/index.ts";
import { AtomMugStream } from "../noun/mug-stream.ts";
import { CanonicalBytes } from "../noun/canonical-bytes.ts";
import type { StageWorkerReply, StageWorkerRequest } from "./file-stage.ts";

declare const self: Worker;

/** Bytes read per call: the blob's piece size, so each piece's crc covers whole reads. */
const READ_BYTES = BLOB_PIECE_BYTES;

interface Hashing {
  readonly fd: number;
  pos: number;
  readonly canonical: CanonicalBytes;
  readonly sums?: BlobChecksums;
  readonly mug?: AtomMugStream;
  busyMs: number;
}

const buffer = new Uint8Array(READ_BYTES);
let file: Hashing | undefined;

function open(path: string, role: "sums" | "mug"): Hashing {
  const sums = role === "sums" ? new BlobChecksums(BLOB_PIECE_BYTES) : undefined;
  const mug = role === "mug" ? new AtomMugStream() : undefined;
  const sink = sums !== undefined ? (b: Uint8Array) => sums.update(b) : (b: Uint8Array) => mug?.update(b);
  return { fd: openSync(path, "r"), pos: 0, canonical: new CanonicalBytes(sink), sums, mug, busyMs: 0 };
}

/** Hashes the copy up to `bytes`; at the end, the reply. */
function advance(f: Hashing, bytes: number, end: boolean): StageWorkerReply | undefined {
  const t0 = performance.now();
  while (f.pos < bytes) {
    const view = buffer.subarray(0, Math.min(buffer.length, bytes - f.pos));
    const n = readSync(f.fd, view, 0, view.length, f.pos);
    if (n === 0) throw new Error(`the staged copy ends at ${f.pos} bytes, before the ${bytes} copied`);
    f.canonical.push(view.subarray(0, n));
    f.pos += n;
  }
  f.busyMs += performance.now() - t0;
  if (!end) return undefined;
  const sums = f.sums?.finish();
  return {
    type: "done",
    byteLength: f.canonical.byteLength,
    bitLength: f.canonical.bitLength,
    digest: sums?.digest,
    table: sums?.table,
    mug: f.mug?.result(),
    busyMs: f.busyMs,
  };
}

function close(): void {
  if (file === undefined) return;
  const fd = file.fd;
  file = undefined;
  closeSync(fd);
}

self.onmessage = (e: MessageEvent<StageWorkerRequest>) => {
  const m = e.data;
  try {
    if (m.type === "open") {
      close();
      file = open(m.path, m.role);
      return;
    }
    if (file === undefined) return; // the file failed: the rest of its messages are moot
    const reply = advance(file, m.bytes, m.end);
    if (reply === undefined) return;
    close();
    self.postMessage(reply);
  } catch (err) {
    close();
    self.postMessage({ type: "failed", message: (err as Error).message } satisfies StageWorkerReply);
  }
};
