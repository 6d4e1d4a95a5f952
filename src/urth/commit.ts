/**
 * One commit of the mount: scan, plan against what is committed, build vere's `%into` event with
 * file-backed atoms for large files, poke mars, and record what was committed once mars says the
 * event is durable. All or nothing: any bad input fails the whole commit before mars sees it, and
 * a failed poke changes nothing on either side. A large file whose bytes the pier's blob store
 * already holds is sent as a reference to its blob (blob-refs.ts): a byte-identical re-commit
 * moves no file bytes to mars. Any other large file is staged into the blob store by urth
 * (file-stage.ts) and sent as a reference too: its bytes are copied once, by the kernel.
 */
import { wallMs } from "../wall-clock.ts";
import { statSync } from "node:fs";
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { goofToText } from "../ipc/goof.ts";
import { intoOvum, MIME_TEXT_PLAIN, type IntoChange } from "../ipc/into.ts";
import { pathToNoun } from "../ipc/shape.ts";
import { atomFromBytes, FileAtom, FileAtomError, NounErrorCode, type Atom } from "../noun/index.ts";
import { BlobSource, BlobStore, blobAtomBytesMin } from "../blob/index.ts";
import { FileStager, type StageStats } from "./file-stage.ts";
import { BlobReferrer, storeCatalog, type BlobRefStats } from "./blob-refs.ts";
import { planCommit, type CommitPlan } from "./commit-plan.ts";
import { UrthErrorCode } from "./errors.ts";
import type { MarsProcess, PokeProgress } from "./mars-process.ts";
import { cachedOf, writeMountCache, type MountCache } from "./mount-cache.ts";
import { clayKey, scanMount, type Skipped } from "./mount-scan.ts";
import { MOUNT_DESK, type PierPaths } from "./pier.ts";
import { READ_WORKER_FILES_MIN, SmallFileReader } from "./small-reads.ts";
import type { CommitFlight } from "./commit-flight.ts";

/**
 * Files up to this size are read into urth's heap when the commit is built (one read each, no
 * second open later); larger ones become file-backed atoms read only where they land.
 */
export const EAGER_FILE_BYTES_MAX = 64 * 1024;

/**
 * At most this many bytes of small files are read eagerly per commit; the rest stay file-backed.
 * 256 MiB: a commit of 100,000 files of 1 KiB fits whole. A file-backed atom costs more opens than
 * an eager read (the pipe path reads it to measure its length, to measure the jam, and to send),
 * and small files are not what the "never twice" rule of docs/decisions.md protects.
 */
export const EAGER_COMMIT_BYTES_MAX = 256 * 1024 * 1024;

export interface CommitSummary {
  /** The event number, or undefined when nothing changed. */
  eve: number | undefined;
  added: number;
  changed: number;
  deleted: number;
  bytes: number;
  path: "pipe" | "plea" | "none";
  ms: number;
  skipped: Skipped[];
  /** Wall-clock marks (ms since the epoch) of the commit's phases, for `commit --json`. */
  marks: CommitMarks;
  /** Files hashed against the blob store and sent as references instead of bytes (blob-refs.ts). */
  blobs: BlobRefStats;
  /** Files staged into the blob store by urth (file-stage.ts) and what that cost; absent when nothing changed. */
  staged?: StageStats;
  /** Bytes the event took to mars: written into the plea segment, or about the pipe frame's length. */
  sentBytes?: number;
}

export interface CommitMarks {
  startAtMs: number;
  scannedAtMs?: number;
  builtAtMs?: number;
  /** The plea's segment was granted and urth began to fill it; or the pipe send began. */
  sendStartAtMs?: number;
  /** The segment is filled (plea) or the frame is written (pipe). */
  sentAtMs?: number;
  repliedAtMs?: number;
}


/** What urth knows is committed: Clay key -> path elements (from mars) and the mount cache. */
export interface Committed {
  paths: Map<string, readonly string[]>;
  cache: MountCache;
}

