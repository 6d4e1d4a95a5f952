/**
 * Bench of the raw shared-memory noun format (docs/shm-format.md) against memcpy and jam+cue.
 * Run: npx bun bench/shm-format.ts [--quick]   (--quick: 64 MiB atoms instead of 1 GiB)
 *
 * Targets (issue 4): a 1 GiB atom written to and read from a reused segment at >= 0.4x memcpy
 * each way; a 1 GiB file-backed atom filled from a cached file at >= 0.3x memcpy; a depth-20
 * tree and a 1,000,000-item list written at >= 10 M nodes/s and read at >= 5 M nodes/s (nodes =
 * cells + atoms). The size pass is reported on its own. Each figure is the best of a few warm
 * runs (docs/platform.md: first runs are 2-3x slower) with the median beside it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSegment, namespaceForPier, nextSegmentName, type Segment } from "../src/ffi/index.ts";
import { atomFromBytes, Cell, FileAtom, type Noun, readShm, shmSize, writeShm } from "../src/noun/index.ts";
import { cue } from "../src/noun/cue.ts";
import { jam } from "../src/noun/jam.ts";
import { time, type Timing } from "./lib/timing.ts";
import { balancedTree, longList } from "../test/noun/flat/flat-test-support.ts";

const QUICK = process.argv.includes("--quick");
const ATOM_BYTES = QUICK ? 64 * 2 ** 20 : 2 ** 30;
const BULK_RUNS = 3;
const NODE_RUNS = 5;


function gbps(bytes: number, ms: number): string {
  return `${(bytes / ms / 1e6).toFixed(2)} GB/s`;
}

function ms(t: Timing): string {
  return `${t.best.toFixed(1)} ms (median ${t.median.toFixed(1)})`;
}

function row(label: string, text: string): void {
  console.log(`${label.padEnd(44)} ${text}`);
}

/** Bytes that are not all alike (so nothing can shortcut them) with a nonzero last byte. */
function payload(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  const words = new Uint32Array(bytes.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761) >>> 0;
  bytes[n - 1] = 0x5a;
  return bytes;
}


