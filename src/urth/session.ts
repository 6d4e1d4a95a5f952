/**
 * A pier held by this urth: the lock, the mars child, what is committed, and the control socket
 * through which a second shell reads the pier while this one runs (docs/urth.md).
 *
 * Opening a session: create the pier if missing, take its lock (a second `run`/`commit` refuses),
 * sweep the segments an earlier urth or mars left when killed, start mars (it replays its log and
 * reports `%ripe`), and learn from mars what is committed. Commits are serialized: a change made
 * while one is in flight goes into the next.
 */
import { mug } from "../noun/index.ts";
import { daNow } from "../noun/da.ts";
import { listMemfdSegments, listSegments, sweepOrphans, type SegmentInfo } from "../ffi/index.ts";
import { legacySegmentNamespaces, segmentNamespace } from "../pier/segment-namespace.ts";
import { commitMount, type CommitOptions, type CommitSummary, type Committed } from "./commit.ts";
import { ControlServer, type ControlHandler } from "./control.ts";
import { isMarsRefusal } from "./exit-code.ts";
import { MarsExited } from "./mars-exited.ts";
import { MarsProcess, type MarsOptions } from "./mars-process.ts";
import { readMountCache } from "./mount-cache.ts";
import { clayKey, relOfClayPath } from "./mount-scan.ts";
import { CommitFlight } from "./commit-flight.ts";
import { ReadServer } from "./read-server.ts";
import { deskTotals, eventMug, listFiles } from "./peeks.ts";
import { PierLock } from "./pier-lock.ts";
import { marsChop, marsDu, mountUse, type MarsReport } from "./retention.ts";
import { ensurePier, type PierPaths } from "./pier.ts";

export interface SessionOptions {
  pleaThresholdBytes?: number;
  /** Files of this many bytes or more are staged into the blob store (`--stage-threshold`; commit.ts). */
  stageBytesMin?: number;
  /** The kind of segment plea asks for (`--shm-kind`); default $PLEA_SHM_KIND, else auto (the probe decides). */
  shmKind?: MarsOptions["shmKind"];
  onLog?: (line: string) => void;
  /** Serve the control socket (run and commit do; tests may not). Default true. */
  control?: ControlHandler | false;
  marsEnv?: MarsOptions["env"];
  /**
   * A reader's session (cat, ls, status without a running urth): takes the pier for a moment and
   * is refused at once if another urth holds it. A writer's (run, commit) waits for a reader.
   */
  reader?: boolean;
  /** Where a writer says it is waiting for a reader to let go of the pier. Default: stderr. */
  onWait?: (line: string) => void;
  /**
   * Serve reads on the control socket from a worker reading the pier's read view (read-server.ts),
   * so that they never wait for a commit. Default true; when false, or when the worker cannot
   * start, `control` answers them on the main thread through mars.
   */
  readWorker?: boolean;
  /** What `stop` on the control socket does when the read worker serves it (else `control` handles it). */
  onStop?: () => void;
  /** Where urth says why the read worker did not start. Default: stderr. */
  onNote?: (line: string) => void;
}

/** How long `run` and `commit` wait for a reader's session to let go of the pier. */
export const READER_WAIT_MS_MAX = 2 * 60 * 1000;

/** How often a waiting writer tries the lock again. */
const LOCK_POLL_MS = 50;

/**
 * A running urth refreshes the read worker's copy of `du` (what `status --json` shows) at most
 * this often: each refresh is a `/plea/du` peek, which has mars stat every blob and snapshot.
 */
const DU_REFRESH_MS_MIN = 5_000;

/**
 * Takes the pier's lock. A reader takes it or fails (its caller talks to the holder instead). A
 * writer waits while a reader holds it, which is only for a moment, and is refused by a writer.
 */
async function takeLock(paths: PierPaths, root: string, options: SessionOptions): Promise<PierLock> {
  const role = options.reader ? "reader" : "writer";
  const deadline = Date.now() + READER_WAIT_MS_MAX;
  let said = false;
  for (;;) {
    const lock = PierLock.tryAcquire(paths.lockFile, role);
    if (lock) return lock;
    const holder = PierLock.holderInfo(paths.lockFile);
    // An unknown role is a holder that has not written its line yet: give it a moment too.
    if (options.reader || holder.role === "writer" || Date.now() > deadline) return PierLock.acquire(paths.lockFile, root, role);
    if (!said) {
      said = true;
      (options.onWait ?? ((line) => process.stderr.write(`${line}\n`)))(`urth: waiting for a reader${holder.pid ? ` (pid ${holder.pid})` : ""} to let go of the pier`);
    }
    await Bun.sleep(LOCK_POLL_MS);
  }
}

