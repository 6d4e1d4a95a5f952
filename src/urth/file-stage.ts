/**
 * urth stages a large file of the mount into the blob store (docs/blob-store.md, "Staged by
 * urth"): the kernel copies the file into `bob/stg/` (copy_file_range, src/ffi/file-range.ts), two
 * worker threads hash the copy close behind it (stage-worker.ts), writeback starts piece by piece,
 * and the finished blob is made durable and left as `stg/<name>.staged` for mars to install. The
 * event then carries a reference to the blob instead of the bytes (docs/ipc.md, "Plea extension:
 * blob references"): neither the segment nor the pipe moves them, mars never reads them, and the
 * file's bytes are copied once, by the kernel, on their way to disk.
 *
 * What runs where (2 cores): the main thread issues the copies (kernel time) and yields between
 * them; the `sums` worker computes SHA-256 and the crc table, the `mug` worker the mug. A file
 * under STAGE_WORKER_BYTES_MIN is hashed on the main thread after its copy instead. Measured
 * on this machine for 2 GiB: copy alone 0.49 s, SHA-256 alone 1.2 s, mug alone 1.3 s, `dd
 * conv=fdatasync` 1.6-1.9 s; the three overlapped with writeback: about 2.1 s to durable.
 *
 * The file must not change while it is copied: its size and mtime are checked before and after,
 * as every read of a file-backed atom does (src/noun/file-atom.ts), and a change fails the commit.
 */
import { closeSync, fdatasync, fstatSync, openSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PleaError } from "../error.ts";
import { BLOB_ATOM_BYTES_MAX, blobWriteError, finishStaged, makeStoreDirs, removeQuietly, type BlobPaths, type BlobRef } from "../blob/index.ts";
import { copyRange, startWriteback, type CopyMethod } from "../ffi/file-range.ts";
import { SysError } from "../ffi/sys-error.ts";
import { PIER_FILE_MODE } from "../pier/private-mode.ts";
import { DIRECT_ATOM_MAX, FileAtom, FileAtomError, metBits, NounErrorCode } from "../noun/index.ts";
import { mugFileAtom } from "../noun/mug.ts";
import { StageHasher, type StageHashes, type StageRole } from "./stage-hash.ts";

/**
 * Bytes per copy_file_range call: each is one writeback hint and one message to each worker, and
 * the workers follow one such piece behind. 64 MiB: few calls per GiB, and the main thread yields
 * to its event loop every 30-130 ms of copying.
 */
export const STAGE_COPY_BYTES = 64 * 1024 * 1024;

/**
 * Files below this size are hashed on the main thread right after their copy: starting the two
 * workers costs about 100 ms here (a Bun worker and its modules), more than hashing 64 MiB inline
 * (about 80 ms). From 64 MiB up the workers hash behind the copy. Measured with bench/commit.ts.
 */
export const STAGE_WORKER_BYTES_MIN = 64 * 1024 * 1024;

/** A request to a stage worker (stage-worker.ts). */
export type StageWorkerRequest =
  /** Start hashing the staged copy open as `fd` (urth's; the worker never closes it) for `role`; its bytes arrive with `upto`. */
  | { readonly type: "open"; readonly fd: number; readonly role: StageRole }
  /** The copy now holds `bytes` bytes; `end`: that is the whole file. */
  | { readonly type: "upto"; readonly bytes: number; readonly end: boolean };

/** A stage worker's answer, once per file. */
export type StageWorkerReply = ({ readonly type: "done" } & StageHashes) | { readonly type: "failed"; readonly message: string };

type Done = Extract<StageWorkerReply, { type: "done" }>;

/** A file staged for this commit. */
export interface StagedFile {
  readonly ref: BlobRef;
  /** `stg/<name>.staged`, until mars installs it. */
  readonly path: string;
}

/** What staging cost in one commit, for `commit --json`. */
export interface StageStats {
  files: number;
  bytes: number;
  /** Main thread: issuing the copies (the kernel's copy and the yields between pieces). */
  copyMs: number;
  /** Waiting for the workers after the last piece was copied. */
  hashWaitMs: number;
  /** Cutting, appending the crc table and footer, fdatasync, rename. */
  finishMs: number;
  /** Worker time reading and hashing (summed over files): sums, mug. */
  sumsMs: number;
  mugMs: number;
  /** "kernel" while copy_file_range works; "buffered" once a copy fell back to read and write. */
  method: CopyMethod;
}

export class FileStager {
  readonly stats: StageStats = { files: 0, bytes: 0, copyMs: 0, hashWaitMs: 0, finishMs: 0, sumsMs: 0, mugMs: 0, method: "kernel" };
  #workers: { sums: StageWorker; mug: StageWorker } | undefined;
  readonly #staged = new Map<string, StagedFile>();

  /** Stages into the store at `paths`; `bytesMin`: an atom shorter than this is not a blob (the store's threshold). */
  constructor(
    private readonly paths: BlobPaths,
    private readonly bytesMin: number,
  ) {}

