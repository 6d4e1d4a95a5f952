/**
 * Timed snapshots (issue 17, docs/event-log.md "Snapshot policy"): the policy's timer rule, a
 * background save whose state's atoms move meanwhile (settle.ts), and a real mars with
 * `--snap-time` that answers a poke while a large snapshot is being written, lets `%sync %save`
 * wait for it, and after a SIGKILL starts from it.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MIME_TEXT_PLAIN, intoOvum, type IntoChange } from "../../src/ipc/into.ts";
import { blobSubstitution } from "../../src/mars/log/blob-refs.ts";
import { EventLog, logPaths, SNAPSHOT_EVENT_REPLAY_BYTES, SnapshotPolicy, SnapshotStore, snapshotFileName } from "../../src/mars/log/index.ts";
import { SNAPSHOT_TIMER_REPLAY_BYTES_MIN, SNAPSHOT_TIMER_REWRITE_RATIO } from "../../src/mars/log/snapshot-policy.ts";
import { loadSnapshotFile } from "../../src/mars/log/snapshot.ts";
import { settleAtoms } from "../../src/mars/settle.ts";
import { atomFromBytes, BigAtom, Cell, cord, equals, list, metBits, mug, type Noun } from "../../src/noun/index.ts";
import { MARS_MAIN_PATH } from "../../src/urth/mars-process.ts";
import { cleanUp, leftoverSegments, startMars, tempPier, trackChild, waitUntil } from "../plea/plea-test-support.ts";
import { pseudoRandomBytes, removeTempPiers, tempPier as tempLogPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(async () => {
  removeTempPiers();
  await cleanUp();
});
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

const MiB = 1024 * 1024;

describe("the timer's rule", () => {
  test("nothing since the last snapshot, or less replay than the floor: no timed snapshot", () => {
    expect(new SnapshotPolicy({ snapshotEve: 5, snapshotBytes: 1000, eventsSince: 0, bytesSince: 0 }).dueOnTimer()).toBe(false);
    const below = Math.floor(SNAPSHOT_TIMER_REPLAY_BYTES_MIN / SNAPSHOT_EVENT_REPLAY_BYTES) - 1;
    expect(new SnapshotPolicy({ snapshotEve: 5, snapshotBytes: 1000, eventsSince: below, bytesSince: below * 100 }).dueOnTimer()).toBe(false);
  });

  test("a small state with enough small events since: due; the same events on a large state: not yet", () => {
    const events = Math.ceil(SNAPSHOT_TIMER_REPLAY_BYTES_MIN / SNAPSHOT_EVENT_REPLAY_BYTES);
    expect(new SnapshotPolicy({ snapshotEve: 5, snapshotBytes: MiB, eventsSince: events, bytesSince: events * 100 }).dueOnTimer()).toBe(true);
    const large = SNAPSHOT_TIMER_REPLAY_BYTES_MIN * SNAPSHOT_TIMER_REWRITE_RATIO * 2;
    expect(new SnapshotPolicy({ snapshotEve: 5, snapshotBytes: large, eventsSince: events, bytesSince: events * 100 }).dueOnTimer()).toBe(false);
  });

  test("an event kept in a blob file counts as replay (many small nouns): a 100,000-file commit calls for a timed snapshot", () => {
    const p = new SnapshotPolicy({ snapshotEve: 5, snapshotBytes: 200 * MiB, eventsSince: 0, bytesSince: 0 });
    p.noteEvent(105 * MiB, "blob");
    expect(p.dueOnTimer()).toBe(true);
    // The exit rule still counts inline bytes only.
    expect(p.dueOnExit()).toBe(false);
  });

  test("a snapshot written in the background leaves the events that came meanwhile counted", () => {
    const p = new SnapshotPolicy({ snapshotEve: 0, snapshotBytes: 0, eventsSince: 0, bytesSince: 0 });
    p.noteEvent(100);
    p.noteEvent(200);
    const since = p.state; // the snapshot of event 2 starts
    p.noteEvent(300, "blob");
    p.noteEvent(400);
    p.noteSnapshot(2, 5000, since);
    expect(p.state).toEqual({ snapshotEve: 2, snapshotBytes: 5000, eventsSince: 2, bytesSince: 700, inlineBytesSince: 400 });
  });
});

describe("a background save", () => {
  /**
   * A state of `cells` small files, one large heap atom (goes to the store) and one view into a
   * "segment" (an owner): settle.ts moves both while the save is paused at pause number `at`.
   */
  async function saveWhileAtomsMove(at: "first" | "late"): Promise<void> {
    const pier = tempLogPier();
    const log = await EventLog.open(pier);
    try {
      const bytesMin = 64 * 1024;
      const bigBytes = pseudoRandomBytes(256 * 1024, 7);
      bigBytes[bigBytes.length - 1] = 1;
      const big = atomFromBytes(bigBytes) as BigAtom;
      const viewBytes = pseudoRandomBytes(80 * 1024, 9);
      viewBytes[viewBytes.length - 1] = 1;
      const segment = { name: "a segment" };
      const view = new BigAtom(viewBytes, segment);
      let files: Noun = 0;
      for (let i = 0; i < 60_000; i++) files = new Cell(new Cell(list([cord(`d${i % 97}`), cord(`f${i}`)]), atomFromBytes(pseudoRandomBytes(40, i + 1))), files);
      // Both large atoms appear twice: the second meeting is a backref to the first.
      const state = new Cell(new Cell(big, view), new Cell(files, new Cell(big, view)));
      const stateMug = mug(state);
      // The blob a later event's append would have written for `big` (settleEvent moves it there).
      const [put] = await log.store.putMany([{ bytes: big.bytes, mug: mug(big), bitLength: metBits(big) }]);
      const blob = log.store.source(put.ref);
      const snapshots = new SnapshotStore(pier);
      // A first save counts the pauses, so the second can move the atoms near the end of its jam.
      let counted = 0;
      await snapshots.save(4, stateMug, state, { store: log.store, bytesMin }, { pause: async () => void counted++ });
      let pauses = 0;
      let movedAt = -1;
      const stepsBefore = at === "first" ? 1 : counted - 2;
      const h = await snapshots.save(5, stateMug, state, { store: log.store, bytesMin }, {
        pause: async () => {
          pauses++;
          if (pauses === stepsBefore) {
            const owners = settleAtoms(state, new Map([[big, blob]]));
            expect([...owners]).toEqual([segment]);
            movedAt = pauses;
          }
          await new Promise<void>((r) => setImmediate(r));
        },
      });
      expect(movedAt).toBe(stepsBefore);
      expect(pauses).toBeGreaterThan(stepsBefore);
      expect(big.source).toBe(blob);
      expect(view.owner).toBeUndefined();
      const loaded = await loadSnapshotFile(h.path, 5, () => undefined, (refs) => blobSubstitution(log.store, refs));
      if (typeof loaded === "string") throw new Error(loaded);
      expect(loaded.mug).toBe(stateMug);
      expect(mug(loaded.state)).toBe(stateMug);
      expect(equals(loaded.state, state)).toBe(true);
      // Both large atoms are refs (the view too: at least bytesMin), each once.
      expect(loaded.refs.length).toBe(2);
    } finally {
      await log.close();
    }
  }

  test("atoms moved to the blob store and to the heap during the length pass: the snapshot holds the same state", async () => {
    await saveWhileAtomsMove("first");
  });

  test("atoms moved during the jam itself: the snapshot holds the same state", async () => {
    await saveWhileAtomsMove("late");
  });
});