export interface LastCommit {
  at: string;
  summary: CommitSummary;
}

export class Session {
  readonly paths: PierPaths;
  readonly mars: MarsProcess;
  readonly namespace: string;
  /** Segments removed by the start-up sweep (left by a killed urth or mars). */
  readonly sweptAtStart: SegmentInfo[];
  readonly committed: Committed;
  lastCommit: LastCommit | undefined;
  private readonly lock: PierLock;
  private control: ControlServer | undefined;
  private reads: ReadServer | undefined;
  /** The last `du` (for `status --json` from the read worker, which cannot ask mars), and when it was asked for. */
  private duCache: { value: Record<string, unknown>; atMs: number } | undefined;
  private duRefreshing = false;
  /** The commit in flight, for `status` (commit-flight.ts). */
  readonly flight = new CommitFlight();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly syncId: number;
  /** `SessionOptions.stageBytesMin`, for every commit of the session. */
  stageBytesMin: number | undefined;
  private closing: Promise<number> | undefined;

  private constructor(paths: PierPaths, lock: PierLock, mars: MarsProcess, swept: SegmentInfo[], committed: Committed) {
    this.paths = paths;
    this.lock = lock;
    this.mars = mars;
    this.namespace = mars.namespace;
    this.sweptAtStart = swept;
    this.committed = committed;
    // vere's `sev_l`: the mug of the time the driver started, in every %into wire.
    this.syncId = mug(daNow());
  }

  static async open(root: string, options: SessionOptions = {}): Promise<Session> {
    const paths = ensurePier(root);
    const lock = await takeLock(paths, root, options);
    let mars: MarsProcess | undefined;
    // mars's lines, held until it is ready (below).
    let early: string[] | undefined = [];
    const say = options.onLog ?? ((line: string) => process.stderr.write(`mars: ${line}\n`));
    try {
      // Orphans of older versions carry the namespace they derived from the pier's path.
      const swept = sweepOrphans([segmentNamespace(root), ...legacySegmentNamespaces(root)]);
      // mars's lines wait until it is ready: if it refuses to start, its reason is shown once, as
      // urth's own message (main.ts), not also as it arrives.
      const onLog = (line: string) => (early ? early.push(line) : say(line));
      mars = await MarsProcess.start({ pier: root, pleaThresholdBytes: options.pleaThresholdBytes, shmKind: options.shmKind, onLog, env: options.marsEnv });
      for (const line of early) say(line);
      early = undefined;
      const files = await listFiles(mars);
      const committed: Committed = { paths: new Map(), cache: readMountCache(paths.mountCache) };
      const sizes = new Map<string, number>();
      for (const f of files) {
        const key = clayKey(f.path);
        committed.paths.set(key, f.path);
        sizes.set(key, f.size);
      }
      // The cache is a hint: keep an entry only where mars holds that path at that size.
      for (const [key, c] of committed.cache) if (sizes.get(key) !== c.size) committed.cache.delete(key);
      const s = new Session(paths, lock, mars, swept, committed);
      s.stageBytesMin = options.stageBytesMin;
      if (options.control !== false && options.control !== undefined) await s.serve(options.control, options);
      return s;
    } catch (e) {
      // A mars that died before it was ready, other than by refusing the pier or its log (whose one
      // line is urth's message, exit-code.ts), is heard here: its lines come first, once.
      if (early && !(e instanceof MarsExited && isMarsRefusal(e))) for (const line of early) say(line);
      early = undefined;
      if (mars) await mars.kill();
      lock.release();
      throw e;
    }
  }

  /**
   * Serves the control socket: from the read worker when it starts (reads never wait for a
   * commit), else from this thread through mars (`control`).
   */
  private async serve(control: ControlHandler, options: SessionOptions): Promise<void> {
    const note = options.onNote ?? ((line: string) => process.stderr.write(`${line}\n`));
    if (options.readWorker !== false) {
      try {
        const rels: [string, string][] = [];
        for (const [key, c] of this.committed.cache) {
          const path = this.committed.paths.get(key);
          if (path !== undefined && relOfClayPath(path) !== c.rel) rels.push([key, c.rel]);
        }
        this.reads = await ReadServer.start(
          { pier: this.paths.root, socket: this.paths.socket, namespace: this.namespace, marsPid: this.mars.pid, shm: { ...this.mars.shm }, rels },
          this.flight,
          options.onStop ?? (() => {}),
          (message) => {
            this.reads = undefined;
            note(`urth: reads are now served by the main thread and wait for commits: ${message}`);
            if (this.closing === undefined) this.control = ControlServer.listen(this.paths.socket, control);
          },
          control,
        );
        this.refreshDu();
        return;
      } catch (e) {
        note(`urth: reads are served by the main thread and wait for commits: ${(e as Error).message}`);
      }
    }
    this.control = ControlServer.listen(this.paths.socket, control);
  }

