/**
 * Retention (issue 17's targets): what `urth du` accounts for, what `urth chop` reclaims, and
 * whether a chop holds commits back. Only urth's command line is driven, as an operator would.
 *
 *   npx bun bench/retention.ts [--only versions,chop] [--file-mib 1024] [--versions 5]
 *                              [--dead-files 8] [--inline-mb 2000] [--inline-file-kib 900]
 *                              [--keep-cache] [--urth src/urth/main.ts]
 *
 * A quick run: `--file-mib 64 --dead-files 2 --inline-mb 100`.
 *
 * - versions: one file of --file-mib committed with --versions different contents (`urth commit`
 *   each), then `urth du --json` (its total against a walk of `.urb`: target within 1%) and
 *   `urth chop`; `.urb` after, against the live bytes (target: at most live + 64 MiB).
 * - chop: a pier with --dead-files files of --file-mib that are then replaced (dead blobs), and
 *   --inline-mb of small-file commits (files of --inline-file-kib, each event kept inline in the
 *   log), committed by a `urth run`; then `urth chop` through that run's socket while small
 *   commits keep coming every COMMIT_EVERY_MS. Figures: chop's wall time (target 10 s), `.urb` and
 *   data.mdb before and after, and how long each commit took while the chop ran (the run's own
 *   line, scan to durable), against the same before it (target: no commit held more than 100 ms
 *   beyond the baseline's median).
 */
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, killIfOurs } from "./lib/cleanup.ts";
import { formatBytes, formatMs, MIB } from "./lib/format.ts";
import { defaultCacheDir, randomFile } from "./lib/inputs.ts";
import { currentLoad } from "./lib/machine.ts";
import { runUrthOk, tail } from "./lib/urth-run.ts";

/** A small commit every this often while chop runs (and for the baseline before it). */
const COMMIT_EVERY_MS = 100;
/** Baseline small commits before the chop. */
const BASELINE_COMMITS = 30;
/** How long the small commits go on after the chop ended. */
const AFTER_CHOP_MS = 1000;
/** Each command's time limit. */
const COMMAND_TIMEOUT_MS = 30 * 60 * 1000;

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    "file-mib": { type: "string", default: "1024" },
    versions: { type: "string", default: "5" },
    "dead-files": { type: "string", default: "8" },
    "inline-mb": { type: "string", default: "2000" },
    "inline-file-kib": { type: "string", default: "900" },
    "keep-cache": { type: "boolean", default: false },
    urth: { type: "string", default: join(import.meta.dir, "..", "src", "urth", "main.ts") },
  },
  strict: true,
});
const only = new Set((values.only ?? "versions,chop").split(","));
const fileBytes = Number(values["file-mib"]) * MIB;
const urthMain = values.urth!;
const cleanup = new Cleanup();
cleanup.installSignalHandlers();
const cacheDir = defaultCacheDir();
if (!values["keep-cache"]) cleanup.addDir(cacheDir);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Apparent bytes (st_size) and allocated bytes (st_blocks) of every regular file under `dir`. */
function walkBytes(dir: string): { bytes: number; allocated: number; files: number } {
  let bytes = 0;
  let allocated = 0;
  let files = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile()) {
        bytes += st.size;
        allocated += st.blocks * 512;
        files++;
      }
    }
  }
  return { bytes, allocated, files };
}

function tempPier(tag: string): string {
  const root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), `plea-bench-retention-${tag}-`));
  cleanup.addDir(root);
  mkdirSync(join(root, "base"), { recursive: true });
  return root;
}

async function urth(pier: string, args: string[]) {
  return runUrthOk({ urthMain, pier, args, cleanup, timeoutMs: COMMAND_TIMEOUT_MS });
}

async function urthJson(pier: string, args: string[]): Promise<{ json: Record<string, unknown>; wallMs: number }> {
  const r = await urth(pier, [...args, "--json"]);
  const text = new TextDecoder().decode(r.stdout).trim().split("\n").pop() ?? "";
  return { json: JSON.parse(text), wallMs: r.wallMs };
}

