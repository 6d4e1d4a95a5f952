/**
 * Bench of the noun codec (issues 2 and 18): jam, cue and mug against memcpy of the same bytes,
 * against vere's own C (pkg/ur, built at run time by test/support/vere-ur.ts) and against
 * @urbit/nockjs (the only JS peer), all on the same inputs in the same run.
 * Run: npx bun bench/noun.ts [--quick]   (--quick: 256 MiB instead of 1 GiB for mug, no nockjs tree)
 *
 * Targets (issue 2): jam and cue of a 64 MiB random atom >= 1 GB/s; mug of a 1 GiB atom
 * >= 1.4 GB/s; jam of a 1,000,000-item list of distinct small atoms and of a depth-20 balanced
 * tree >= 3 M nodes/s, cue of them >= 5 M nodes/s (nodes = cells + atoms).
 * Targets against vere's C (issue 18), as ours / vere's speed: jam and cue of the 64 MiB atom
 * >= 1.0x, of the list and the tree >= 3x, mug of the large atom >= 0.85x. Where vere's C cannot
 * be built (no compiler, no PLEA_VERE_UR) its rows say why and the targets read "not measured".
 *
 * Each figure is the best of a few runs after a warm-up (docs/platform.md: first runs are 2-3x
 * slower), median beside it; vere's too. vere is timed around the one FFI call: `ur_jam` of the
 * noun built in a vere root (its mugs computed when it was built, as ours are cached after a
 * first jam), `ur_cue` into a fresh root each run, `ur_mug_bytes` of the same buffer.
 * "memcpy" is `Uint8Array.set` between two already-faulted buffers of the same size, the
 * ceiling for moving those bytes; jam and cue also allocate and fault in their output.
 * Every loop runs inside a function: hot loops at a module's top level run 3x slower in Bun.
 */
import * as nockjs from "@urbit/nockjs";
import { loadavg } from "node:os";
import { atomFromBytes, BigAtom, Cell, cue, jam, mug, type Noun } from "../src/noun/index.ts";
import { bytesEqual } from "../src/noun/equals.ts";
import { UR_CUE_NAMES, UrCue, vereUr, type Nref, type Root, type VereUr } from "../test/support/vere-ur.ts";
import { time, type Timing } from "./lib/timing.ts";

const QUICK = process.argv.includes("--quick");
const ATOM_BYTES = 64 * 2 ** 20;
const MUG_BYTES = QUICK ? 256 * 2 ** 20 : 2 ** 30;
const LIST_ITEMS = 1_000_000;
const TREE_DEPTH = 20;
const BULK_RUNS = 5;
const NODE_RUNS = 5;
/** vere's C on the list and the tree takes seconds a run: fewer runs (after the warm-up). */
const VERE_NODE_RUNS = 3;
/** Issue 18's targets, as ours / vere's speed. */
const VERE_ATOM_RATIO_MIN = 1.0;
const VERE_NODES_RATIO_MIN = 3;
const VERE_MUG_RATIO_MIN = 0.85;

const built = vereUr();
const vere: VereUr | null = built.ok ? built.value : null;
/** Why vere's C is not measured in this run, when it is not. */
const vereMissing = built.ok ? "" : built.reason;

/** One line per target against vere, printed at the end. */
const vereTargets: string[] = [];

/**
 * Records ours / vere's speed against a target and returns the row's text. `oursMs` and
 * `vereMs` time the same work, so the ratio of speeds is vereMs / oursMs.
 */
function vereRatio(what: string, oursMs: number, vereT: Timing | string, min: number): string {
  if (typeof vereT === "string") {
    vereTargets.push(`not measured: ${what} >= ${min}x vere's C (${vereT})`);
    return `vere not measured: ${vereT}`;
  }
  const ratio = vereT.best / oursMs;
  const verdict = ratio >= min ? "met" : "missed";
  vereTargets.push(`${verdict}: ${what} >= ${min}x vere's C (${ratio.toFixed(2)}x: ours ${oursMs.toFixed(1)} ms, vere ${vereT.best.toFixed(1)} ms)`);
  return `${vereT.best.toFixed(1)} ms (median ${vereT.median.toFixed(1)}); ours ${ratio.toFixed(2)}x vere's speed; target >= ${min}x`;
}

/**
 * Times `fn` `runs` times after one untimed run, with `before` and `after` (a fresh vere root and
 * its release) outside the timing. Best and median in milliseconds.
 */