  /**
   * Stages the file at `abs` (`rel` in messages), which the scan saw with `expect`'s size and
   * mtime. Returns the staged blob, or undefined when the file's atom is too short to be a blob
   * (trailing zeros), which the caller then sends as the file-backed atom it was. Throws
   * `FileAtomError` when the file changed or cannot be read, `blob_write` when the copy fails.
   */
  async stage(abs: string, rel: string, expect: { size: number; mtimeMs: number }, onCopied?: (bytes: number) => void): Promise<StagedFile | undefined> {
    const size = expect.size;
    if (size > BLOB_ATOM_BYTES_MAX) throw new PleaError(NounErrorCode.fileAtom.tooLarge, `"${rel}" has ${size} bytes, more than the largest atom (${BLOB_ATOM_BYTES_MAX} bytes)`);
    this.#makeDirs();
    let src: number;
    try {
      src = openSync(abs, "r");
    } catch (cause) {
      throw new FileAtomError(NounErrorCode.fileAtom.unreadable, abs, `Cannot read "${rel}": ${(cause as Error).message}`, { cause });
    }
    const tmp = join(this.paths.staging, `${randomBytes(12).toString("hex")}.tmp`);
    let dst: number | undefined;
    /** The copy opened for reading, for the workers: descriptors are the process's, and a worker stopped mid-file does not close one. */
    let hashFd: number | undefined;
    let workers: { sums: StageWorker; mug: StageWorker } | undefined;
    let dataSync: Promise<void> | undefined;
    try {
      checkUnchanged(src, abs, expect);
      try {
        dst = openSync(tmp, "wx", PIER_FILE_MODE);
      } catch (cause) {
        throw blobWriteError(`Cannot create the staging file "${tmp}"`, cause);
      }
      if (size >= STAGE_WORKER_BYTES_MIN) {
        hashFd = openSync(tmp, "r");
        workers = this.#startWorkers();
      }
      const replies = workers !== undefined && hashFd !== undefined ? ([workers.sums.hash(hashFd), workers.mug.hash(hashFd)] as const) : undefined;
      // Both replies are awaited below; a failure meanwhile must not be an unhandled rejection.
      for (const r of replies ?? []) r.catch(() => {});
      const t0 = performance.now();
      const state: { method: CopyMethod; buffer?: Uint8Array } = { method: this.stats.method };
      for (let copied = 0; copied < size; ) {
        let n: number;
        try {
          n = copyRange(src, dst, Math.min(STAGE_COPY_BYTES, size - copied), state, `copying "${rel}" into the blob store`);
        } catch (cause) {
          // A SysError's advice is about shared memory; this is the disk under the pier.
          const plain = cause instanceof SysError ? Object.assign(new Error(`The in-kernel copy (copy_file_range) failed with ${cause.code}`), { code: cause.code }) : cause;
          throw blobWriteError(`Cannot copy "${rel}" into "${tmp}"`, plain);
        }
        if (n === 0) throw changedError(abs, size, copied);
        startWriteback(dst, copied, n);
        copied += n;
        workers?.sums.upto(copied, copied === size);
        workers?.mug.upto(copied, copied === size);
        onCopied?.(copied);
        // The copy blocks this thread: let the control socket and signals in between pieces.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.stats.method = state.method;
      checkUnchanged(src, abs, expect);
      const t1 = performance.now();
      // The copy's data goes to disk while the hashes finish (on the runtime's I/O threads):
      // writeback started piece by piece, and this waits for the rest.
      const fd = dst;
      dataSync = new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(blobWriteError(`Cannot sync the staging file "${tmp}"`, e)) : resolve())));
      dataSync.catch(() => {});
      const [sums, mug] = replies !== undefined ? await Promise.all(replies) : hashInline(tmp, size);
      const t2 = performance.now();
      await dataSync;
      dataSync = undefined;
      this.stats.copyMs += t1 - t0;
      this.stats.hashWaitMs += t2 - t1;
      this.stats.sumsMs += sums.busyMs;
      this.stats.mugMs += mug.busyMs;
      if (sums.byteLength !== mug.byteLength || sums.digest === undefined || sums.table === undefined) {
        throw new PleaError(NounErrorCode.fileAtom.changed, `The two hashes of "${rel}" saw ${sums.byteLength} and ${mug.byteLength} bytes: it changed while it was staged; commit again once it is settled`);
      }
      // A file of mostly trailing zeros may be a small atom, which is not a blob: sent as before.
      if (sums.byteLength < this.bytesMin || sums.bitLength <= metBits(DIRECT_ATOM_MAX)) {
        closeSync(fd);
        dst = undefined;
        removeQuietly(tmp);
        return undefined;
      }
      // Odds of 2^-31: the first seed folds to 0, and the mug takes the next seeds from the copy.
      const atomMug = mug.mug ?? mugFileAtom(new FileAtom(tmp));
      dst = undefined; // finishStaged closes it, and removes the file on failure
      const staged = await finishStaged(this.paths, fd, tmp, { byteLength: sums.byteLength, bitLength: sums.bitLength, mug: atomMug, digest: sums.digest, table: sums.table });
      this.stats.finishMs += performance.now() - t2;
      this.stats.files++;
      this.stats.bytes += size;
      this.#staged.set(staged.ref.name, staged);
      return staged;
    } catch (e) {
      // A sync still running on the I/O threads must end before its descriptor is closed, and
      // workers still reading the copy must be stopped before theirs is.
      if (dataSync !== undefined) await dataSync.catch(() => {});
      if (workers !== undefined) await this.#stopWorkers();
      if (dst !== undefined) {
        closeSync(dst);
        removeQuietly(tmp);
      }
      throw e;
    } finally {
      closeSync(src);
      if (hashFd !== undefined) closeSync(hashFd);
    }
  }

  /**
   * Removes what this commit staged and mars did not install (the commit failed): what mars
   * installed is in `bob/` (and an orphan, if no event names it, until mars's next sweep).
   */
  removeStaged(): void {
    for (const s of this.#staged.values()) removeQuietly(s.path);
    this.#staged.clear();
  }

  /** Stops the workers (idempotent). */
  close(): void {
    void this.#stopWorkers();
  }

  /** Stops the workers and resolves once their threads are gone. */
  async #stopWorkers(): Promise<void> {
    const w = this.#workers;
    if (w === undefined) return;
    this.#workers = undefined;
    await Promise.all([w.sums.terminate(), w.mug.terminate()]);
  }

  #dirsMade = false;
  /** mars's start makes `bob/stg/` (its sweep); a pier whose mars never wrote a blob may lack it. */
  #makeDirs(): void {
    if (this.#dirsMade) return;
    makeStoreDirs(this.paths);
    this.#dirsMade = true;
  }

  #startWorkers(): { sums: StageWorker; mug: StageWorker } {
    if (this.#workers === undefined) {
      const sums = new StageWorker("sums");
      try {
        this.#workers = { sums, mug: new StageWorker("mug") };
      } catch (e) {
        void sums.terminate();
        throw e;
      }
    }
    return this.#workers;
  }
}