/** A `%into` putting `count` files of `bytes` bytes each (distinct contents). */
function manyFiles(count: number, bytes: number, tag: number): Noun {
  const can: IntoChange[] = [];
  for (let i = 0; i < count; i++) {
    const data = pseudoRandomBytes(bytes, i * 31 + tag);
    data[bytes - 1] = 1;
    can.push({ kind: "put", path: list([cord(`d${Math.floor(i / 1000)}`), cord(`f${i}`), cord("txt")]), type: MIME_TEXT_PLAIN, len: bytes, data: atomFromBytes(data) });
  }
  return intoOvum("base", can, 1, false);
}

function chk(pier: string): string {
  return logPaths(pier).chk;
}

describe("mars --snap-time", () => {
  test("a poke issued while a large timed snapshot is being written is answered before it finishes; %sync %save waits for it; after SIGKILL mars starts from it", async () => {
    const { pier } = tempPier();
    const { mars, log } = await startMars({ pier, snapTimeSeconds: 1 });
    expect((await mars.poke(manyFiles(100_000, 48, 1))).ok).toBe(true);
    const tmp = join(chk(pier), "snapshot-1.tmp");
    const done = join(chk(pier), snapshotFileName(1));
    // The timer fires within a second; the snapshot's file exists from the end of its length pass.
    await waitUntil(() => existsSync(tmp) || existsSync(done), "the timed snapshot of event 1 to be under way", 30_000);
    expect(existsSync(done)).toBe(false);
    const answer = await mars.poke(manyFiles(1, 10, 2));
    expect(answer.ok).toBe(true);
    // Answered while the snapshot was still being written: mars did not wait for it.
    expect(existsSync(done)).toBe(false);
    // `%sync %save` waits for the timed snapshot (of event 1), then writes event 2's.
    expect((await mars.save()).eve).toBe(2);
    expect(existsSync(done)).toBe(true);
    expect(existsSync(join(chk(pier), snapshotFileName(2)))).toBe(true);
    expect((await mars.poke(manyFiles(1, 10, 3))).ok).toBe(true);
    await mars.kill("SIGKILL");
    expect(log.filter((l) => /timed snapshot/.test(l))).toEqual([]);
    const again = await startMars({ pier });
    expect(again.mars.eve).toBe(3);
    expect(again.log.some((l) => /^replayed 1 events \(from snapshot 2\)/.test(l))).toBe(true);
  });

  test("a timed snapshot is written only when something happened and the rule says so", async () => {
    const { pier } = tempPier();
    const { mars } = await startMars({ pier, snapTimeSeconds: 1 });
    // One small event: below the timer's floor, so no snapshot however long mars runs.
    expect((await mars.poke(manyFiles(1, 10, 4))).ok).toBe(true);
    // Then enough inline bytes since (files under the blob threshold stay inline): due.
    const files = Math.ceil(SNAPSHOT_TIMER_REPLAY_BYTES_MIN / (64 * 1024)) + 4;
    expect((await mars.poke(manyFiles(files, 64 * 1024, 5))).ok).toBe(true);
    await waitUntil(() => existsSync(join(chk(pier), snapshotFileName(2))), "the timed snapshot of event 2", 30_000);
    expect(readdirSync(chk(pier)).filter((n) => n.endsWith(".plea"))).toEqual([snapshotFileName(2)]);
  });

  test("a malformed --snap-time is a usage error (status 2) naming the option", async () => {
    const { pier } = tempPier();
    for (const bad of ["abc", "1.5", "-1", "99999999999"]) {
      const proc = trackChild(Bun.spawn([process.execPath, MARS_MAIN_PATH, "--pier", pier, `--snap-time=${bad}`], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
      expect(await proc.exited).toBe(2);
      expect(await new Response(proc.stderr).text()).toContain("--snap-time SECONDS");
    }
  });
});