  /** Commits what changed in the mount (queued behind a commit in flight). */
  commit(options: Omit<CommitOptions, "syncId"> = {}): Promise<CommitSummary> {
    const run = this.queue.then(async () => {
      this.flight.begin(Date.now());
      try {
        const summary = await commitMount(this.mars, this.paths, this.committed, {
          stageBytesMin: this.stageBytesMin,
          ...options,
          syncId: this.syncId,
          flight: this.flight,
          onApplied: (puts, dels) => {
            const reads = this.reads;
            if (reads === undefined) return;
            const set: [string, string][] = [];
            const del = [...dels];
            for (const f of puts) {
              if (relOfClayPath(f.path) !== f.rel) set.push([f.key, f.rel]);
              else del.push(f.key);
            }
            reads.rels(set, del);
          },
        });
        if (summary.eve !== undefined) {
          this.lastCommit = { at: new Date().toISOString(), summary };
          this.reads?.lastCommit(this.lastCommit);
          this.refreshDu();
        }
        return summary;
      } finally {
        this.flight.end();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** Where the pier's disk went: mars's figures (`/plea/du`) and the mount's. */
  async du(): Promise<Record<string, unknown>> {
    const value = { ...(await marsDu(this.mars)), mount: mountUse(this.paths.mount), eve: this.mars.eve };
    this.duCache = { value, atMs: Date.now() };
    this.reads?.du(value);
    return value;
  }

  /** Drops what retention no longer keeps (`urth chop`): mars's report, and the disk use after it. */
  async chop(keep: number): Promise<{ report: MarsReport; du: Record<string, unknown> }> {
    const report = await marsChop(this.mars, keep);
    return { report, du: await this.du() };
  }

  /**
   * Brings the read worker's copy of `du` up to date after a commit, at most once every
   * DU_REFRESH_MS_MIN and only when no commit waits: `du` asks mars, so it would otherwise queue
   * behind a commit and ahead of the next, and `status` answered from the worker must not wait.
   */
  private refreshDu(): void {
    if (this.reads === undefined || this.duRefreshing) return;
    const due = (this.duCache?.atMs ?? 0) + DU_REFRESH_MS_MIN;
    this.duRefreshing = true;
    setTimeout(() => {
      this.queue
        .then(() => (this.closing === undefined ? this.du() : undefined))
        .catch(() => {})
        .finally(() => (this.duRefreshing = false));
    }, Math.max(0, due - Date.now())).unref();
  }

  /** The pier's status; with `du`, where its disk went too (mars computes it: `status --json`). */
  async status(options: { du?: boolean } = {}): Promise<Record<string, unknown>> {
    const totals = await deskTotals(this.mars);
    const eve = this.mars.eve;
    return {
      pier: this.paths.root,
      eve,
      // The mug mars stored with the event; 0 if its log does not hold it.
      mug: eve === 0 ? this.mars.mug : ((await eventMug(this.mars, eve)) ?? 0),
      files: totals.files,
      bytes: totals.bytes,
      lastCommit: this.lastCommit ?? null,
      commit: this.flight.read(),
      ...(options.du ? { du: await this.du() } : {}),
      // The kind plea asks for, how it was chosen (auto: the probe at start) and why.
      shm: { ...this.mars.shm },
      // Named segments are listed in /dev/shm (left over ones too); memfds in flight, which have no
      // name there, among mars's descriptors.
      segments: [
        ...listSegments(this.namespace).map((s) => ({ kind: "named", name: s.name, bytes: s.bytes, creator: s.creator })),
        ...listMemfdSegments(this.mars.pid, this.namespace).map((m) => ({ kind: "memfd", name: m.name, bytes: m.bytes, creator: "alive" })),
      ],
    };
  }

  /** Waits for the commit in flight, asks mars to exit, closes the socket and drops the lock. */
  close(): Promise<number> {
    this.closing ??= (async () => {
      await this.queue;
      this.control?.close();
      await this.reads?.close();
      const code = await this.mars.exit();
      this.lock.release();
      return code;
    })();
    return this.closing;
  }
}
