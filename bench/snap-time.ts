/**
 * Timed snapshots (issue 17): an `urth run` committing a change to a 100,000-file tree every
 * second for --minutes, then SIGKILL of urth and mars; the next start is timed (and its replayed
 * event count read from mars's `replayed N events (from snapshot S)` line), then it exits cleanly
 * and the start after that clean exit is timed too. Target: the start after the SIGKILL takes at
 * most 2x the start after the clean exit.
 *
 *   npx bun bench/snap-time.ts [--minutes 5] [--files 100000] [--file-bytes 1024]
 *                              [--snap-time SECONDS] [--keep-cache] [--urth src/urth/main.ts]
 *
 * A start is timed from spawning `urth run` to its line `urth: pier ... at event N; watching`:
 * urth's start-up, mars's (snapshot, replay, `%ripe`) and urth reading the committed list, the
 * same work in both starts. Each change is one 64-byte file renamed into the mount (a new inode,
 * so the input cache's hard links are never written through), committed with `--debounce 100`.
 * Timed snapshots are noticed by polling `.urb/chk/` every 250 ms. Without --snap-time, run's
 * default applies. Prints one line per figure; the pier, the input cache (unless --keep-cache)
 * and every process started here are removed or killed at the end, on error and on Ctrl-C.
 */
import { existsSync, mkdtempSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup } from "./lib/cleanup.ts";
import { defaultCacheDir, linkTree, manyFilesTree } from "./lib/inputs.ts";
import { childrenOf } from "./lib/mars-memory.ts";
import { RunHolder } from "./lib/run-holder.ts";
import { tail } from "./lib/urth-run.ts";

/** How long one start may take before the benchmark gives up. */
const START_MS_MAX = 10 * 60 * 1000;

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    files: { type: "string" },
    "file-bytes": { type: "string" },
    "snap-time": { type: "string" },
    "keep-cache": { type: "boolean" },
    urth: { type: "string" },
  },
  strict: true,
});
const minutes = Number(values.minutes ?? 5);
const files = Number(values.files ?? 100_000);
const fileBytes = Number(values["file-bytes"] ?? 1024);
if (!(minutes > 0) || !Number.isInteger(files) || files < 1 || !Number.isInteger(fileBytes) || fileBytes < 1) {
  process.stderr.write("usage: bun bench/snap-time.ts [--minutes M] [--files N] [--file-bytes B] [--snap-time S] [--keep-cache] [--urth PATH]\n");
  process.exit(2);
}
const urthMain = resolve(values.urth ?? "src/urth/main.ts");
const runArgs = ["--debounce", "100", ...(values["snap-time"] !== undefined ? ["--snap-time", values["snap-time"]] : [])];
const say = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

const cleanup = new Cleanup();
cleanup.installSignalHandlers();
const cacheDir = defaultCacheDir();
if (!values["keep-cache"]) cleanup.addDir(cacheDir);
const root = mkdtempSync(join(tmpdir(), "plea-bench-snap-"));
cleanup.addDir(root);

interface Start {
  ms: number;
  eve: number;
  replayed: number;
  fromSnapshot: number;
}

/** Starts `urth run`, times it to its "at event" line, then stops it cleanly (SIGTERM). */
async function timedStart(pier: string): Promise<Start> {
  const argv = [process.execPath, urthMain, "run", "--pier", pier, ...runArgs];
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  cleanup.addPid(proc.pid, pier);
  const decoder = new TextDecoder();
  let stderr = "";
  let ms: number | undefined;
  const timer = setTimeout(() => proc.kill("SIGKILL"), START_MS_MAX);
  for await (const chunk of proc.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (ms === undefined && /^urth: pier .* at event \d+; watching/m.test(stderr)) {
      ms = performance.now() - t0;
      proc.kill("SIGTERM");
    }
  }
  clearTimeout(timer);
  const code = await proc.exited;
  cleanup.forgetPid(proc.pid);
  if (ms === undefined || code !== 0) throw new Error(`urth run exited with status ${code} before it was up.\n${tail(stderr)}`);
  const eve = Number(/at event (\d+); watching/.exec(stderr)![1]);
  const replay = /replayed (\d+) events \(from snapshot (\d+)\)/.exec(stderr);
  return { ms, eve, replayed: replay ? Number(replay[1]) : 0, fromSnapshot: replay ? Number(replay[2]) : eve };
}

function snapshotFiles(pier: string): Map<string, number> {
  const dir = join(pier, ".urb", "chk");
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".plea")) continue;
    try {
      out.set(name, statSync(join(dir, name)).size);
    } catch {
      // removed meanwhile (only two are kept)
    }
  }
  return out;
}

try {
  progress(`Inputs: ${files} files of ${fileBytes} B in ${cacheDir}`);
  const tree = manyFilesTree(cacheDir, files, fileBytes);
  const pier = join(root, "pier");
  linkTree(tree, join(pier, "base"));
  progress(`urth run ${runArgs.join(" ")}: first commit of the tree`);
  const holder = await RunHolder.start(urthMain, pier, runArgs, cleanup);
  say(`first commit: ${holder.lines.at(-1)?.line}`);
  const seen = new Map<string, number>();
  const timed: string[] = [];
  const t0 = performance.now();
  const end = t0 + minutes * 60_000;
  let commits = 0;
  let next = t0;
  const scratch = join(root, "change.tmp");
  while (performance.now() < end) {
    next += 1000;
    writeFileSync(scratch, `change ${commits} at ${Date.now()}\n`.padEnd(64, "."));
    renameSync(scratch, join(pier, "base", "change.txt"));
    const line = await holder.nextCommit(holder.lines.length, 60_000);
    if (line.parsed !== undefined) commits++;
    for (const [name, size] of snapshotFiles(pier)) {
      if (seen.has(name)) continue;
      seen.set(name, size);
      timed.push(`${name} (${(size / 1e6).toFixed(1)} MB) by ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const wait = next - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  const marsPid = childrenOf(holder.proc.pid)[0];
  // A crash: urth and mars die together, nothing written on the way out.
  if (marsPid !== undefined) process.kill(marsPid, "SIGKILL");
  holder.proc.kill("SIGKILL");
  await holder.proc.exited;
  cleanup.forgetPid(holder.proc.pid);
  say(`${minutes} min of a commit every second: ${commits} commits; snapshots seen: ${timed.length > 0 ? timed.join(", ") : "none"}`);
  const afterKill = await timedStart(pier);
  say(`start after SIGKILL: ${afterKill.ms.toFixed(0)} ms, replayed ${afterKill.replayed} events (from snapshot ${afterKill.fromSnapshot}) to event ${afterKill.eve}`);
  const afterExit = await timedStart(pier);
  say(`start after a clean exit: ${afterExit.ms.toFixed(0)} ms, replayed ${afterExit.replayed} events (from snapshot ${afterExit.fromSnapshot}) to event ${afterExit.eve}`);
  const ratio = afterKill.ms / afterExit.ms;
  say(`ratio: ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? "met" : "NOT met"}`);
  say(`snapshots on disk at the end: ${[...snapshotFiles(pier)].map(([n, s]) => `${n} ${(s / 1e6).toFixed(1)} MB`).join(", ")}`);
} finally {
  cleanup.runAll();
}
