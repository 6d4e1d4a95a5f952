/**
 * The event log's figures (issue 6):
 * - a 1 GiB event: time until `append` resolves (durable), the appending process's peak Pss, and
 *   the ratio to `dd if=BLOB of=TMP bs=1M conv=fdatasync` of the same bytes in the same run;
 * - replay speed: that event read back (MB/s), and many small events (events/s, MB/s).
 *
 *   bun bench/log.ts [--size BYTES] [--events N]
 *
 * The append and the large replay run in child processes (`bun bench/log.ts child ...`), whose
 * smaps_rollup the parent samples every SAMPLE_MS, so the peak Pss is the log's alone. Temporary
 * piers live under os.tmpdir() and are removed at the end.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { peekPath } from "../src/ipc/peek-path.ts";
import { createFileStoreKernel } from "../src/mars/kernel/index.ts";
import { EventLog, logPaths, SnapshotStore } from "../src/mars/log/index.ts";
import { restore } from "../src/mars/restore.ts";
import { daFromUnixMicros } from "../src/noun/da.ts";
import { atomFromBytes, cell, cord, list, tuple, type Noun } from "../src/noun/index.ts";
import { measureDd } from "./lib/baselines.ts";
import { parseSmapsRollup } from "./lib/memory-sampler.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Pss sampling period of the child: smaps_rollup costs about 28 ms per GiB touched. */
const SAMPLE_MS = 50;

function intoOf(path: string[], bytes: Uint8Array, len = bytes.length): Noun {
  const file = cell(list(path.map((p) => cord(p))), cell(0, tuple(list([cord("text"), cord("plain")]), len, atomFromBytes(bytes))));
  return cell(list([cord("c"), cord("sync")]), tuple(cord("into"), cord("base"), 1, list([file])));
}

function largeFile(size: number): Uint8Array {
  const out = new Uint8Array(size);
  // A cheap pattern that differs in every word; the values do not change jam's or the disk's cost.
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761) ^ (i >>> 12);
  out[size - 1] = 0xff;
  return out;
}

async function child(mode: string, pier: string, size: number): Promise<void> {
  if (mode === "append") {
    const ovum = intoOf(["large", "bin"], largeFile(size));
    const log = await EventLog.open(pier);
    const kernel = createFileStoreKernel();
    const now = daFromUnixMicros(Date.now() * 1000);
    const r = kernel.poke(now, ovum);
    if (!r.ok) throw new Error("rejected");
    kernel.commit(r);
    let t = performance.now();
    const mug = kernel.mug();
    const mugMs = performance.now() - t;
    process.stdout.write("ready\n");
    await Bun.sleep(2 * SAMPLE_MS); // let the parent take its baseline sample
    t = performance.now();
    const result = await log.append({ eve: 1, mug, now, ovum });
    const appendMs = performance.now() - t;
    await log.close();
    process.stdout.write(JSON.stringify({ appendMs, mugMs, jamBytes: result.jamBytes }) + "\n");
  } else {
    process.stdout.write("ready\n");
    await Bun.sleep(2 * SAMPLE_MS);
    const t = performance.now();
    const log = await EventLog.open(pier);
    const restored = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    const ms = performance.now() - t;
    await log.close();
    const peek = restored.kernel.peek(peekPath("x", "base", ["large", "bin"]));
    if (!peek.ok || peek.unit === 0) throw new Error("the file did not come back");
    process.stdout.write(JSON.stringify({ replayMs: ms }) + "\n");
  }
}

interface Sampled<T> {
  result: T;
  /** Pss before the timed part, and the peak during it, in bytes. */
  basePss: number;
  peakPss: number;
}

/** Runs a child mode, sampling its Pss from "ready" until it exits. */
async function sampledChild<T>(mode: string, pier: string, size: number): Promise<Sampled<T>> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "child", mode, pier, String(size)], { stdout: "pipe", stderr: "inherit" });
  let basePss = 0;
  let peakPss = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const sample = () => {
    try {
      const m = parseSmapsRollup(readFileSync(`/proc/${proc.pid}/smaps_rollup`, "utf8"));
      if (m === undefined) return;
      if (basePss === 0) basePss = m.pss;
      peakPss = Math.max(peakPss, m.pss);
    } catch {
      // The child exited between two samples.
    }
  };
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    out += decoder.decode(chunk, { stream: true });
    if (timer === undefined && out.includes("ready\n")) {
      sample();
      timer = setInterval(sample, SAMPLE_MS);
    }
  }
  clearInterval(timer);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`bench child ${mode} exited with status ${code}`);
  const last = out.trim().split("\n").pop()!;
  return { result: JSON.parse(last) as T, basePss, peakPss };
}

