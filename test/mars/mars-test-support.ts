/**
 * Shared pieces of the mars tests: temporary piers (removed after each test even when it fails)
 * and `%into` ova built by the one encoder urth uses (src/ipc/into.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cardTag, intoOvum as encodeInto, MIME_TEXT_PLAIN, type IntoChange } from "../../src/ipc/into.ts";
import { atomFromBytes, cord, list, type Noun } from "../../src/noun/index.ts";
import { open as openLmdb, type Database } from "lmdb";
import { EventLog, logPaths, type OpenLogOptions } from "../../src/mars/log/index.ts";
import { createFileStoreKernel, type FileStoreKernel } from "../../src/mars/kernel/index.ts";
import { daFromUnixMicros } from "../../src/noun/da.ts";

const piers: string[] = [];

/** A fresh pier directory under the OS temp dir; `removeTempPiers` deletes it. */
export function tempPier(): string {
  const dir = mkdtempSync(join(tmpdir(), "plea-mars-test-"));
  piers.push(dir);
  return dir;
}

export function removeTempPiers(): void {
  while (piers.length > 0) rmSync(piers.pop()!, { recursive: true, force: true });
}

export function pathNoun(path: string): Noun {
  return list(path.split("/").filter((s) => s.length > 0).map((s) => cord(s)));
}

export type FileChange = { path: string; bytes: Uint8Array | string } | { path: string; delete: true };

/** `[[%c %sync '0v1' ~] [%into desk all can]]`. */
export function intoOvum(changes: readonly FileChange[], desk = "base", all = false): Noun {
  const can = changes.map((c): IntoChange => {
    if ("delete" in c) return { kind: "del", path: pathNoun(c.path) };
    const bytes = typeof c.bytes === "string" ? new TextEncoder().encode(c.bytes) : c.bytes;
    return { kind: "put", path: pathNoun(c.path), type: MIME_TEXT_PLAIN, len: bytes.length, data: atomFromBytes(bytes) };
  });
  return encodeInto(desk, can, 1, all);
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}


/** The `now` of event `eve` in test logs: one second apart, deterministic. */
export function nowOf(eve: number): Noun {
  return daFromUnixMicros(1_700_000_000_000_000 + eve * 1_000_000);
}

/**
 * Appends events `from..to` whose changes are `changesOf(eve)` to `log`, applying them to
 * `kernel` first (as mars does). Appends are issued `inFlight` at a time without awaiting each.
 * Returns the mug after each event.
 */
export async function appendEvents(
  log: EventLog,
  kernel: FileStoreKernel,
  from: number,
  to: number,
  changesOf: (eve: number) => FileChange[],
  inFlight = 1,
): Promise<Map<number, number>> {
  const mugs = new Map<number, number>();
  let pending: Promise<unknown>[] = [];
  for (let eve = from; eve <= to; eve++) {
    const ovum = intoOvum(changesOf(eve));
    const result = kernel.poke(nowOf(eve), ovum);
    if (!result.ok) throw new Error(`event ${eve} was rejected`);
    kernel.commit(result);
    const mug = kernel.mug();
    mugs.set(eve, mug);
    pending.push(log.append({ eve, mug, now: nowOf(eve), ovum, kind: cardTag(ovum) }));
    if (pending.length >= inFlight) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return mugs;
}

/** A log with events 1..count already appended; closes it and returns the final mug. */
export async function buildLog(pier: string, count: number, changesOf: (eve: number) => FileChange[], options: OpenLogOptions = {}): Promise<number> {
  const log = await EventLog.open(pier, options);
  const kernel = createFileStoreKernel();
  try {
    await appendEvents(log, kernel, 1, count, changesOf, 8);
  } finally {
    await log.close();
  }
  return kernel.mug();
}

/** Opens the pier's LMDB directly (as a disk fault would meet it) and runs `fn` in a write transaction. */
export async function tamperWithLog(
  pier: string,
  fn: (tables: { events: Database<Buffer, Buffer>; blobs: Database<Buffer, Buffer>; meta: Database<Buffer, string> }) => void,
): Promise<void> {
  const env = openLmdb({ path: logPaths(pier).log, maxDbs: 8, overlappingSync: false });
  const events = env.openDB<Buffer, Buffer>({ name: "EVENTS", keyEncoding: "binary", encoding: "binary" });
  const blobs = env.openDB<Buffer, Buffer>({ name: "BLOBS", keyEncoding: "binary", encoding: "binary" });
  const meta = env.openDB<Buffer, string>({ name: "META", encoding: "binary" });
  await env.transaction(() => fn({ events, blobs, meta }));
  await env.close();
}

/** Simple per-event changes: event `eve` writes one small text file. */
export function smallChange(eve: number): FileChange[] {
  return [{ path: `notes/n${eve % 37}/txt`, bytes: `note ${eve}` }];
}

/** Size of the large events of the kill tests: big enough that writing one takes a while. */
export const KILL_BIG_BYTES = 32 * 1024 * 1024;
let killPattern: Uint8Array | undefined;

/**
 * Event `eve` of the kill tests: every third one is a KILL_BIG_BYTES file (a blob in the log),
 * the others a small note. Deterministic, so a test can recompute the state of any prefix.
 */
export function killTestChange(eve: number): FileChange[] {
  if (eve % 3 !== 0) return smallChange(eve);
  killPattern ??= pseudoRandomBytes(KILL_BIG_BYTES, 0xbadc0de);
  const bytes = killPattern.slice();
  new DataView(bytes.buffer).setUint32(0, eve, true);
  return [{ path: `big/b${eve % 4}/bin`, bytes }];
}