/** One stage worker and the file it is hashing. */
class StageWorker {
  readonly #worker = new Worker(new URL("./stage-worker.ts", import.meta.url).href);
  #pending: { resolve: (d: Done) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly role: StageRole) {
    this.#worker.onmessage = (e: MessageEvent<StageWorkerReply>) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (e.data.type === "done") p?.resolve(e.data);
      else p?.reject(new PleaError(NounErrorCode.fileAtom.unreadable, `Cannot hash the staged copy: ${e.data.message}`));
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      const p = this.#pending;
      this.#pending = undefined;
      p?.reject(new PleaError(NounErrorCode.fileAtom.unreadable, `The ${this.role} stage worker failed: ${e.message}`));
    };
  }

  /** Starts hashing the staged copy open as `fd` (the caller's); resolves with the worker's reply after `upto(.., true)`. */
  hash(fd: number): Promise<Done> {
    const done = new Promise<Done>((resolve, reject) => (this.#pending = { resolve, reject }));
    this.#post({ type: "open", fd, role: this.role });
    return done;
  }

  upto(bytes: number, end: boolean): void {
    this.#post({ type: "upto", bytes, end });
  }

  /** Stops the thread; resolves once it is gone. */
  async terminate(): Promise<void> {
    this.#pending?.reject(new PleaError(NounErrorCode.fileAtom.unreadable, "The stage worker was stopped"));
    this.#pending = undefined;
    await this.#worker.terminate();
  }

  #post(m: StageWorkerRequest): void {
    this.#worker.postMessage(m);
  }
}

/** Both hashes of a small staged copy, on this thread (see STAGE_WORKER_BYTES_MIN). */
function hashInline(path: string, size: number): [StageHashes, StageHashes] {
  const hasher = new StageHasher(path, ["sums", "mug"]);
  try {
    hasher.advance(size);
  } catch (e) {
    hasher.close();
    throw new PleaError(NounErrorCode.fileAtom.unreadable, `Cannot hash the staged copy "${path}": ${(e as Error).message}`, { cause: e });
  }
  const both = hasher.finish();
  return [both, both];
}

function checkUnchanged(fd: number, abs: string, expect: { size: number; mtimeMs: number }): void {
  const st = fstatSync(fd);
  if (st.size !== expect.size) throw changedError(abs, expect.size, st.size);
  if (st.mtimeMs !== expect.mtimeMs) {
    throw new FileAtomError(NounErrorCode.fileAtom.changed, abs, `"${abs}" changed while it was being committed (it was written to: its mtime moved); commit again once it is settled`);
  }
}

function changedError(abs: string, before: number, after: number): FileAtomError {
  return new FileAtomError(NounErrorCode.fileAtom.changed, abs, `"${abs}" changed while it was being committed (size ${before} -> ${after}); commit again once it is settled`);
}