function timeEach<T>(runs: number, before: () => T, fn: (x: T) => unknown, after: (x: T) => void): Timing {
  const ms: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const x = before();
    const t = performance.now();
    fn(x);
    const elapsed = performance.now() - t;
    after(x);
    if (i > 0) ms.push(elapsed);
  }
  ms.sort((a, b) => a - b);
  return { best: ms[0], median: ms[Math.floor(ms.length / 2)] };
}

/** vere's `ur_cue` of `bytes` into a fresh root per run, checked to succeed. */
function vereCueTiming(v: VereUr, bytes: Uint8Array, runs: number): Timing {
  return timeEach(
    runs,
    () => v.rootInit(),
    (root: Root) => {
      const r = v.cue(root, bytes);
      if (r.code !== UrCue.good) throw new Error(`vere's ur_cue refused the bench's jam: ${UR_CUE_NAMES[r.code]}`);
    },
    (root: Root) => v.rootFree(root),
  );
}

/** `noun` built in a vere root, after checking that vere jams it to exactly Plea's bytes. */
function inVere(v: VereUr, noun: Noun, ours: Uint8Array): { root: Root; ref: Nref } {
  const root = v.rootInit();
  const ref = v.build(root, noun);
  if (!bytesEqual(v.jam(root, ref), ours)) throw new Error("vere's jam of the bench's noun differs from Plea's: run test/noun/vere-peer.test.ts");
  return { root, ref };
}