async function smallEvents(dir: string, count: number): Promise<void> {
  const pier = mkdtempSync(join(dir, "plea-bench-log-small-"));
  try {
    const log = await EventLog.open(pier);
    const kernel = createFileStoreKernel();
    let t = performance.now();
    let bytes = 0;
    let pending: Promise<{ jamBytes: number }>[] = [];
    for (let eve = 1; eve <= count; eve++) {
      const now = daFromUnixMicros(1_700_000_000_000_000 + eve * 1000);
      const ovum = intoOf(["notes", `n${eve % 500}`, "txt"], new TextEncoder().encode(`note ${eve} `.repeat(8)));
      const r = kernel.poke(now, ovum);
      if (!r.ok) throw new Error("rejected");
      kernel.commit(r);
      pending.push(log.append({ eve, mug: kernel.mug(), now, ovum }));
      // Up to 64 appends in flight share commits, as a busy mars's would.
      if (pending.length === 64) {
        for (const p of await Promise.all(pending)) bytes += p.jamBytes;
        pending = [];
      }
    }
    for (const p of await Promise.all(pending)) bytes += p.jamBytes;
    const appendMs = performance.now() - t;
    await log.close();
    const again = await EventLog.open(pier);
    t = performance.now();
    const restored = await restore({ log: again, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
    const replayMs = performance.now() - t;
    await again.close();
    if (restored.mug !== kernel.mug()) throw new Error("replay gave another state");
    console.log(
      `${count} small events (${(bytes / count).toFixed(0)} B jam each): append ${(count / (appendMs / 1000)).toFixed(0)} events/s durable (64 in flight); ` +
        `replay ${(count / (replayMs / 1000)).toFixed(0)} events/s, ${(bytes / 1e6 / (replayMs / 1000)).toFixed(1)} MB/s (kernel applies and mugs included)`,
    );
  } finally {
    rmSync(pier, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: "string" }, events: { type: "string" } }, strict: true });
  const size = values.size ? Number(values.size) : GIB;
  const events = values.events ? Number(values.events) : 10_000;
  const dir = tmpdir();
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  console.log(`bench/log.ts: ${size / MIB} MiB event, ${events} small events, under ${dir}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  if (free < 2 * size + 512 * MIB) {
    console.log(`Skipping the large event: ${dir} has ${Math.floor(free / MIB)} MiB free, it needs ${(2 * size) / MIB + 512} MiB.`);
  } else {
    const pier = mkdtempSync(join(dir, "plea-bench-log-"));
    try {
      const appended = await sampledChild<{ appendMs: number; mugMs: number; jamBytes: number }>("append", pier, size);
      const blobDir = logPaths(pier).blob;
      const blob = join(blobDir, readdirSync(blobDir)[0]);
      // Warm the page cache with the blob, so dd measures the write, not a read from disk.
      readFileSync(blob).byteLength;
      const dd = measureDd(blob, dir, 1)[0];
      const a = appended.result;
      console.log(
        `${size / MIB} MiB event: durable in ${a.appendMs.toFixed(0)} ms (${(a.jamBytes / 1e6 / (a.appendMs / 1000)).toFixed(0)} MB/s); ` +
          `dd conv=fdatasync of the same ${(a.jamBytes / MIB).toFixed(0)} MiB ${dd.toFixed(0)} ms; ratio ${(a.appendMs / dd).toFixed(2)}x. ` +
          `(mug of the state before it: ${a.mugMs.toFixed(0)} ms, not included)`,
      );
      console.log(
        `  appending process Pss: ${(appended.basePss / MIB).toFixed(0)} MiB holding the event, peak ${(appended.peakPss / MIB).toFixed(0)} MiB during the append ` +
          `(+${((appended.peakPss - appended.basePss) / MIB).toFixed(0)} MiB; payload ${(size / MIB).toFixed(0)} MiB)`,
      );
      const replayed = await sampledChild<{ replayMs: number }>("replay", pier, size);
      console.log(
        `  replay of it: ${replayed.result.replayMs.toFixed(0)} ms (${(a.jamBytes / 1e6 / (replayed.result.replayMs / 1000)).toFixed(0)} MB/s), ` +
          `peak Pss ${(replayed.peakPss / MIB).toFixed(0)} MiB (${(replayed.peakPss / size).toFixed(2)}x the payload)`,
      );
    } finally {
      rmSync(pier, { recursive: true, force: true });
    }
  }
  await smallEvents(dir, events);
}

if (process.argv[2] === "child") {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]));
} else {
  await main();
}