export interface CommitOptions {
  syncId: number;
  /**
   * Files of this many bytes or more are staged into the blob store by urth (file-stage.ts)
   * rather than sent; never below the store's threshold (`blobAtomBytesMin`). Default: that
   * threshold. `--stage-threshold` of `run` and `commit`.
   */
  stageBytesMin?: number;
  onProgress?: (p: PokeProgress & { plan: CommitPlan }) => void;
  /** Where the commit's phase and bytes are written for `status` while it runs (commit-flight.ts). */
  flight?: CommitFlight;
  /** Called once mars made the event durable, with what it committed (Clay keys), before the summary returns. */
  onApplied?: (puts: readonly { key: string; rel: string; path: readonly string[] }[], dels: readonly string[]) => void;
}

export async function commitMount(mars: MarsProcess, pier: PierPaths, committed: Committed, options: CommitOptions): Promise<CommitSummary> {
  const t0 = performance.now();
  const marks: CommitMarks = { startAtMs: wallMs() };
  // A first commit may carry a whole tree: the reader's worker loads while the mount is scanned.
  let reader = committed.paths.size === 0 ? new SmallFileReader() : undefined;
  try {
    return await commitScanned(mars, pier, committed, options, t0, marks, () => (reader ??= new SmallFileReader()));
  } finally {
    reader?.close();
  }
}