/** One timed run, for the slow peer; null and the reason when it cannot run. */
function once(fn: () => unknown): { ms: number } | { error: string } {
  const t = performance.now();
  try {
    fn();
    return { ms: performance.now() - t };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message.slice(0, 90)} (after ${(performance.now() - t).toFixed(0)} ms)` };
  }
}

function row(label: string, text: string): void {
  console.log(`${label.padEnd(40)} ${text}`);
}

function gbps(bytes: number, ms: number): number {
  return bytes / ms / 1e6;
}

/** memcpy of `bytes` bytes into a newly allocated buffer: what any fresh output costs here. */
function freshCopyTiming(bytes: number): Timing {
  const src = new Uint8Array(bytes).fill(1);
  return time(BULK_RUNS, () => src.slice());
}

/** memcpy of `bytes` bytes between two already-faulted buffers. */
function memcpyTiming(bytes: number): Timing {
  const src = new Uint8Array(bytes).fill(1);
  const dst = new Uint8Array(bytes).fill(2);
  return time(BULK_RUNS, () => dst.set(src));
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const block = new Uint8Array(1 << 16);
  for (let i = 0; i < length; i += block.length) {
    crypto.getRandomValues(block);
    bytes.set(block.subarray(0, Math.min(block.length, length - i)), i);
  }
  bytes[length - 1] |= 0x80;
  return bytes;
}

function toNockjs(n: Noun): nockjs.Noun {
  // Iterative: the list is too long to convert recursively.
  const out: nockjs.Noun[] = [];
  const stack: { n: Noun; done: boolean }[] = [{ n, done: false }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.n instanceof Cell) {
      if (f.done) {
        const t = out.pop()!;
        const h = out.pop()!;
        out.push(new nockjs.Cell(h, t));
      } else {
        stack.push({ n: f.n, done: true }, { n: f.n.tail, done: false }, { n: f.n.head, done: false });
      }
    } else if (typeof f.n === "number") {
      out.push(nockjs.Atom.fromInt(f.n));
    } else {
      const b = (f.n as BigAtom).bytes;
      out.push(new nockjs.Atom(BigInt("0x" + Buffer.from(b).reverse().toString("hex"))));
    }
  }
  return out[0];
}

function peer(label: string, oursMs: number, run: () => unknown): string {
  const r = once(run);
  if ("error" in r) return `nockjs could not run: ${r.error}`;
  return `nockjs ${r.ms.toFixed(0)} ms, ours ${(r.ms / oursMs).toFixed(1)}x faster (${label})`;
}

function benchAtom(): void {
  const bytes = randomBytes(ATOM_BYTES);
  const a = atomFromBytes(bytes);
  const j = jam(a);
  const copy = memcpyTiming(ATOM_BYTES);
  const tj = time(BULK_RUNS, () => jam(a));
  const tc = time(BULK_RUNS, () => cue(j));
  const fresh = freshCopyTiming(ATOM_BYTES);
  const mb = gbps(ATOM_BYTES, copy.best);
  row("memcpy 64 MiB", `${mb.toFixed(2)} GB/s (${copy.best.toFixed(1)} ms)`);
  row("memcpy 64 MiB into a fresh buffer", `${gbps(ATOM_BYTES, fresh.best).toFixed(2)} GB/s (${fresh.best.toFixed(1)} ms): page faults, which jam and cue pay too`);
  for (const [name, t] of [["jam", tj], ["cue", tc]] as const) {
    const g = gbps(ATOM_BYTES, t.best);
    row(`${name} 64 MiB random atom`, `${g.toFixed(2)} GB/s (${t.best.toFixed(1)} ms, median ${t.median.toFixed(1)}); ${(g / mb).toFixed(2)}x memcpy; target >= 1 GB/s`);
  }
  if (vere === null) {
    row("  vere jam 64 MiB", vereRatio("jam of 64 MiB", tj.best, vereMissing, VERE_ATOM_RATIO_MIN));
    row("  vere cue 64 MiB", vereRatio("cue of 64 MiB", tc.best, vereMissing, VERE_ATOM_RATIO_MIN));
  } else {
    const { root, ref } = inVere(vere, a, j);
    const vj = time(BULK_RUNS, () => vere.jamDiscard(root, ref));
    vere.rootFree(root);
    const vc = vereCueTiming(vere, j, BULK_RUNS);
    row("  vere jam 64 MiB", `${gbps(ATOM_BYTES, vj.best).toFixed(2)} GB/s; ${vereRatio("jam of 64 MiB", tj.best, vj, VERE_ATOM_RATIO_MIN)}`);
    row("  vere cue 64 MiB", `${gbps(ATOM_BYTES, vc.best).toFixed(2)} GB/s; ${vereRatio("cue of 64 MiB", tc.best, vc, VERE_ATOM_RATIO_MIN)}`);
  }
  const big = once(() => toNockjs(a));
  const peerLine =
    "error" in big
      ? `nockjs could not run: ${big.error}`
      : peer("one run", tj.best, () => nockjs.jam(toNockjs(a)));
  row("  peer jam 64 MiB", peerLine);
}

function benchMug(): void {
  const bytes = new Uint8Array(MUG_BYTES);
  bytes.set(randomBytes(1 << 20));
  for (let filled = 1 << 20; filled < MUG_BYTES; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, MUG_BYTES - filled));
  bytes[MUG_BYTES - 1] = 1;
  const copy = memcpyTiming(MUG_BYTES);
  // A new BigAtom each run: mug caches on the atom.
  const t = time(3, () => mug(new BigAtom(bytes)));
  const g = gbps(MUG_BYTES, t.best);
  row(`mug ${MUG_BYTES / 2 ** 20} MiB atom`, `${g.toFixed(2)} GB/s (${t.best.toFixed(0)} ms, median ${t.median.toFixed(0)}); ${(g / gbps(MUG_BYTES, copy.best)).toFixed(2)}x memcpy; target >= 1.4 GB/s`);
  const what = `mug of ${MUG_BYTES / 2 ** 20} MiB`;
  if (vere === null) {
    row("  vere mug", vereRatio(what, t.best, vereMissing, VERE_MUG_RATIO_MIN));
  } else {
    if (vere.mugBytes(bytes) !== mug(new BigAtom(bytes))) throw new Error("vere's mug of the bench's atom differs from Plea's: run test/noun/vere-peer.test.ts");
    const vm = time(3, () => vere.mugBytes(bytes));
    row("  vere mug", `${gbps(MUG_BYTES, vm.best).toFixed(2)} GB/s; ${vereRatio(what, t.best, vm, VERE_MUG_RATIO_MIN)}`);
  }
  row("  peer mug", `nockjs could not run: its atoms are bigints, capped at 2^30 bits (128 MiB) in Bun`);
}

function buildList(): Noun {
  let l: Noun = 0;
  for (let i = LIST_ITEMS - 1; i >= 0; i--) l = new Cell(i, l);
  return l;
}

function buildTree(): Noun {
  // Leaves 0 .. 2^20-1 left to right; built bottom-up, level by level.
  let level: Noun[] = [];
  for (let i = 0; i < 2 ** TREE_DEPTH; i++) level.push(i);
  while (level.length > 1) {
    const next: Noun[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(new Cell(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

function benchNodes(name: string, build: () => Noun, nodes: number, runPeer: boolean): void {
  const fresh = build();
  // First jam of a fresh noun computes and caches every cell's dictionary hash.
  const t0 = performance.now();
  const j = jam(fresh);
  const coldMs = performance.now() - t0;
  const tj = time(NODE_RUNS, () => jam(fresh));
  const tjBuilt = time(3, () => jam(build()));
  const tb = time(3, () => build());
  const tc = time(NODE_RUNS, () => cue(j));
  const copy = memcpyTiming(j.length);
  const mb = gbps(j.length, copy.best);
  const mnps = (ms: number) => nodes / ms / 1e3;
  row(`${name}: jam (${nodes} nodes, ${(j.length / 2 ** 20).toFixed(1)} MiB)`, `${mnps(tj.best).toFixed(2)} M nodes/s (${tj.best.toFixed(0)} ms, median ${tj.median.toFixed(0)}); ${(gbps(j.length, tj.best) / mb).toPrecision(2)}x memcpy; target >= 3`);
  const freshMs = Math.max(0.001, tjBuilt.best - tb.best);
  row(`  jam of a never-jammed copy`, `${mnps(freshMs).toFixed(2)} M nodes/s (build + jam ${tjBuilt.best.toFixed(0)} ms less build ${tb.best.toFixed(0)} ms; first run cold ${coldMs.toFixed(0)} ms)`);
  row(`${name}: cue`, `${mnps(tc.best).toFixed(2)} M nodes/s (${tc.best.toFixed(0)} ms, median ${tc.median.toFixed(0)}); ${(gbps(j.length, tc.best) / mb).toPrecision(2)}x memcpy; target >= 5`);
  if (vere === null) {
    row(`  vere jam`, vereRatio(`jam of the ${name}`, tj.best, vereMissing, VERE_NODES_RATIO_MIN));
    row(`  vere cue`, vereRatio(`cue of the ${name}`, tc.best, vereMissing, VERE_NODES_RATIO_MIN));
  } else {
    const { root, ref } = inVere(vere, fresh, j);
    const vj = time(VERE_NODE_RUNS, () => vere.jamDiscard(root, ref));
    vere.rootFree(root);
    const vc = vereCueTiming(vere, j, VERE_NODE_RUNS);
    row(`  vere jam`, `${mnps(vj.best).toFixed(2)} M nodes/s; ${vereRatio(`jam of the ${name}`, tj.best, vj, VERE_NODES_RATIO_MIN)}`);
    row(`  vere jam, against our never-jammed copy`, `ours ${(vj.best / freshMs).toFixed(2)}x vere's speed (not a target: vere's mugs are computed when a noun is built)`);
    row(`  vere cue`, `${mnps(vc.best).toFixed(2)} M nodes/s; ${vereRatio(`cue of the ${name}`, tc.best, vc, VERE_NODES_RATIO_MIN)}`);
  }
  if (!runPeer) {
    row(`  peer`, "nockjs skipped (--quick)");
    return;
  }
  const conv = once(() => toNockjs(fresh));
  if ("error" in conv) {
    row(`  peer`, `nockjs could not run: ${conv.error}`);
    return;
  }
  const pn = toNockjs(fresh);
  let pj: nockjs.Atom | undefined;
  row(`  peer jam`, peer("one run", tj.best, () => (pj = nockjs.jam(pn))));
  row(`  peer cue`, pj === undefined ? "nockjs could not run: its jam failed" : peer("one run", tc.best, () => nockjs.cue(pj!)));
}

function main(): void {
  const [l1, l5] = loadavg();
  console.log(`noun codec bench, Bun ${Bun.version}; load average ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min): figures are taken under that load`);
  console.log(vere !== null ? `vere's C: pkg/ur from ${vere.dir}, built with ${vere.compiler} (-O3)` : `vere's C not measured: ${vereMissing}`);
  benchAtom();
  benchMug();
  benchNodes(`list of ${LIST_ITEMS}`, buildList, 2 * LIST_ITEMS + 1, true);
  benchNodes(`depth-${TREE_DEPTH} tree`, buildTree, 2 ** (TREE_DEPTH + 1) - 1, !QUICK);
  console.log("Targets against vere's C (same inputs, same run; ours / vere's speed):");
  for (const line of vereTargets) console.log(`- ${line}`);
}

main();
