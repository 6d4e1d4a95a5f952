/**
 * How fast bytes move through a shared-memory segment, against memcpy as the ceiling.
 *
 *   npx bun bench/shm.ts [--size 1g] [--runs 3] [--big]
 *
 * Cases, each in GB/s and as a ratio to memcpy (target: a reused segment >= 0.5x):
 * - memcpy: `Uint8Array.set` between two already-faulted heap buffers (the ceiling);
 * - a fresh segment: createSegment (ftruncate + fallocate), then the first write (page faults);
 * - a reused segment: writing again into the same, already-faulted segment;
 * - the other process: a child maps the segment read-only-private and copies it out, first
 *   (its page tables fill) and second time (already mapped).
 * `--big` adds a segment above 4 GiB (two windows), if memory and /dev/shm have room.
 * Every segment is removed on exit, on error and on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import {
  createSegment,
  namespaceForPier,
  nextSegmentName,
  openSegment,
  type Segment,
  SHM_WINDOW_BYTES_MAX,
  shmSpace,
  sweepOrphans,
} from "../src/ffi/index.ts";

const GIB = 2 ** 30;
const MIB = 2 ** 20;
/** Chunk of the --big case: a 4.25 GiB source cannot be one Uint8Array. */
const BIG_CHUNK_BYTES = 64 * MIB;
/** Size of the --big case: two windows, the second one 256 MiB. */
const BIG_BYTES = SHM_WINDOW_BYTES_MAX + 256 * MIB;
const NAMESPACE = namespaceForPier(import.meta.path);

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`--size takes a byte count like 1g, 512m or 1048576, not "${text}"`);
  const unit = { "": 1, k: 1024, m: MIB, g: GIB }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Math.round(Number(m[1]) * unit);
}

function fmtBytes(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(2)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`;
}

/** Fills `bytes` with a cheap non-constant pattern, one word at a time (also faults it in). */
function fillPattern(bytes: Uint8Array, seed: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (i * 2654435761 + seed) >>> 0;
  for (let i = words.length * 4; i < bytes.length; i++) bytes[i] = i & 255;
}

function bestOf(runs: number, f: () => number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, f());
  return best;
}

function timed(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

// ---- the child: maps the segment as mars does and copies it out ----------------------------

async function child(name: string, length: number, chunkBytes: number): Promise<void> {
  const target = new Uint8Array(Math.min(length, chunkBytes));
  target.fill(1); // fault the destination in, so the figure is about the segment
  using segment = openSegment(name, { mode: "read", length });
  const readAll = () => {
    for (let pos = 0; pos < length; pos += target.length) segment.read(pos, target.subarray(0, Math.min(target.length, length - pos)));
  };
  const first = timed(readAll);
  const second = timed(readAll);
  // A sample at each window border proves the bytes crossed, not just that a copy ran.
  const samples = segment.windows.map((_, i) => {
    const at = Math.min(i * segment.windowBytes + 12, length - 4);
    const probe = new Uint8Array(4);
    segment.read(at, probe);
    return [at, Array.from(probe)];
  });
  console.log(JSON.stringify({ first, second, samples }));
}

// ---- the parent ---------------------------------------------------------------------------

const live = new Set<Segment>();

function cleanup(): void {
  for (const segment of live) {
    try {
      segment.close();
      segment.unlink();
    } catch (e) {
      console.error(`cleanup: ${(e as Error).message}`);
    }
  }
  live.clear();
}

function track(segment: Segment): Segment {
  live.add(segment);
  return segment;
}

function drop(segment: Segment): void {
  segment.close();
  segment.unlink();
  live.delete(segment);
}

async function runChild(name: string, length: number, chunkBytes: number): Promise<{ first: number; second: number; samples: [number, number[]][] }> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", name, String(length), String(chunkBytes)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`the reading child exited with ${code}: ${err.trim()}`);
  return JSON.parse(out);
}

function row(label: string, ms: number, bytes: number, ceilingMs: number, note = ""): void {
  const gbs = bytes / (ms / 1000) / 1e9;
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms ${gbs.toFixed(2).padStart(7)} GB/s ${(ceilingMs / ms).toFixed(2).padStart(6)}x${note}`,
  );
}

function verify(samples: [number, number[]][], expected: (pos: number) => number): void {
  for (const [at, bytes] of samples) {
    bytes.forEach((b, i) => {
      if (b !== expected(at + i)) throw new Error(`the child read ${b} at byte ${at + i}, expected ${expected(at + i)}`);
    });
  }
}