async function commitScanned(
  mars: MarsProcess,
  pier: PierPaths,
  committed: Committed,
  options: CommitOptions,
  t0: number,
  marks: CommitMarks,
  smallReader: () => SmallFileReader,
): Promise<CommitSummary> {
  const scan = scanMount(pier.mount);
  marks.scannedAtMs = wallMs();
  const plan = planCommit(scan, committed.paths, committed.cache);
  const flight = options.flight;
  flight?.planned(plan.puts.length + plan.dels.length, plan.bytes);
  flight?.update("reading");
  const referrer = new BlobReferrer(storeCatalog(new BlobStore(pier.root)));
  const base = { added: plan.added, changed: plan.changed, deleted: plan.dels.length, bytes: plan.bytes, skipped: scan.skipped, blobs: referrer.stats };
  if (plan.puts.length === 0 && plan.dels.length === 0) {
    return { eve: undefined, path: "none", ms: performance.now() - t0, marks, ...base };
  }
  const stager = new FileStager(new BlobStore(pier.root).paths, blobAtomBytesMin());
  const stageBytesMin = Math.max(options.stageBytesMin ?? 0, blobAtomBytesMin());
  let committedOk = false;
  try {
    const changes: IntoChange[] = [];
    // Small files are read first, all together (small-reads.ts); the rest become file-backed atoms.
    const eager: boolean[] = new Array(plan.puts.length);
    const eagerPaths: string[] = [];
    const eagerSizes: number[] = [];
    let eagerBytes = 0;
    for (let i = 0; i < plan.puts.length; i++) {
      const f = plan.puts[i];
      eager[i] = f.size <= EAGER_FILE_BYTES_MAX && eagerBytes + f.size <= EAGER_COMMIT_BYTES_MAX;
      if (!eager[i]) continue;
      eagerBytes += f.size;
      eagerPaths.push(join(pier.mount, f.rel));
      eagerSizes.push(f.size);
    }
    const reads = eagerPaths.length === 0 ? [] : await (eagerPaths.length >= READ_WORKER_FILES_MIN ? smallReader() : new SmallFileReader(false)).read(eagerPaths, eagerSizes);
    let next = 0;
    for (let i = 0; i < plan.puts.length; i++) {
      const f = plan.puts[i];
      const abs = eager[i] ? eagerPaths[next] : join(pier.mount, f.rel);
      let data: Atom;
      let length: number;
      if (eager[i]) {
        const r = reads[next++];
        if (!r.ok) throw new FileAtomError(NounErrorCode.fileAtom.unreadable, abs, `Cannot read "${f.rel}": ${r.message}`);
        // A file that grew reads one byte past its size (small-reads.ts): its size now is in a stat.
        if (r.bytes.length !== f.size) throw changedError(abs, f.size, r.bytes.length > f.size ? sizeNow(abs, r.bytes.length) : r.bytes.length);
        data = atomFromBytes(r.bytes);
        length = r.bytes.length;
      } else {
        const fa = new FileAtom(abs);
        if (fa.byteLengthMax !== f.size || fa.mtimeMs !== f.mtimeMs) throw changedError(abs, f.size, fa.byteLengthMax);
        // The blob that holds the file's bytes already (hashed only on a length match), or a blob
        // staged now by an in-kernel copy (file-stage.ts), or else the file's bytes.
        data = referrer.refer(fa);
        if (data === fa && f.size >= stageBytesMin) {
          const before = stager.stats.bytes;
          flight?.update("staging", { path: "stage" });
          const staged = await stager.stage(abs, f.rel, f, flight && ((n) => flight.update("staging", { stagedBytes: before + n })));
          if (staged !== undefined) data = referrer.staged(staged.ref, new BlobSource(staged.path, staged.ref));
        }
        length = fa.byteLengthMax;
      }
      changes.push({ kind: "put", path: pathToNoun(f.path), type: MIME_TEXT_PLAIN, len: length, data });
    }
    for (const path of plan.dels) changes.push({ kind: "del", path: pathToNoun(path) });
    const ovum = intoOvum(MOUNT_DESK, changes, options.syncId);
    marks.builtAtMs = wallMs();
    let sentBytes: number | undefined;
    const r = await mars.poke(ovum, {
      refs: referrer.any ? referrer : undefined,
      onProgress: (p) => {
        // Progress repeats a phase for every piece sent: keep the first mark.
        if ((p.phase === "filling" || p.phase === "sending") && marks.sendStartAtMs === undefined) marks.sendStartAtMs = wallMs();
        if (p.phase === "sent") {
          marks.sentAtMs = wallMs();
          sentBytes = p.bytes;
        }
        options.onProgress?.({ ...p, plan });
        if (flight) {
          // A commit that staged files keeps "stage" as its path: the event mars gets names them.
          const path = stager.stats.files > 0 ? undefined : p.path;
          if (p.phase === "sent") flight.update("persisting", { path, filledBytes: p.bytes ?? 0 });
          else flight.update(p.phase, { path, filledBytes: p.done ?? 0 });
        }
      },
    });
    marks.repliedAtMs = wallMs();
    if (!r.ok) {
      const why = r.goofs.map(goofToText).join("\n");
      throw new PleaError(UrthErrorCode.commit.rejected, `mars rejected the commit; nothing was committed.\n${why}`);
    }
    committedOk = true;
    for (const f of plan.puts) {
      const key = f.key;
      committed.paths.set(key, f.path);
      committed.cache.set(key, cachedOf(f));
    }
    for (const path of plan.dels) {
      const key = clayKey(path);
      committed.paths.delete(key);
      committed.cache.delete(key);
    }
    writeMountCache(pier.mountCache, committed.cache);
    options.onApplied?.(plan.puts, plan.dels.map((p) => clayKey(p)));
    return { eve: r.eve, path: r.path, ms: performance.now() - t0, marks, ...base, staged: stager.stats, sentBytes };
  } finally {
    // A commit that failed leaves nothing staged behind (mars's sweep would also remove it).
    if (!committedOk) stager.removeStaged();
    stager.close();
  }
}

function sizeNow(abs: string, fallback: number): number {
  try {
    return statSync(abs).size;
  } catch {
    return fallback;
  }
}

function changedError(abs: string, before: number, after: number): FileAtomError {
  return new FileAtomError(NounErrorCode.fileAtom.changed, abs, `"${abs}" changed while it was being committed (size ${before} -> ${after}); commit again once it is settled`);
}
