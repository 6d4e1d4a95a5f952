/**
 * A damaged event log as urth sees it: mars refuses to start on a log it cannot trust, and urth
 * reports that as `MarsExited` with mars's own words, never as a wrong state. Damage to LMDB's
 * pages may crash mars outright (LMDB has no page checksums and reads pages in place); damage to
 * a blob or a record is caught by Plea's checksums. Either way the outcome is the right state or
 * a clear failure.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isBlobName } from "../../src/blob/index.ts";
import { logPaths } from "../../src/mars/log/index.ts";
import { readFile } from "../../src/urth/peeks.ts";
import { MarsExited } from "../../src/urth/mars-exited.ts";
import { MarsProcess } from "../../src/urth/mars-process.ts";
import { cleanUp, leftoverSegments, MIB, ovum, pseudoRandomBytes, rejection, startMars, tempPier, TEST_TIMEOUT_MS } from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

const LMDB_PAGE_BYTES = 4096;
const EVENTS = 12;

/** A pier with EVENTS small events and one 2 MiB event (a blob), and its final eve and mug. */
async function builtPier(): Promise<{ pier: string; eve: number; mug: number }> {
  const { pier } = tempPier();
  const m = await startMars({ pier });
  for (let i = 0; i < EVENTS; i++) await m.mars.poke(ovum([{ path: `f/${i}/txt`, bytes: pseudoRandomBytes(100 + i, i + 1) }]));
  await m.mars.poke(ovum([{ path: "big/bin", bytes: pseudoRandomBytes(2 * MIB, 99) }]));
  const { eve, mug } = await m.mars.save();
  await m.mars.exit();
  return { pier, eve, mug };
}

/** Starts mars on `pier` (a plain MarsProcess, cleaned up here): the state it reached, or why not. */
async function outcome(pier: string): Promise<{ ok: true; eve: number; mug: number } | { ok: false; error: unknown }> {
  try {
    const m = await MarsProcess.start({ pier, onLog: () => {} });
    const r = { ok: true as const, eve: m.eve, mug: m.mug };
    await m.exit();
    return r;
  } catch (error) {
    return { ok: false, error };
  }
}

test("a pier whose LMDB pages are damaged starts with the right state or fails with MarsExited, never a wrong state", async () => {
  const built = await builtPier();
  const data = join(logPaths(built.pier).log, "data.mdb");
  const pages = statSync(data).size / LMDB_PAGE_BYTES;
  let right = 0;
  let failed = 0;
  for (let page = 0; page < pages; page++) {
    const { pier } = tempPier();
    cpSync(built.pier, pier, { recursive: true });
    // Start from the log alone: a (torn, so ignored) snapshot would hide damage to its events.
    for (const f of readdirSync(logPaths(pier).chk)) writeFileSync(join(logPaths(pier).chk, f), "torn");
    const file = join(logPaths(pier).log, "data.mdb");
    const bytes = readFileSync(file);
    bytes.set(pseudoRandomBytes(256, page + 7), page * LMDB_PAGE_BYTES + 16);
    writeFileSync(file, bytes);
    const r = await outcome(pier);
    if (r.ok) {
      expect(r.eve).toBe(built.eve);
      expect(r.mug).toBe(built.mug);
      right++;
    } else {
      expect(r.error).toBeInstanceOf(MarsExited);
      expect((r.error as MarsExited).message.length).toBeGreaterThan(20);
      failed++;
    }
  }
  console.log(`LMDB page damage through urth over ${pages} pages: ${right} started with the right state, ${failed} gave MarsExited`);
  expect(right + failed).toBe(pages);
}, 4 * TEST_TIMEOUT_MS);

test("a truncated blob makes mars refuse to start, naming it; a bit flip in a blob is reported by name when read, and mars goes on", async () => {
  const built = await builtPier();
  const { pier } = tempPier();
  cpSync(built.pier, pier, { recursive: true });
  // Without a snapshot, start-up must replay the event that names the blob.
  for (const f of readdirSync(logPaths(pier).chk)) writeFileSync(join(logPaths(pier).chk, f), "torn");
  const dir = join(pier, ".urb/bob");
  const blobs = readdirSync(dir).filter(isBlobName);
  expect(blobs.length).toBe(1);
  const file = join(dir, blobs[0]);
  const intact = readFileSync(file);

  // Same length, one bit flipped in the atom's bytes: start-up reads no blob bytes, so mars starts;
  // reading the file fails naming the blob and the piece, and mars answers the next request.
  const flipped = Buffer.from(intact);
  flipped[1000] ^= 0x40;
  writeFileSync(file, flipped);
  {
    const { mars } = await startMars({ pier });
    const e = await rejection(readFile(mars, ["big", "bin"]));
    expect((e as Error).message).toContain(blobs[0]);
    expect((e as Error).message).toContain("piece at byte 0");
    expect(await mars.ask({ type: "quiz", kind: "quic" })).toMatchObject({ type: "quiz" });
    await mars.exit();
  }

  // Truncated: a mapping would SIGBUS, so mars refuses at start (exit 7), naming the blob.
  writeFileSync(file, intact.subarray(0, intact.length - 100));
  const e = await rejection(MarsProcess.start({ pier, onLog: () => {} }));
  expect(e).toBeInstanceOf(MarsExited);
  expect((e as MarsExited).exitCode).toBe(7);
  const said = (e as MarsExited).stderrTail.join("\n");
  expect(said).toContain(`Event ${built.eve}`);
  expect(said).toContain(blobs[0]);
}, TEST_TIMEOUT_MS);
