/**
 * Shared by the ffi tests and their child fixtures: the test namespace, the byte pattern two
 * processes agree on, a runner for fixtures, and a small tmpfs the test mounts as root.
 */
import { mkdtempSync, readdirSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "bun:test";
import { namespaceForPier, type Segment } from "../../src/ffi/index.ts";

/** One namespace per test process, so the leftover check sees only this run's segments. */
export const TEST_NAMESPACE = namespaceForPier(`/plea-test/${process.pid}/${Date.now()}`);

export const FIXTURE = join(import.meta.dir, "shm-fixture.ts");

/** The byte at `pos` of the pattern for `seed`: varies within and across pages and windows. */
export function patternByte(pos: number, seed: number): number {
  return (pos ^ (pos >>> 8) ^ (pos >>> 16) ^ (pos >>> 24) ^ seed) & 255;
}

/** `length` bytes of the pattern, starting at segment byte `pos`. */
export function pattern(pos: number, length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = patternByte(pos + i, seed);
  return bytes;
}

/** The first position in `bytes` (segment bytes from `pos`) that differs from the pattern, or -1. */
export function firstMismatch(bytes: Uint8Array, pos: number, seed: number): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== patternByte(pos + i, seed)) return pos + i;
  return -1;
}

export interface FixtureResult {
  exitCode: number | null;
  signalCode: string | null;
  stdout: string;
  stderr: string;
}

/** Runs shm-fixture.ts with `args` in a fresh bun process and collects everything it printed. */
export async function runFixture(args: string[], env: Record<string, string> = {}): Promise<FixtureResult> {
  const proc = Bun.spawn([process.execPath, FIXTURE, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  return { exitCode: proc.exitCode, signalCode: proc.signalCode === null ? null : String(proc.signalCode), stdout, stderr };
}

export interface Tmpfs {
  dir?: string;
  /** Why there is no tmpfs (tests that need one are skipped and print it). */
  reason?: string;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (for example "8m") on a fresh directory. Needs root; when mounting
 * fails, `dir` is undefined and `reason` says why.
 */
export function mountTmpfs(size: string): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "plea-shm-"));
  let why: string | undefined;
  try {
    const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if (result.exitCode !== 0) why = result.stderr.toString().trim() || `mount exited with ${result.exitCode}`;
  } catch (e) {
    why = (e as Error).message;
  }
  if (why !== undefined) {
    rmdirSync(dir);
    return { reason: `cannot mount a ${size} tmpfs (needs root): ${why}`, unmount() {} };
  }
  return {
    dir,
    unmount() {
      Bun.spawnSync(["umount", dir]);
      rmdirSync(dir);
    },
  };
}

/** The names of this run's segments still in `dir` (default /dev/shm). */
export function leftovers(dir = "/dev/shm"): string[] {
  return readdirSync(dir).filter((entry) => entry.startsWith(`plea-${TEST_NAMESPACE}-`));
}

/**
 * Registers an afterEach that closes and unlinks every segment passed to the returned function,
 * so a test's segments are removed even when it fails.
 */
export function trackSegments(): (segment: Segment) => Segment {
  const open: Segment[] = [];
  afterEach(() => {
    for (const segment of open.splice(0)) {
      segment.close();
      segment.unlink();
    }
  });
  return (segment) => {
    open.push(segment);
    return segment;
  };
}