/** Replaces `<pier>/base/<name>` by a hard link to `file`. */
function place(pier: string, file: string, name: string): void {
  const to = join(pier, "base", name);
  if (existsSync(to)) unlinkSync(to);
  Bun.spawnSync(["ln", file, to]);
}

/** A number at `path` (dot-separated) in a report, or undefined. */
function figure(report: unknown, path: string): number | undefined {
  let v: unknown = report;
  for (const k of path.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === "number" ? v : undefined;
}

function verdict(ok: boolean): string {
  return ok ? "met" : "MISSED";
}

async function versionsCase(): Promise<void> {
  const versions = Number(values.versions);
  say(`\n## versions: one ${formatBytes(fileBytes)} file committed with ${versions} contents, then chop`);
  const pier = tempPier("versions");
  for (let v = 1; v <= versions; v++) {
    const file = randomFile(cacheDir, fileBytes, `v${v}`);
    place(pier, file, "big.bin");
    const c = await urthJson(pier, ["commit"]);
    say(`commit ${v}: event ${c.json.eve}, ${formatMs(c.wallMs)}`);
  }
  const urb = join(pier, ".urb");
  const du = await urthJson(pier, ["du"]);
  const walked = walkBytes(urb);
  const duTotal = figure(du.json, "total.bytes");
  say(`urth du: ${formatMs(du.wallMs)}; ${JSON.stringify(du.json)}`);
  // The baseline is du(1) itself: allocated bytes of every file and directory of .urb, as urth du counts them.
  const dus = Number(Bun.spawnSync(["du", "-sB1", urb]).stdout.toString().split(/\s/)[0]);
  if (duTotal === undefined) {
    say("urth du reports no total.bytes: cannot check its accounting");
  } else {
    const categories = ["log.bytes", "spill.bytes", "blobs.live.bytes", "blobs.retained.bytes", "blobs.dead.bytes", "snapshots.bytes", "other.bytes"].map((k) => figure(du.json, k) ?? 0);
    const sum = categories.reduce((a, b) => a + b, 0);
    const off = Math.abs(sum - dus) / dus;
    say(`target du accounts for .urb within 1%: its categories sum to ${sum} (total ${duTotal}) against du -sB1 ${dus} bytes (apparent ${walked.bytes} in ${walked.files} files) = ${(off * 100).toFixed(3)}% off: ${verdict(off <= 0.01)}`);
  }
  const chop = await urthJson(pier, ["chop"]);
  const after = { bytes: Number(Bun.spawnSync(["du", "-sB1", urb]).stdout.toString().split(/\s/)[0]) };
  const live = figure(chop.json, "du.blobs.live.bytes") ?? fileBytes;
  const excess = after.bytes - live;
  say(`chop: ${formatMs(chop.wallMs)} (urth's wall time, mars's start included); report ${JSON.stringify(chop.json.report)}`);
  say(`target .urb <= live + 64 MiB (du -sB1): .urb ${formatBytes(dus)} -> ${formatBytes(after.bytes)} (${after.bytes}), live ${formatBytes(live)}, ratio ${(after.bytes / live).toFixed(4)}x, excess ${formatBytes(excess)}: ${verdict(excess <= 64 * MIB)}`);
  const cat = await urth(pier, ["cat", "big.bin"]);
  const want = readFileSync(join(pier, "base", "big.bin"));
  say(`cat after chop byte-exact: ${Buffer.compare(Buffer.from(cat.stdout), want) === 0}`);
  cleanup.removeDir(pier);
}

/** The head marker's event (docs/event-log.md, "The head marker"): the larger of its two slots. */
function headEve(pier: string): number {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(pier, ".urb", "log", "head"));
  } catch {
    return 0;
  }
  let eve = 0;
  for (let off = 0; off + 32 <= bytes.length; off += 512) {
    if (bytes.toString("latin1", off, off + 8) !== "PLEAHEAD") continue;
    eve = Math.max(eve, bytes.readUInt32LE(off + 16) + bytes.readUInt32LE(off + 20) * 2 ** 32);
  }
  return eve;
}

