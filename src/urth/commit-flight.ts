/**
 * The commit in flight, as `status` reports it while the commit runs (docs/urth.md, "Reads
 * during a commit"): phase, delivery path, files and bytes planned, bytes filled or staged.
 *
 * Why shared memory and not a message: urth's main thread, which runs the commit, fills a plea
 * segment and builds a 100,000-file event with synchronous code that holds it for seconds, so it
 * could not answer a message in time. It writes these few numbers into a SharedArrayBuffer as it
 * goes; the read worker (read-worker.ts) reads them whenever a `status` asks. A sequence counter
 * (odd while a write is under way) lets the reader retry instead of seeing half of an update.
 */

/** What the commit is doing. */
export type FlightPhase = "scanning" | "reading" | "staging" | "asking" | "filling" | "sending" | "persisting";

/** How its bytes travel (docs/plea.md; "stage": into the blob store by urth). */
export type FlightPath = "pipe" | "plea" | "stage" | "unknown";

export interface FlightStatus {
  phase: FlightPhase;
  path: FlightPath;
  /** When the commit started (ms since the epoch). */
  startedAt: string;
  /** Files the commit adds, changes or deletes (0 until the mount is scanned). */
  files: number;
  /** Bytes of the files it adds or changes. */
  bytes: number;
  /** Bytes written into the plea segment or the pipe so far. */
  filledBytes: number;
  /** Bytes of large files copied into the blob store's staging folder so far. */
  stagedBytes: number;
}

const PHASES: readonly FlightPhase[] = ["scanning", "reading", "staging", "asking", "filling", "sending", "persisting"];
const PATHS: readonly FlightPath[] = ["unknown", "pipe", "plea", "stage"];

// Int32 slots.
const SEQ = 0;
const ACTIVE = 1;
const PHASE = 2;
const PATH = 3;
// Float64 slots (after the Int32 ones: byte offset 16).
const STARTED = 0;
const FILES = 1;
const BYTES = 2;
const FILLED = 3;
const STAGED = 4;
const INT_SLOTS = 4;
const FLOAT_SLOTS = 5;

/**
 * A reader that keeps meeting a write under way gives up after this many tries and says no commit
 * is in flight (a write is a few stores: only a writer preempted mid-write makes a reader retry).
 */
const FLIGHT_READ_TRIES_MAX = 100_000;

export class CommitFlight {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  /** A new record, or a view of one another thread made (`buffer` passed to a Worker). */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(INT_SLOTS * 4 + FLOAT_SLOTS * 8);
    this.ints = new Int32Array(this.buffer, 0, INT_SLOTS);
    this.floats = new Float64Array(this.buffer, INT_SLOTS * 4, FLOAT_SLOTS);
  }

  /** A commit starts: scanning the mount. */
  begin(nowMs: number): void {
    this.write(() => {
      this.ints[ACTIVE] = 1;
      this.ints[PHASE] = PHASES.indexOf("scanning");
      this.ints[PATH] = 0;
      this.floats.fill(0);
      this.floats[STARTED] = nowMs;
    });
  }

  /** The mount is scanned: what the commit carries. */
  planned(files: number, bytes: number): void {
    this.write(() => {
      this.floats[FILES] = files;
      this.floats[BYTES] = bytes;
    });
  }

  /** A new phase, with the path once known and the byte counts that moved. */
  update(phase: FlightPhase, counts: { path?: FlightPath; filledBytes?: number; stagedBytes?: number } = {}): void {
    this.write(() => {
      this.ints[PHASE] = PHASES.indexOf(phase);
      if (counts.path !== undefined) this.ints[PATH] = PATHS.indexOf(counts.path);
      if (counts.filledBytes !== undefined) this.floats[FILLED] = counts.filledBytes;
      if (counts.stagedBytes !== undefined) this.floats[STAGED] = counts.stagedBytes;
    });
  }

  /** The commit ended (acknowledged, failed, or nothing to commit). */
  end(): void {
    this.write(() => {
      this.ints[ACTIVE] = 0;
    });
  }

  /** The commit in flight, or null when there is none. */
  read(): FlightStatus | null {
    for (let i = 0; i < FLIGHT_READ_TRIES_MAX; i++) {
      const before = Atomics.load(this.ints, SEQ);
      if ((before & 1) === 1) continue;
      const active = this.ints[ACTIVE];
      const phase = PHASES[this.ints[PHASE]] ?? "scanning";
      const path = PATHS[this.ints[PATH]] ?? "unknown";
      const f = Array.from(this.floats);
      if (Atomics.load(this.ints, SEQ) !== before) continue;
      if (active !== 1) return null;
      return { phase, path, startedAt: new Date(f[STARTED]).toISOString(), files: f[FILES], bytes: f[BYTES], filledBytes: f[FILLED], stagedBytes: f[STAGED] };
    }
    return null;
  }

  private write(change: () => void): void {
    Atomics.add(this.ints, SEQ, 1);
    change();
    Atomics.add(this.ints, SEQ, 1);
  }
}
