/**
 * The files a benchmark commits, generated once per size into a cache directory and hard-linked
 * into each run's mount: a commit of a file that already sits on disk, warm in the page cache,
 * which is how an operator's file reaches `urth commit`. (A copy per run would cost a disk write
 * per run and leave the page cache in whatever state the copy left it.)
 *
 * Random bytes, so nothing can take a shortcut on their contents; the last byte of each file is
 * made non-zero, so a file's atom is exactly as long as the file.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where generated inputs are kept: removed at the end of a run unless `--keep-cache`. */
export function defaultCacheDir(): string {
  return join(tmpdir(), "plea-bench-cache");
}

/** Random bytes are generated and written this much at a time. */
const GENERATE_CHUNK_BYTES = 64 * 1024 * 1024;

function fillRandom(buffer: Uint8Array): void {
  // randomFillSync takes at most 2^31 - 1 bytes per call; chunks are far below that.
  randomFillSync(buffer);
}

/**
 * A file of `size` random bytes in `dir` (named by size and `tag`), generated unless a complete
 * one is already there, then fsynced so that no later measurement pays for its writeback.
 */
export function randomFile(dir: string, size: number, tag = ""): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `random-${size}${tag ? `-${tag}` : ""}.bin`);
  if (existsSync(path) && statSync(path).size === size) return path;
  const fd = openSync(path, "w", 0o600);
  try {
    const chunk = new Uint8Array(Math.min(size, GENERATE_CHUNK_BYTES));
    for (let pos = 0; pos < size; pos += chunk.length) {
      const n = Math.min(chunk.length, size - pos);
      fillRandom(chunk);
      if (pos + n === size && chunk[n - 1] === 0) chunk[n - 1] = 1;
      let done = 0;
      while (done < n) done += writeSync(fd, chunk, done, n - done, pos + done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** How many files the many-files case puts in one directory (a Clay desk has folders too). */
const MANY_FILES_PER_DIR = 1000;

/**
 * `count` files of `fileBytes` random bytes each under `dir/many-<count>x<bytes>/`, as
 * `d000/f000000.bin` (a thousand per folder). A `.complete` marker beside the tree says a
 * previous generation finished.
 */
export function manyFilesTree(dir: string, count: number, fileBytes: number): string {
  const root = join(dir, `many-${count}x${fileBytes}`);
  const marker = `${root}.complete`;
  if (existsSync(marker)) return root;
  const pool = new Uint8Array(Math.min(count * fileBytes, GENERATE_CHUNK_BYTES));
  fillRandom(pool);
  for (let i = 0; i < count; i++) {
    const folder = join(root, `d${String(Math.floor(i / MANY_FILES_PER_DIR)).padStart(3, "0")}`);
    if (i % MANY_FILES_PER_DIR === 0) mkdirSync(folder, { recursive: true });
    const at = (i * fileBytes) % (pool.length - fileBytes + 1);
    const bytes = pool.slice(at, at + fileBytes);
    if (bytes[bytes.length - 1] === 0) bytes[bytes.length - 1] = 1;
    // Distinct contents even where the pool wraps: the index goes into the first bytes.
    new DataView(bytes.buffer).setUint32(0, i, true);
    writeFileSync(join(folder, `f${String(i).padStart(6, "0")}.bin`), bytes);
  }
  Bun.spawnSync(["sync", "-f", root]);
  writeFileSync(marker, "");
  return root;
}

/** Hard-links one file into `mountDir` under `name`. */
export function linkFile(file: string, mountDir: string, name: string): void {
  mkdirSync(mountDir, { recursive: true });
  linkSync(file, join(mountDir, name));
}

/** Hard-links every file of a tree into `mountDir` (`cp -al`: one process, no copy of bytes). */
export function linkTree(tree: string, mountDir: string): void {
  mkdirSync(mountDir, { recursive: true });
  const r = Bun.spawnSync(["cp", "-al", `${tree}/.`, mountDir], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cp -al ${tree} ${mountDir} failed with status ${r.exitCode}: ${r.stderr.toString().trim()}`);
}

/** Bytes of `file` in the page cache (`fincore`), or undefined when fincore is missing or fails. */
export function cachedBytes(file: string): number | undefined {
  let r;
  try {
    r = Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--output", "RES", file], { stdout: "pipe", stderr: "ignore" });
  } catch {
    return undefined; // no fincore on this machine
  }
  if (r.exitCode !== 0) return undefined;
  const n = Number(r.stdout.toString().trim());
  return Number.isFinite(n) ? n : undefined;
}
