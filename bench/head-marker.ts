/**
 * What the head marker adds to a commit (docs/event-log.md, "The head marker"): N times, on the
 * same disk and interleaved so that the machine's load weighs on both alike, one durable LMDB
 * commit of a small record (as `EventLog.append` makes it) and one marker update (write of one
 * slot + fdatasync). Prints the median and 90th percentile of each.
 *
 *   bun bench/head-marker.ts [--events N]
 *
 * The temporary directory lives under os.tmpdir() and is removed at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { open as openLmdb } from "lmdb";
import { HeadMarker } from "../src/mars/log/head-marker.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "300" } } });
const events = Number(values.events);
const dir = mkdtempSync(join(tmpdir(), "plea-bench-head-"));
try {
  const env = openLmdb({ path: dir, maxDbs: 8, overlappingSync: false });
  const db = env.openDB<Buffer, Buffer>({ name: "EVENTS", keyEncoding: "binary", encoding: "binary" });
  const marker = await HeadMarker.create(dir, { eve: 0, mug: 0 });
  const commitMs: number[] = [];
  const markerMs: number[] = [];
  const value = Buffer.alloc(200, 7);
  for (let eve = 1; eve <= events; eve++) {
    const key = Buffer.alloc(8);
    key.writeUInt32BE(eve, 4);
    let t = performance.now();
    await env.transaction(() => db.put(key, value));
    await env.flushed;
    commitMs.push(performance.now() - t);
    t = performance.now();
    await marker.advance({ eve, mug: eve });
    markerMs.push(performance.now() - t);
  }
  await marker.close();
  await env.close();
  const at = (ms: number[], q: number) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length * q)].toFixed(2);
  console.log(`${events} commits: LMDB commit median ${at(commitMs, 0.5)} ms (p90 ${at(commitMs, 0.9)}); head marker update median ${at(markerMs, 0.5)} ms (p90 ${at(markerMs, 0.9)})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
