/**
 * The physical limits a commit is measured against, in the same benchmark run (issue 8):
 *
 * - memcpy: `Uint8Array.set` between two already-faulted buffers: the ceiling for moving bytes.
 * - a bare write into a fresh segment: createSegment (shm_open, ftruncate, fallocate), or for
 *   memfd segments createMemfd (memfd_create, ftruncate, fallocate, seals) and its mapping, and
 *   one `Uint8Array.set` pass over the new mapping, page faults included. This is what plea's fill
 *   cannot avoid; its delivery target is at most 1.5x of it. The kind is the commits' kind.
 * - the file read straight into a fresh segment (`readSync` into the mapping): the same, with the
 *   source in the page cache instead of the heap (what urth's fill does, without any protocol).
 * - `dd if=FILE of=TMP bs=1M conv=fdatasync`: the disk's cost of making the bytes durable, for
 *   mars's persist time.
 * - for the many-files case, `git add -A` and `git commit` of the same tree in a fresh repository:
 *   a peer that also hashes, compresses and stores every file. git's defaults do not fsync loose
 *   objects (`core.fsync`, https://git-scm.com/docs/git-config#Documentation/git-config.txt-corefsync),
 *   so its figure is not "durable" as mars's is: the output says so beside it.
 *
 * The memory baselines run in a child process (`bun bench/lib/baselines.ts ...`), so their
 * buffers are returned to the machine before the commits they are compared with. The source is
 * the file's first BASELINE_CHUNK_BYTES_MAX bytes, copied again for larger sizes: copy speed does
 * not depend on the values, and it keeps the child's own memory bounded. One untimed pass of each
 * warms the process first (a fresh process's first pass is 2-3x slower, docs/platform.md).
 */
import { closeSync, fstatSync, openSync, readSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { createMemfd, createSegment, nextSegmentName, type Segment } from "../../src/ffi/index.ts";
import { GIB } from "./format.ts";

/** Largest heap buffer the memory baselines use as a source (and memcpy as a target). */
export const BASELINE_CHUNK_BYTES_MAX = GIB;

/** Chunk of `readSync` into a segment: one syscall moves at most 2 GiB - 4 KiB on Linux anyway. */
const FILE_READ_CHUNK_BYTES = 64 * 1024 * 1024;

export interface MemoryBaselines {
  /** Per timed pass, milliseconds for `size` bytes. */
  memcpyMs: number[];
  freshCreateMs: number[];
  freshWriteMs: number[];
  /** createSegment + the write: the "bare write into a fresh segment". */
  freshTotalMs: number[];
  /** createSegment + readSync of the file straight into the mapping (empty when the file is smaller than `size`). */
  fileToSegmentMs: number[];
}

function readInto(fd: number, target: Uint8Array, pos: number): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(FILE_READ_CHUNK_BYTES, target.length - done), pos + done);
    if (n === 0) throw new Error(`The baseline's source file ended after ${pos + done} bytes; it should hold ${pos + target.length}`);
    done += n;
  }
}

/** Copies `src` over and over into `write(pos, bytes)` until `size` bytes are written. */
function cycle(size: number, src: Uint8Array, write: (pos: number, bytes: Uint8Array) => void): void {
  for (let pos = 0; pos < size; pos += src.length) write(pos, src.length <= size - pos ? src : src.subarray(0, size - pos));
}

/** The kinds of segment the fresh-segment baselines can make: the commits' kind. */
export type BaselineKind = "named" | "memfd";

/** A fresh segment of `kind` mapped for writing, and how to remove it (unlink, or close the memfd). */
function freshSegment(kind: BaselineKind, namespace: string, size: number): { segment: Segment; remove: () => void } {
  const name = nextSegmentName(namespace);
  if (kind === "named") {
    const segment = createSegment(name, size);
    return { segment, remove: () => (segment.close(), segment.unlink()) };
  }
  const memfd = createMemfd(name.slice(1), size);
  try {
    const segment = memfd.map("write");
    return { segment, remove: () => (segment.close(), memfd.close()) };
  } catch (e) {
    memfd.close();
    throw e;
  }
}

