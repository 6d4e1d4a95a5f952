/**
 * What a snapshot of a 100,000-file state costs and what it saves at start-up (issue 17), measured
 * with mars's own log, kernel and snapshot code in this process (no urth): the figures behind
 * `--snap-time`'s default and the timed snapshot's rule (docs/event-log.md, "Snapshot policy").
 *
 *   npx bun bench/snap-cost.ts [--files 100000] [--file-bytes 1024] [--events 10,100,300,1000]
 *
 * Builds a pier whose event 1 commits FILES files of FILE_BYTES random bytes, then:
 * - a foreground snapshot of that state: ms and bytes written;
 * - a background snapshot (steps with pauses, as the timer writes it): ms, and the longest a
 *   task would have waited (the longest step between two pauses);
 * - start-up (restore) right after the snapshot, and after N more one-file events for each N.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cardTag, intoOvum, MIME_TEXT_PLAIN, type IntoChange } from "../src/ipc/into.ts";
import { createFileStoreKernel } from "../src/mars/kernel/index.ts";
import { EventLog, SnapshotStore } from "../src/mars/log/index.ts";
import { restore } from "../src/mars/restore.ts";
import { blobAtomBytesMin } from "../src/blob/index.ts";
import { atomFromBytes, cord, list } from "../src/noun/index.ts";
import { daFromUnixMicros } from "../src/noun/da.ts";
import { randomFillSync } from "node:crypto";

const { values } = parseArgs({ options: { files: { type: "string" }, "file-bytes": { type: "string" }, events: { type: "string" } }, strict: true });
const FILES = Number(values.files ?? 100_000);
const FILE_BYTES = Number(values["file-bytes"] ?? 1024);
const EVENT_COUNTS = (values.events ?? "10,100,300,1000").split(",").map(Number);

const pier = mkdtempSync(join(tmpdir(), "plea-snap-cost-"));
const say = (s: string) => process.stdout.write(`${s}\n`);
const nowOf = (eve: number) => daFromUnixMicros(1_700_000_000_000_000 + eve * 1_000_000);
const pathOf = (i: number) => list([cord(`d${Math.floor(i / 1000)}`), cord(`f${i}`), cord("bin")]);

/** mars's start-up on the pier: the newest snapshot and the replay after it. */
async function start(): Promise<{ ms: number; replayed: number }> {
  const l = await EventLog.open(pier);
  const t0 = performance.now();
  const r = await restore({ log: l, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
  const ms = performance.now() - t0;
  await l.close();
  return { ms, replayed: r.replayed };
}

try {
  let log = await EventLog.open(pier);
  const kernel = createFileStoreKernel();
  const pool = new Uint8Array(FILES * FILE_BYTES);
  randomFillSync(pool);
  const can: IntoChange[] = [];
  for (let i = 0; i < FILES; i++) {
    const bytes = pool.subarray(i * FILE_BYTES, (i + 1) * FILE_BYTES);
    bytes[FILE_BYTES - 1] |= 1;
    can.push({ kind: "put", path: pathOf(i), type: MIME_TEXT_PLAIN, len: FILE_BYTES, data: atomFromBytes(bytes) });
  }
  let eve = 0;
  const poke = async (changes: IntoChange[]) => {
    eve++;
    const ovum = intoOvum("base", changes, 1, false);
    const r = kernel.poke(nowOf(eve), ovum);
    if (!r.ok) throw new Error(`event ${eve} rejected`);
    kernel.commit(r);
    await log.append({ eve, mug: kernel.mug(), now: nowOf(eve), ovum, kind: cardTag(ovum) });
  };
  let t = performance.now();
  await poke(can);
  say(`event 1: ${FILES} files of ${FILE_BYTES} B committed in ${Math.round(performance.now() - t)} ms`);
  await log.close();
  const replayAll = await start();
  say(`start with no snapshot (replays event 1): ${Math.round(replayAll.ms)} ms`);
  log = await EventLog.open(pier);
  const snapshots = new SnapshotStore(pier);
  const blobs = { store: log.store, bytesMin: blobAtomBytesMin() };

  t = performance.now();
  const fg = await snapshots.save(eve, kernel.mug(), kernel.state, blobs);
  const fgMs = performance.now() - t;
  say(`foreground snapshot: ${Math.round(fgMs)} ms, ${statSync(fg.path).size} bytes`);

  let longest = 0;
  const stepMs: number[] = [];
  let steps = 0;
  let last = performance.now();
  const pause = async () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    stepMs.push(now - last);
    steps++;
    await new Promise<void>((r) => setImmediate(r));
    last = performance.now();
  };
  for (const round of ["first", "second"]) {
    longest = 0;
    steps = 0;
    stepMs.length = 0;
    t = performance.now();
    last = t;
    await snapshots.save(eve, kernel.mug(), kernel.state, blobs, { pause });
    const slowest = stepMs.map((m, i) => [i, m] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
    const median = [...stepMs].sort((a, b) => a - b)[Math.floor(stepMs.length / 2)];
    say(`background snapshot (${round}): ${Math.round(performance.now() - t)} ms in ${steps} steps, median step ${median.toFixed(1)} ms, longest steps ${slowest.map(([i, m]) => `#${i} ${m.toFixed(1)} ms`).join(", ")}`);
  }
  await log.close();

  const base = await start();
  say(`start right after the snapshot: ${Math.round(base.ms)} ms (replayed ${base.replayed})`);
  let log2 = await EventLog.open(pier);
  let done = 0;
  for (const n of EVENT_COUNTS) {
    for (; done < n; done++) {
      const i = (done * 7919) % FILES;
      const bytes = pool.slice(i * FILE_BYTES, (i + 1) * FILE_BYTES);
      bytes[0] ^= 0xff;
      eve++;
      const ovum = intoOvum("base", [{ kind: "put", path: pathOf(i), type: MIME_TEXT_PLAIN, len: FILE_BYTES, data: atomFromBytes(bytes) }], 1, false);
      const r = kernel.poke(nowOf(eve), ovum);
      if (!r.ok) throw new Error(`event ${eve} rejected`);
      kernel.commit(r);
      await log2.append({ eve, mug: kernel.mug(), now: nowOf(eve), ovum, kind: cardTag(ovum) });
    }
    await log2.close();
    const s = await start();
    say(`start after ${n} one-file events: ${Math.round(s.ms)} ms (replayed ${s.replayed}); ${(s.ms / base.ms).toFixed(2)}x; ${((s.ms - base.ms) / n).toFixed(2)} ms per event`);
    log2 = await EventLog.open(pier);
  }
  await log2.close();
} finally {
  rmSync(pier, { recursive: true, force: true });
}