async function main(size: number, runs: number, big: boolean): Promise<void> {
  const swept = sweepOrphans(NAMESPACE);
  if (swept.length) console.log(`removed ${swept.length} segments left by an earlier run`);
  console.log(`shm bench: ${fmtBytes(size)}, best of ${runs} runs (bun ${Bun.version}, ${process.arch})`);

  const source = new Uint8Array(size);
  fillPattern(source, 7);
  const heap = new Uint8Array(size);
  heap.fill(0);
  heap.set(source); // warm-up
  const memcpy = bestOf(runs, () => timed(() => heap.set(source)));
  row("memcpy heap -> heap (ceiling)", memcpy, size, memcpy);

  // A fresh segment each run: reserving pages, then the first touch of each.
  let create = Infinity;
  let firstWrite = Infinity;
  let fresh = Infinity;
  for (let i = 0; i < runs; i++) {
    let segment: Segment | undefined;
    const c = timed(() => {
      segment = track(createSegment(nextSegmentName(NAMESPACE), size));
    });
    const w = timed(() => segment!.write(0, source));
    create = Math.min(create, c);
    firstWrite = Math.min(firstWrite, w);
    fresh = Math.min(fresh, c + w);
    drop(segment!);
  }
  row("create segment (ftruncate + fallocate)", create, size, memcpy);
  row("first write into a fresh segment", firstWrite, size, memcpy);
  row("fresh segment: create + first write", fresh, size, memcpy);

  const segment = track(createSegment(nextSegmentName(NAMESPACE), size));
  segment.write(0, source);
  const reused = bestOf(runs, () => timed(() => segment.write(0, source)));
  const ratio = memcpy / reused;
  row("write into a reused (faulted) segment", reused, size, memcpy, `  target >= 0.50x: ${ratio >= 0.5 ? "met" : "NOT MET"}`);

  const reader = await runChild(segment.name, size, size);
  verify(reader.samples, (pos) => source[pos]);
  row("other process: first read (maps pages)", reader.first, size, memcpy);
  row("other process: second read (mapped)", reader.second, size, memcpy);
  row("end to end: reused write + first read", reused + reader.first, size, memcpy);
  drop(segment);

  if (big) await bigCase(memcpy / size);
}

/** Above 4 GiB: two windows, written and read in chunks across the border. */
async function bigCase(memcpyMsPerByte: number): Promise<void> {
  const free = shmSpace().freeBytes;
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const available = Number(/MemAvailable:\s+(\d+) kB/.exec(meminfo)?.[1] ?? 0) * 1024;
  const needed = BIG_BYTES + 2 * GIB; // the segment, plus room for everything else on the machine
  if (free < BIG_BYTES || available < needed) {
    console.log(
      `--big skipped: it needs ${fmtBytes(BIG_BYTES)} in /dev/shm (${fmtBytes(free)} free) and ${fmtBytes(needed)} of memory (${fmtBytes(available)} available)`,
    );
    return;
  }
  const chunk = new Uint8Array(BIG_CHUNK_BYTES);
  fillPattern(chunk, 11);
  const segment = track(createSegment(nextSegmentName(NAMESPACE), BIG_BYTES));
  console.log(`--big: ${fmtBytes(BIG_BYTES)} in ${segment.windows.length} windows of at most ${fmtBytes(segment.windowBytes)}`);
  const writeAll = () => {
    // Offsets shifted by 12 bytes so chunks straddle the 4 GiB window border.
    for (let pos = 12; pos < BIG_BYTES; pos += BIG_CHUNK_BYTES) segment.write(pos, chunk.subarray(0, Math.min(BIG_CHUNK_BYTES, BIG_BYTES - pos)));
  };
  const memcpy = memcpyMsPerByte * BIG_BYTES;
  row("big: first write (page faults)", timed(writeAll), BIG_BYTES, memcpy);
  row("big: write into the reused segment", timed(writeAll), BIG_BYTES, memcpy);
  const reader = await runChild(segment.name, BIG_BYTES, BIG_CHUNK_BYTES);
  verify(reader.samples, (pos) => (pos < 12 ? 0 : chunk[(pos - 12) % BIG_CHUNK_BYTES]));
  row("big: other process, first read", reader.first, BIG_BYTES, memcpy);
  row("big: other process, second read", reader.second, BIG_BYTES, memcpy);
  drop(segment);
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv[1], Number(argv[2]), Number(argv[3]));
} else {
  const { values } = parseArgs({
    args: argv,
    options: { size: { type: "string", default: "1g" }, runs: { type: "string", default: "3" }, big: { type: "boolean", default: false } },
    strict: true,
  });
  const size = parseSize(values.size!);
  const runs = Number(values.runs);
  if (!(size > 0 && size <= SHM_WINDOW_BYTES_MAX)) throw new Error(`--size must be 1 byte to 4 GiB (use --big above that), not ${values.size}`);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  try {
    await main(size, runs, values.big!);
  } finally {
    cleanup();
  }
}
