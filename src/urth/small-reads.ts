/**
 * Reads a commit's small files into one shared buffer, on two threads (docs/mount.md, "Reading
 * small files").
 *
 * Reading 100,000 files of 1 KiB is system calls, not bytes: open, read and close cost about 10 us
 * per file here, 1-1.7 s per commit on one thread (`readFileSync` adds an fstat and a buffer per
 * file). mars is idle until the event is sent, so urth reads the second half of the list in a
 * worker thread while its own thread reads the first half: 1.1-1.3 s -> 0.45-0.56 s for 100,000
 * files in an in-process bench on an otherwise idle 2-core machine (issue 15); on a loaded machine
 * the second thread finds no free core and gains nothing. Each file lands in its own 8-byte aligned slot of one
 * SharedArrayBuffer, so there is one allocation, not one per file, and nothing is copied back.
 *
 * Each slot has room for one byte more than the scan's size: a file that grew since the scan
 * reads longer than its size and fails the commit, as one that shrank does.
 */
import { prefault } from "../ffi/index.ts";
import { readIntoSlots, type ReadAnswer, type ReadJob } from "./read-slots.ts";

/** Below this many files one thread reads them all: a worker costs tens of ms to start. */
export const READ_WORKER_FILES_MIN = 2048;

/** One file's outcome: its length as read, or why it could not be read. */
export type SmallRead = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/**
 * Starts the worker early (it loads while the mount is scanned); `read` uses it if the commit has
 * enough files, and `close` ends it either way.
 */
export class SmallFileReader {
  private worker: Worker | undefined;
  /** The job the worker is reading, and where its answer goes. */
  private pending: { job: ReadJob; resolve: (a: ReadAnswer) => void } | undefined;

  constructor(useWorker = true) {
    if (!useWorker) return;
    try {
      const worker = new Worker(new URL("./small-reads-worker.ts", import.meta.url).href);
      worker.onmessage = (e: MessageEvent<ReadAnswer>) => this.settle(e.data);
      // A worker that fails (to load, or later) leaves its files to this thread.
      worker.onerror = () => {
        this.close();
        const p = this.pending;
        if (p !== undefined) this.settle(readIntoSlots(p.job));
      };
      this.worker = worker;
    } catch {
      this.worker = undefined; // one thread reads everything
    }
  }

  /** Whether a worker has been started (and has not failed). */
  get threaded(): boolean {
    return this.worker !== undefined;
  }

  /** Reads `paths`, whose scanned sizes are `sizes`, in order. */
  async read(paths: readonly string[], sizes: readonly number[]): Promise<SmallRead[]> {
    const n = paths.length;
    const offsets = new Float64Array(n);
    const capacities = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = total;
      capacities[i] = sizes[i] + 1;
      total += (sizes[i] + 8) & ~7;
    }
    const buffer = new SharedArrayBuffer(Math.max(total, 8));
    // One call faults in what 100,000 reads would fault a page at a time (src/ffi/prefault.ts).
    prefault(new Uint8Array(buffer));
    const split = this.worker !== undefined && n >= READ_WORKER_FILES_MIN ? n >> 1 : n;
    const part = (from: number, to: number): ReadJob => ({
      paths: paths.slice(from, to),
      offsets: offsets.slice(from, to),
      capacities: capacities.slice(from, to),
      buffer,
    });
    const theirs = split < n ? this.ask(part(split, n)) : Promise.resolve<ReadAnswer>({ lengths: new Float64Array(0), errors: {} });
    const mine = readIntoSlots(part(0, split));
    const other = await theirs;
    const whole = new Uint8Array(buffer);
    const out: SmallRead[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const a = i < split ? mine : other;
      const k = i < split ? i : i - split;
      const length = a.lengths[k];
      out[i] = length < 0 ? { ok: false, message: a.errors[k] } : { ok: true, bytes: whole.subarray(offsets[i], offsets[i] + length) };
    }
    return out;
  }

  close(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  private ask(job: ReadJob): Promise<ReadAnswer> {
    return new Promise<ReadAnswer>((resolve) => {
      this.pending = { job, resolve };
      this.worker!.postMessage(job);
    });
  }

  private settle(answer: ReadAnswer): void {
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(answer);
  }
}