function benchBulk(segment: Segment): void {
  const label = QUICK ? "64 MiB" : "1 GiB";
  console.log(`\n== one ${label} atom ==`);
  const src = payload(ATOM_BYTES);
  const dst = new Uint8Array(ATOM_BYTES);
  dst.fill(1); // fault every page: memcpy is measured between faulted buffers
  const memcpy = time(BULK_RUNS, () => dst.set(src), false);
  row("memcpy (Uint8Array.set, faulted)", `${ms(memcpy)}  ${gbps(ATOM_BYTES, memcpy.best)}`);
  // A copying read lands in fresh memory, whose first touch faults pages (docs/platform.md:
  // 1.1-1.5 GB/s): this is the baseline a copying read can reach.
  const fresh = time(BULK_RUNS, () => src.slice(), false);
  row("memcpy into fresh memory (slice)", `${ms(fresh)}  ${gbps(ATOM_BYTES, fresh.median)} at the median`);

  const big = atomFromBytes(src);
  const size = time(BULK_RUNS, () => shmSize(big), false);
  row("shmSize", ms(size));
  const write = time(BULK_RUNS, () => writeShm(big, segment), false);
  row("writeShm into the reused segment", `${ms(write)}  ${gbps(ATOM_BYTES, write.best)}  ${(memcpy.best / write.best).toFixed(2)}x memcpy (target 0.4x)`);
  const read = time(BULK_RUNS, () => readShm(segment), false);
  const view = time(BULK_RUNS, () => readShm(segment, { zeroCopy: true }), false);
  row("readShm (zeroCopy: mars's path)", `${ms(view)}  ${(memcpy.best / view.best).toFixed(0)}x memcpy (target 0.4x)`);
  row("readShm (copy into fresh memory)", `${ms(read)}  ${gbps(ATOM_BYTES, read.best)}  ${(memcpy.best / read.best).toFixed(2)}x memcpy, ${(fresh.median / read.median).toFixed(2)}x fresh-memory memcpy (medians)`);

  const dir = mkdtempSync(join(tmpdir(), "plea-bench-shm-"));
  try {
    const path = join(dir, "atom.bin");
    writeFileSync(path, src); // leaves the file in the page cache: "a cached file"
    const file = new FileAtom(path);
    const fill = time(BULK_RUNS, () => writeShm(file, segment), false);
    row("writeShm of a FileAtom (cached file)", `${ms(fill)}  ${gbps(ATOM_BYTES, fill.best)}  ${(memcpy.best / fill.best).toFixed(2)}x memcpy (target 0.3x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  Bun.gc(true);
  const jammed: { bytes: Uint8Array } = { bytes: new Uint8Array(0) };
  const j = time(1, () => (jammed.bytes = jam(big)), false);
  const c = time(1, () => cue(jammed.bytes), false);
  row("jam (for comparison)", `${ms(j)}  ${gbps(ATOM_BYTES, j.best)}`);
  row("cue (for comparison)", `${ms(c)}  ${gbps(ATOM_BYTES, c.best)}`);
  row("write + copying read vs jam + cue", `${((j.best + c.best) / (write.best + read.best)).toFixed(1)}x faster`);
}

function benchNodes(name: string, noun: Noun, nodes: number): void {
  console.log(`\n== ${name}: ${(nodes / 1e6).toFixed(2)} M nodes ==`);
  const bytes = shmSize(noun);
  const buffer = new Uint8Array(bytes);
  writeShm(noun, buffer); // warm and fault
  const size = time(NODE_RUNS, () => shmSize(noun));
  row("shmSize (size pass)", `${ms(size)}  ${(nodes / size.best / 1e3).toFixed(1)} M nodes/s`);
  const write = time(NODE_RUNS, () => writeShm(noun, buffer));
  row("writeShm", `${ms(write)}  ${(nodes / write.best / 1e3).toFixed(1)} M nodes/s (target 10)`);
  const read = time(NODE_RUNS, () => readShm(buffer));
  row("readShm", `${ms(read)}  ${(nodes / read.best / 1e3).toFixed(1)} M nodes/s (target 5)`);
  const both = time(NODE_RUNS, () => writeShm(noun, new Uint8Array(shmSize(noun))));
  row("shmSize + writeShm into a new buffer", `${ms(both)}  ${(nodes / both.best / 1e3).toFixed(1)} M nodes/s`);
  let jammed: Uint8Array = new Uint8Array(0);
  const j = time(NODE_RUNS, () => (jammed = jam(noun)));
  const c = time(NODE_RUNS, () => cue(jammed));
  row("jam (for comparison)", `${ms(j)}  ${(nodes / j.best / 1e3).toFixed(1)} M nodes/s`);
  row("cue (for comparison)", `${ms(c)}  ${(nodes / c.best / 1e3).toFixed(1)} M nodes/s`);
  row("size+write+read vs jam+cue", `${((j.best + c.best) / (size.best + write.best + read.best)).toFixed(1)}x faster`);
}

function main(): void {
  console.log(`shm-format bench (bun ${Bun.version}${QUICK ? ", --quick" : ""}); best of warm runs`);
  const namespace = namespaceForPier(`/plea-bench/shm-format/${process.pid}`);
  const segment = createSegment(nextSegmentName(namespace), shmSize(atomFromBytes(payload(ATOM_BYTES))));
  try {
    segment.windows[0].fill(0); // fault once: the bench measures a reused segment
    benchBulk(segment);
  } finally {
    segment.close();
    segment.unlink();
  }
  Bun.gc(true);
  benchNodes("depth-20 tree", balancedTree(20), 2 ** 21 - 1);
  benchNodes("1,000,000-item list", longList(1_000_000), 2_000_001);
}

main();
