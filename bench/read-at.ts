/**
 * What `urth cat --at EVE` and `urth ls --at EVE` cost (issue 17; docs/urth.md, "Reads of an older
 * state"), against the same reads of the latest state in the same run:
 *
 *   npx bun bench/read-at.ts [--files 1000] [--events 100] [--big-mib 8] [--runs 5]
 *
 * One pier, built with urth's command line in a temporary directory: --files files of 1 KiB and
 * one file of --big-mib (random bytes, a blob) in event 1; a snapshot of event 1 (`%sync %save`,
 * bench/lib/pier-save.ts); then --events commits that each change one small file, so every start
 * loads the snapshot and replays --events events. Then, --runs times each, round-robin, wall time
 * from spawn to exit (each command starts its own mars on the idle pier):
 * - `cat big.bin` and `ls` of the latest state (the baseline);
 * - `cat --at` and `ls --at` of the last event (answered from mars's own state), of the middle
 *   event (the snapshot plus half the events replayed a second time) and of event 1 (the
 *   snapshot alone);
 * then the same with a `urth run` holding the pier (the read worker forwards `--at` reads to the
 * main thread, which asks mars; mars keeps the last state it rebuilt, so a repeated event is
 * measured too). Medians with min-max. The pier is removed at the end, on error and on Ctrl-C.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { files: { type: "string", default: "1000" }, events: { type: "string", default: "100" }, "big-mib": { type: "string", default: "8" }, runs: { type: "string", default: "5" } },
  strict: true,
});
const FILES = Number(values.files);
const EVENTS = Number(values.events);
const BIG_BYTES = Number(values["big-mib"]) * 1024 * 1024;
const RUNS = Number(values.runs);
const MAIN = resolve(import.meta.dir, "../src/urth/main.ts");
const SAVE = resolve(import.meta.dir, "lib/pier-save.ts");

const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), "plea-bench-read-at-"));
const pier = join(dir, "pier");
const mount = join(pier, "base");
let run: Bun.Subprocess | undefined;
const cleanup = () => {
  run?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

async function urth(args: string[]): Promise<{ code: number; ms: number; out: number; stderr: string }> {
  const t0 = performance.now();
  const p = Bun.spawn([process.execPath, MAIN, ...args, "--pier", pier], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, stderr, code] = await Promise.all([new Response(p.stdout).bytes(), new Response(p.stderr).text(), p.exited]);
  return { code, ms: performance.now() - t0, out: out.length, stderr };
}

async function must(args: string[]): Promise<number> {
  const r = await urth(args);
  if (r.code !== 0) throw new Error(`urth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(cases: [string, string[]][]): Promise<void> {
  const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) times.get(name)!.push(await must(args));
  for (const [name] of cases) {
    const t = times.get(name)!;
    console.log(`| ${name.padEnd(34)} | ${median(t).toFixed(0).padStart(6)} ms | ${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)} ms |`);
  }
}

try {
  mkdirSync(join(mount, "small"), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(mount, "small", `f${i}.txt`), `${i}`.padEnd(1024, "x"));
  const big = new Uint8Array(BIG_BYTES);
  crypto.getRandomValues(big.subarray(0, Math.min(big.length, 65536)));
  for (let off = 65536; off < big.length; off += 65536) big.copyWithin(off, 0, 65536);
  big[big.length - 1] = 1;
  writeFileSync(join(mount, "big.bin"), big);
  await must(["commit"]);
  const save = Bun.spawnSync([process.execPath, SAVE, MAIN, pier]);
  if (save.exitCode !== 0) throw new Error(`pier-save failed: ${save.stderr.toString()}`);
  for (let e = 0; e < EVENTS; e++) {
    writeFileSync(join(mount, "small", `f${e % FILES}.txt`), `changed in commit ${e}`);
    await must(["commit"]);
  }
  const last = EVENTS + 1;
  const middle = 1 + Math.floor(EVENTS / 2);
  console.log(`pier: ${FILES} files of 1 KiB and ${BIG_BYTES / 1024 / 1024} MiB in event 1, a snapshot of event 1, then ${EVENTS} events (last ${last}); ${RUNS} runs each`);
  const cases = (label: string): [string, string[]][] => [
    [`${label} cat big.bin (latest)`, ["cat", "big.bin"]],
    [`${label} ls (latest)`, ["ls"]],
    [`${label} cat --at ${last} (last)`, ["cat", "big.bin", "--at", String(last)]],
    [`${label} cat --at ${middle}`, ["cat", "big.bin", "--at", String(middle)]],
    [`${label} ls --at ${middle}`, ["ls", "--at", String(middle)]],
    [`${label} cat --at 1 (snapshot)`, ["cat", "big.bin", "--at", "1"]],
  ];
  console.log("| idle pier (own mars each)          | median    | min-max |");
  await measure(cases("idle:"));
  run = Bun.spawn([process.execPath, MAIN, "run", "--pier", pier], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  // Ready once the socket answers.
  for (let i = 0; (await urth(["status"])).code !== 0 && i < 600; i++) await Bun.sleep(100);
  console.log("| with run going (socket)            | median    | min-max |");
  await measure(cases("run:"));
  run.kill("SIGTERM");
  await run.exited;
  run = undefined;
} finally {
  cleanup();
}