/** Runs in the child: measures `runs` timed passes of each memory baseline after a warm-up. */
export function measureMemoryBaselines(file: string, size: number, runs: number, namespace: string, kind: BaselineKind = "named"): MemoryBaselines {
  const fd = openSync(file, "r");
  const fileBytes = fstatSync(fd).size;
  const chunk = Math.min(size, BASELINE_CHUNK_BYTES_MAX, fileBytes);
  const src = new Uint8Array(chunk);
  try {
    readInto(fd, src, 0);
    const dst = new Uint8Array(chunk);
    dst.fill(1); // fault the target in: memcpy is about copying, not page faults
    const result: MemoryBaselines = { memcpyMs: [], freshCreateMs: [], freshWriteMs: [], freshTotalMs: [], fileToSegmentMs: [] };
    for (let pass = 0; pass <= runs; pass++) {
      const timed = pass > 0;
      let t = performance.now();
      cycle(size, src, (_pos, bytes) => dst.set(bytes));
      if (timed) result.memcpyMs.push(performance.now() - t);

      t = performance.now();
      const { segment: fresh, remove: removeFresh } = freshSegment(kind, namespace, size);
      try {
        const created = performance.now();
        cycle(size, src, (pos, bytes) => fresh.write(pos, bytes));
        const written = performance.now();
        if (timed) {
          result.freshCreateMs.push(created - t);
          result.freshWriteMs.push(written - created);
          result.freshTotalMs.push(written - t);
        }
      } finally {
        removeFresh();
      }

      // A payload of several files (--big) is larger than the one file given: no file read then.
      if (fileBytes < size) continue;
      t = performance.now();
      const { segment: target, remove: removeTarget } = freshSegment(kind, namespace, size);
      try {
        for (const [i, window] of target.windows.entries()) readInto(fd, window, i * target.windowBytes);
        if (timed) result.fileToSegmentMs.push(performance.now() - t);
      } finally {
        removeTarget();
      }
    }
    return result;
  } finally {
    closeSync(fd);
  }
}

/** Runs the memory baselines in a child process and returns what it printed. */
export async function runMemoryBaselines(file: string, size: number, runs: number, namespace: string, kind: BaselineKind = "named"): Promise<MemoryBaselines> {
  const proc = Bun.spawn(
    [process.execPath, import.meta.path, "--file", file, "--size", String(size), "--runs", String(runs), "--namespace", namespace, "--kind", kind],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`The baseline child exited with status ${code}: ${err.trim() || "(no stderr)"}`);
  return JSON.parse(out) as MemoryBaselines;
}

/**
 * `dd if=file of=<dir>/dd-<pid> bs=1M conv=fdatasync`, `runs` times, in milliseconds (wall time
 * of the dd process; its start-up is a millisecond against seconds of writing). The output file
 * is removed after each pass.
 */
export function measureDd(file: string, dir: string, runs: number): number[] {
  const out = `${dir}/dd-${process.pid}`;
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = Bun.spawnSync(["dd", `if=${file}`, `of=${out}`, "bs=1M", "conv=fdatasync", "status=none"], { stdout: "ignore", stderr: "pipe" });
      const ms = performance.now() - t;
      if (r.exitCode !== 0) throw new Error(`dd exited with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
      times.push(ms);
      rmSync(out, { force: true });
    }
  } finally {
    rmSync(out, { force: true });
  }
  return times;
}

/** `git add -A` and `git commit` of one tree, per run, in milliseconds. */
export interface GitBaseline {
  addMs: number[];
  commitMs: number[];
}

/**
 * Times `git add -A` and then `git commit` of `tree` (hard-linked into a fresh repository under
 * `dir`, so git reads the same page-cached files a commit does), `runs` times; the repository is
 * removed after each run and on failure. git runs with its defaults, apart from an identity.
 */
export function measureGit(tree: string, dir: string, runs: number): GitBaseline {
  const repo = `${dir}/git-${process.pid}`;
  const git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"];
  const run = (args: string[]): number => {
    const t = performance.now();
    const r = Bun.spawnSync([...git, ...args], { cwd: repo, stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`git ${args[0]} exited with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
    return ms;
  };
  const out: GitBaseline = { addMs: [], commitMs: [] };
  try {
    for (let i = 0; i < runs; i++) {
      rmSync(repo, { recursive: true, force: true });
      const cp = Bun.spawnSync(["cp", "-al", `${tree}/.`, repo], { stderr: "pipe" });
      if (cp.exitCode !== 0) throw new Error(`cp -al ${tree} ${repo} failed with status ${cp.exitCode}: ${cp.stderr.toString().trim()}`);
      run(["init", "-q"]);
      out.addMs.push(run(["add", "-A"]));
      out.commitMs.push(run(["commit", "-q", "-m", "baseline"]));
    }
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { file: { type: "string" }, size: { type: "string" }, runs: { type: "string" }, namespace: { type: "string" }, kind: { type: "string" } },
    strict: true,
  });
  if (!values.file || !values.size || !values.runs || !values.namespace) {
    console.error("usage: bun bench/lib/baselines.ts --file F --size BYTES --runs N --namespace NS [--kind named|memfd]");
    process.exit(2);
  }
  const kind = values.kind === "memfd" ? "memfd" : "named";
  const result = measureMemoryBaselines(values.file, Number(values.size), Number(values.runs), values.namespace, kind);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
