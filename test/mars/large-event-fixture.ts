/**
 * One large event through the log in its own process, so that its peak memory (VmHWM) is the
 * log's alone. Two modes, each printing one JSON line:
 *
 *   bun large-event-fixture.ts append PIER BYTES   make a BYTES-long file, apply, append it
 *   bun large-event-fixture.ts replay PIER BYTES   restore the pier and check the file byte for byte
 *
 * Memory figures are MiB of VmHWM (peak resident set) from /proc/self/status: `before` once the
 * event and the state exist, `after` once the append resolved (or the restore finished).
 */
import { readFileSync } from "node:fs";
import { peekPath } from "../../src/ipc/peek-path.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog, SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { atomFromBytes, BigAtom, Cell, cell, cord, list, toBytes, tuple } from "../../src/noun/index.ts";
import { nowOf } from "./mars-test-support.ts";

const [mode, pier, bytesText] = process.argv.slice(2);
const bytes = Number(bytesText);

function peakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return Math.round(Number(m![1]) / 1024);
}

/** Byte i of the large file: cheap to make and to check, different in every MiB. */
function expected(i: number): number {
  return (Math.imul(i, 2654435761) >>> 24) ^ ((i >>> 20) & 0xff);
}

function makeFile(): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = expected(i);
  out[bytes - 1] = 0xff; // the atom keeps every byte
  return out;
}

if (mode === "append") {
  const data = makeFile();
  const ovum = cell(
    list([cord("c"), cord("sync")]),
    tuple(cord("into"), cord("base"), 1, list([cell(list([cord("large"), cord("bin")]), cell(0, tuple(list([cord("text"), cord("plain")]), bytes, atomFromBytes(data))))])),
  );
  const log = await EventLog.open(pier);
  const kernel = createFileStoreKernel();
  const r = kernel.poke(nowOf(1), ovum);
  if (!r.ok) throw new Error("rejected");
  kernel.commit(r);
  const mug = kernel.mug();
  const before = peakMiB();
  const started = performance.now();
  const result = await log.append({ eve: 1, mug, now: nowOf(1), ovum });
  const ms = Math.round(performance.now() - started);
  await log.close();
  console.log(JSON.stringify({ before, after: peakMiB(), jamBytes: result.jamBytes, storage: result.storage, blobBytes: result.blobBytes, mug, ms }));
} else {
  const before = peakMiB();
  const started = performance.now();
  const log = await EventLog.open(pier);
  const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
  await log.close();
  const ms = Math.round(performance.now() - started);
  const after = peakMiB();
  const peek = restored.kernel.peek(peekPath("x", "base", ["large", "bin"]));
  if (!peek.ok || peek.unit === 0) throw new Error("the file is not there");
  const mime = ((peek.unit as Cell).tail as Cell).tail as Cell;
  const len = (mime.tail as Cell).head as number;
  const data = toBytes((mime.tail as Cell).tail as BigAtom);
  let same = len === bytes && data.length === bytes && data[bytes - 1] === 0xff;
  for (let i = 0; same && i < bytes - 1; i++) same = data[i] === expected(i);
  console.log(JSON.stringify({ before, after, mug: restored.mug, eve: restored.eve, replayed: restored.replayed, same, ms }));
}