async function waitForEve(pier: string, eve: number, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (headEve(pier) < eve) {
    if (Date.now() > deadline) throw new Error(`the run did not reach event ${eve} within ${ms / 1000} s (at ${headEve(pier)})`);
    await Bun.sleep(5);
  }
}

/** Writes `bytes` to `<pier>/base/<name>` through a temporary name (the watcher sees one whole file). */
function writeMount(pier: string, name: string, bytes: Uint8Array): void {
  const tmp = join(pier, `.${name}.tmp`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, join(pier, "base", name));
}

async function chopCase(): Promise<void> {
  const deadFiles = Number(values["dead-files"]);
  const inlineBytes = Number(values["inline-mb"]) * 1e6;
  const smallBytes = Number(values["inline-file-kib"]) * 1024;
  say(`\n## chop: ${deadFiles} dead files of ${formatBytes(fileBytes)} and ${formatBytes(inlineBytes)} of dead inline events, chopped beside a run committing every ${COMMIT_EVERY_MS} ms`);
  const pier = tempPier("chop");
  // The dead blobs: each version replaced by the next; the last one stays live.
  for (let v = 0; v <= deadFiles; v++) {
    place(pier, randomFile(cacheDir, fileBytes, `d${v}`), "big.bin");
    const c = await urthJson(pier, ["commit"]);
    say(`big commit ${v + 1}/${deadFiles + 1}: event ${c.json.eve}, ${formatMs(c.wallMs)}`);
  }
  const out = openSync(join(pier, "run.out"), "w");
  const run = Bun.spawn([process.execPath, urthMain, "run", "--pier", pier, "--debounce", "20"], { stdin: "ignore", stdout: out, stderr: out });
  closeSync(out);
  cleanup.addPid(run.pid, pier);
  try {
    // `status` answers once the run's socket listens.
    await urth(pier, ["status"]);
    let eve = headEve(pier);
    const small = new Uint8Array(smallBytes);
    const inlineEvents = Math.ceil(inlineBytes / smallBytes);
    const t0 = performance.now();
    for (let i = 0; i < inlineEvents; i++) {
      randomFillSync(small);
      writeMount(pier, `small-${i % 4}.bin`, small);
      await waitForEve(pier, ++eve);
      if ((i + 1) % 500 === 0) say(`inline commits: ${i + 1}/${inlineEvents} (${formatMs(performance.now() - t0)})`);
    }
    say(`inline commits: ${inlineEvents} of ${formatBytes(smallBytes)} in ${formatMs(performance.now() - t0)}`);
    // Baseline: small commits with no chop.
    const tick = new Uint8Array(64);
    let ticks = 0;
    const commitOnce = async () => {
      randomFillSync(tick);
      writeMount(pier, "tick.bin", tick);
      ticks++;
      await waitForEve(pier, ++eve);
    };
    const baseFrom = eve + 1;
    for (let i = 0; i < BASELINE_COMMITS; i++) {
      await commitOnce();
      await Bun.sleep(COMMIT_EVERY_MS);
    }
    const baseTo = eve;
    const urb = join(pier, ".urb");
    const before = walkBytes(urb);
    const mdbBefore = statSync(join(urb, "log", "data.mdb")).size;
    const du = await urthJson(pier, ["du"]);
    say(`du before: ${JSON.stringify(du.json)}`);
    // The chop, with small commits going on beside it.
    let chopping = true;
    const chop = urthJson(pier, ["chop"]).finally(() => (chopping = false));
    const during: number[] = [];
    while (chopping) {
      await commitOnce();
      during.push(eve);
      await Bun.sleep(COMMIT_EVERY_MS);
    }
    const c = await chop;
    const afterUntil = Date.now() + AFTER_CHOP_MS;
    while (Date.now() < afterUntil) {
      await commitOnce();
      await Bun.sleep(COMMIT_EVERY_MS);
    }
    const after = walkBytes(urb);
    const mdbAfter = statSync(join(urb, "log", "data.mdb")).size;
    // The run prints its commit lines as they land; give it a moment to print the last ones.
    await Bun.sleep(200);
    // How long each commit took, as the run itself reports it (`event N: ... in X ms`: from the
    // scan to durable). mars's own INFO cannot show a hold: it stamps a task when it reads its
    // frame, which is after the chop's slice that held it.
    const commitMs = new Map<number, number>();
    for (const line of readFileSync(join(pier, "run.out"), "utf8").split("\n")) {
      const m = /^event (\d+): .* in (\d+(?:\.\d+)?) (ms|s)$/.exec(line);
      if (m) commitMs.set(Number(m[1]), Number(m[2]) * (m[3] === "s" ? 1000 : 1));
    }
    const base: number[] = [];
    for (let e = baseFrom; e <= baseTo; e++) if (commitMs.has(e)) base.push(commitMs.get(e)!);
    const inChop = during.map((e) => commitMs.get(e)).filter((m): m is number => m !== undefined);
    base.sort((a, b) => a - b);
    inChop.sort((a, b) => a - b);
    const baseMedian = base[Math.floor(base.length / 2)] ?? 0;
    const worst = inChop[inChop.length - 1] ?? 0;
    const chopMs = figure(c.json, "report.ms.total");
    say(`chop: urth's wall ${formatMs(c.wallMs)} (through the run's socket)${chopMs !== undefined ? `, mars's own ${formatMs(chopMs)}` : ""}; longest stall ${figure(c.json, "report.longestStallMs")} ms, longest hold ${figure(c.json, "report.longestHoldMs")} ms; report ${JSON.stringify(c.json.report)}`);
    say(`target chop <= 10 s: ${formatMs(c.wallMs)}: ${verdict(c.wallMs <= 10_000)}`);
    say(`.urb before ${formatBytes(before.bytes)} (${before.bytes}; data.mdb ${formatBytes(mdbBefore)}), after ${formatBytes(after.bytes)} (${after.bytes}; data.mdb ${formatBytes(mdbAfter)}); reclaimed ${formatBytes(before.bytes - after.bytes)}`);
    say(`commits in flight: baseline (${base.length} commits) median ${base.length ? baseMedian.toFixed(1) : "-"} ms, max ${base.length ? base[base.length - 1].toFixed(1) : "-"} ms; during the chop (${inChop.length} commits) median ${inChop.length ? inChop[Math.floor(inChop.length / 2)].toFixed(1) : "-"} ms, max ${worst.toFixed(1)} ms`);
    say(`target no commit held > 100 ms: worst during chop ${worst.toFixed(1)} ms - baseline median ${baseMedian.toFixed(1)} ms = ${(worst - baseMedian).toFixed(1)} ms: ${verdict(inChop.length > 0 && worst - baseMedian <= 100)}${inChop.length === 0 ? " (no commit arrived during the chop)" : ""}; ${ticks} small commits in all`);
  } finally {
    await urth(pier, ["stop"]).catch(() => {});
    await Promise.race([run.exited, Bun.sleep(30_000)]);
    killIfOurs(run.pid, pier);
    cleanup.forgetPid(run.pid);
    say(`run's output (tail):\n${tail(readFileSync(join(pier, "run.out"), "utf8"), 8)}`);
    cleanup.removeDir(pier);
  }
}

async function main(): Promise<void> {
  say(`# bench/retention.ts, ${new Date().toISOString()}, load ${currentLoad().map((l) => l.toFixed(2)).join(" ")}`);
  say(`command: npx bun bench/retention.ts ${process.argv.slice(2).join(" ")}`);
  if (only.has("versions")) await versionsCase();
  if (only.has("chop")) await chopCase();
}

try {
  await main();
} finally {
  // The input cache is among the directories removed, unless --keep-cache.
  cleanup.runAll();
}
