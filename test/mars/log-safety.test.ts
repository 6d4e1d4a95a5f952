/**
 * The checks `EventLog.open` makes before LMDB maps its file (docs/event-log.md, "Start-up
 * recovery"): the writer lock, a log gone from a used pier, LMDB's meta pages and length, and the
 * head marker. The same losses end to end, with real urth and mars processes, are in
 * test/urth/log-safety.test.ts.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventLog, LogError, LogErrorCode, logPaths } from "../../src/mars/log/index.ts";
import { decodeHeadRecord, encodeHeadRecord, HEAD_FILE_BYTES, HEAD_SLOT_BYTES, readHeadMarker } from "../../src/mars/log/head-marker.ts";
import { checkLmdbMeta, LMDB_META_READ_BYTES, readLmdbHead } from "../../src/mars/log/lmdb-meta.ts";
import { exitStatusOf } from "../../src/mars/exit-status.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { appendEvents, buildLog, intoOvum, nowOf, pseudoRandomBytes, removeTempPiers, smallChange, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

async function errorOf(p: Promise<unknown>): Promise<LogError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LogError) return e;
    throw e;
  }
  throw new Error("expected a LogError");
}

function dataFile(pier: string): string {
  return join(logPaths(pier).log, "data.mdb");
}

/** The two meta pages' first LMDB_META_READ_BYTES and the file's size, as `readLmdbHead` reads them. */
function metaBytes(pier: string): { page0: Uint8Array; page1: Uint8Array; size: number } {
  const bytes = readFileSync(dataFile(pier));
  // Copies (a Buffer's slice is a view).
  return { page0: Uint8Array.from(bytes.subarray(0, LMDB_META_READ_BYTES)), page1: Uint8Array.from(bytes.subarray(4096, 4096 + LMDB_META_READ_BYTES)), size: bytes.length };
}

describe("the writer lock", () => {
  test("a second writer on the same log is refused with log_locked (mars exits 3), naming the holder; readers are not", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.locked);
    expect(e.message).toMatch(new RegExp(`^Another mars \\(pid ${process.pid}\\) is still writing this pier's log ".*": wait for it to exit or kill pid ${process.pid}, then start again$`));
    expect(exitStatusOf(e)).toBe(3);
    // A reader opens beside the writer and sees its commits.
    await log.append({ eve: 1, mug: 5, now: nowOf(1), ovum: intoOvum(smallChange(1)) });
    const reader = await EventLog.open(pier, { readOnly: true });
    expect(reader.eve).toBe(1);
    await reader.close();
    await log.close();
    // Closed, the log is free for the next writer.
    const next = await EventLog.open(pier);
    expect(next.eve).toBe(1);
    await next.close();
  });
});

describe("a log gone from a used pier", () => {
  test("with blobs, snapshots or a head marker, a missing or empty data.mdb is refused (exit 7) and nothing is touched", async () => {
    const pier = tempPier();
    await buildLog(pier, 6, (eve) => (eve === 3 ? [{ path: "big/bin", bytes: pseudoRandomBytes(9000, 3) }] : smallChange(eve)), { inlineBytesMax: 4096 });
    const paths = logPaths(pier);
    expect(readdirSync(paths.blob)).toHaveLength(1);
    writeFileSync(dataFile(pier), "");
    let e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.missing);
    expect(e.message).toMatch(/data file ".*data\.mdb" is empty, but this pier has had events \(it has 1 file in ".*blob", a head marker at event 6\)/);
    expect(exitStatusOf(e)).toBe(7);
    expect(readdirSync(paths.blob)).toHaveLength(1);
    expect(statSync(dataFile(pier)).size).toBe(0);
    // Readers refuse the same way.
    expect((await errorOf(EventLog.open(pier, { readOnly: true }))).code).toBe(LogErrorCode.missing);
    // The marker alone is evidence enough; and without any, the pier is new.
    rmSync(paths.blob, { recursive: true });
    rmSync(dataFile(pier));
    e = await errorOf(EventLog.open(pier));
    expect(e.message).toMatch(/data file ".*" is missing, but this pier has had events \(it has a head marker at event 6\)/);
    rmSync(paths.log, { recursive: true });
    const fresh = await EventLog.open(pier);
    expect(fresh.eve).toBe(0);
    await fresh.close();
  });
});

describe("LMDB's meta pages, checked before LMDB maps the file", () => {
  test("a healthy file passes, and names the meta page LMDB uses", async () => {
    const pier = tempPier();
    await buildLog(pier, 5, smallChange);
    const head = readLmdbHead(dataFile(pier));
    expect(head.pageBytes).toBe(4096);
    expect((head.lastPage + 1) * head.pageBytes).toBeLessThanOrEqual(head.fileBytes);
    expect(head.metaPage).toBe((head.txnid & 1) as 0 | 1);
  });

  test("every kind of damage is refused with a reason, without LMDB", async () => {
    const pier = tempPier();
    await buildLog(pier, 5, smallChange);
    const { page0, page1, size } = metaBytes(pier);
    const check = (p0: Uint8Array, p1: Uint8Array, bytes = size) => {
      try {
        checkLmdbMeta(p0, p1, bytes, "data.mdb");
        return "passed";
      } catch (e) {
        expect(e).toBeInstanceOf(LogError);
        expect((e as LogError).code).toBe(LogErrorCode.damaged);
        return (e as LogError).message.replace(/^The event log's data file "data.mdb" is damaged: /, "").replace(/\. LMDB keeps no checksums.*$/, "");
      }
    };
    const flipped = (page: Uint8Array, at: number, mask: number) => {
      const copy = page.slice();
      copy[at] ^= mask;
      return copy;
    };
    const setU64 = (page: Uint8Array, at: number, value: number) => {
      const copy = page.slice();
      new DataView(copy.buffer).setBigUint64(at, BigInt(value), true);
      return copy;
    };
    expect(check(page0, page1)).toBe("passed");
    expect(check(flipped(page0, 24, 0x01), page1)).toBe("meta page 0 has magic 0xbeefc0df, not LMDB's 0xbeefc0de");
    expect(check(page0, flipped(page1, 27, 0x80))).toBe("meta page 1 has magic 0x3eefc0de, not LMDB's 0xbeefc0de");
    expect(check(page0, flipped(page1, 152, 0x04))).toMatch(/^its meta pages hold transactions \d+ and \d+, which LMDB never writes/);
    expect(check(flipped(page0, 152, 0x10), page1)).toMatch(/^its meta pages hold transactions/);
    expect(check(flipped(page0, 18, 0x08), page1)).toMatch(/^meta page 0 is not marked as meta page 0/);
    expect(check(page0, flipped(page1, 0, 0x01))).toMatch(/^meta page 1 is not marked as meta page 1 \(page number 0/);
    expect(check(page0, flipped(page1, 28, 0x01))).toBe("meta page 1 says LMDB data version 3; this build reads version 2");
    expect(check(flipped(page0, 49, 0x20), page1)).toBe("meta page 0 has page size 12288");
    expect(check(page0, flipped(page1, 47, 0x40))).toMatch(/^meta page 1 has map size \d+, beyond any address space/);
    expect(check(setU64(page0, 136, 999), page1)).toMatch(/^meta page 0 has its main tree's root at page 999, outside pages 2\.\.\d+/);
    expect(check(setU64(page0, 88, 1), page1)).toMatch(/^meta page 0 has its free-space tree's root at page 1/);
    expect(check(page0, page1, size - 4096)).toMatch(/^meta page \d uses pages up to \d+, \d+ bytes, but the file is \d+ bytes \(truncated\)/);
    expect(check(page0.subarray(0, 100), new Uint8Array(0), 100)).toBe("it is 100 bytes long, too short to hold LMDB's meta pages");
    expect(check(page0, page1.subarray(0, 10), 4106)).toBe("it is 4106 bytes long, too short to hold LMDB's meta page 1");
  });

  test("one bit flipped anywhere in either meta page's txnid: refused, or the same events, never fewer", async () => {
    const pristine = tempPier();
    await buildLog(pristine, 5, smallChange);
    const original = readFileSync(dataFile(pristine));
    const outcomes = { damaged: 0, rollback: 0, same: 0 };
    for (const page of [0, 1]) {
      for (let bit = 0; bit < 64; bit++) {
        const bytes = Buffer.from(original);
        bytes[page * 4096 + 152 + (bit >> 3)] ^= 1 << (bit & 7);
        writeFileSync(dataFile(pristine), bytes);
        try {
          const log = await EventLog.open(pristine, { readOnly: true });
          expect(log.eve).toBe(5);
          await log.close();
          outcomes.same++;
        } catch (e) {
          // Two consecutive txnids where one was lowered by 2 (t -> t - 2 beside t - 1) pass the
          // meta check: LMDB would open the previous transaction, and the head marker says no.
          expect([LogErrorCode.damaged, LogErrorCode.rollback] as string[]).toContain((e as LogError).code);
          outcomes[(e as LogError).code === LogErrorCode.damaged ? "damaged" : "rollback"]++;
        }
      }
    }
    console.log(`txnid bit flips: ${outcomes.damaged} refused by the meta check, ${outcomes.rollback} by the head marker, ${outcomes.same} opened the same events`);
    expect(outcomes.damaged + outcomes.rollback + outcomes.same).toBe(128);
    expect(outcomes.rollback).toBeGreaterThan(0);
  }, 60_000);
});

describe("the head marker", () => {
  test("records round-trip, and a damaged slot is not a record", () => {
    const rec = encodeHeadRecord({ eve: 2 ** 40 + 7, mug: 0xdeadbeef });
    expect(rec.length).toBe(HEAD_SLOT_BYTES);
    expect(decodeHeadRecord(rec)).toEqual({ eve: 2 ** 40 + 7, mug: 0xdeadbeef });
    for (let at = 0; at < 32; at++) {
      const bad = rec.slice();
      bad[at] ^= 0x01;
      expect(decodeHeadRecord(bad)).toBeUndefined();
    }
  });

  test("events committed together share a marker write", async () => {
    const pier = tempPier();
    // buildLog issues 8 appends at a time: events 1..4 share LMDB's commit, and one marker write.
    await buildLog(pier, 4, smallChange);
    const bytes = readFileSync(join(logPaths(pier).log, "head"));
    expect([decodeHeadRecord(bytes.subarray(0, HEAD_SLOT_BYTES))?.eve, decodeHeadRecord(bytes.subarray(HEAD_SLOT_BYTES))?.eve].sort()).toEqual([0, 4]);
  });

  test("follows every append, alternating slots; a torn slot falls back to the other", async () => {
    const pier = tempPier();
    const writer = await EventLog.open(pier);
    await appendEvents(writer, createFileStoreKernel(), 1, 4, smallChange, 1);
    await writer.close();
    const file = join(logPaths(pier).log, "head");
    expect(statSync(file).size).toBe(HEAD_FILE_BYTES);
    const bytes = readFileSync(file);
    const slots = [decodeHeadRecord(bytes.subarray(0, HEAD_SLOT_BYTES)), decodeHeadRecord(bytes.subarray(HEAD_SLOT_BYTES))];
    const log = await EventLog.open(pier, { readOnly: true });
    const newest = { eve: 4, mug: log.mugAt(4) };
    expect(slots.map((s) => s!.eve).sort()).toEqual([3, 4]);
    expect(slots).toContainEqual(newest);
    await log.close();
    // A write of the newest slot torn by a crash: the previous head is still there.
    const torn = readFileSync(file);
    const at = slots[0]!.eve === 4 ? 0 : HEAD_SLOT_BYTES;
    torn.set(pseudoRandomBytes(20, 1), at + 8);
    writeFileSync(file, torn);
    expect(readHeadMarker(logPaths(pier).log)).toMatchObject({ eve: 3 });
    const again = await EventLog.open(pier);
    expect(again.eve).toBe(4);
    await again.close();
    expect(readHeadMarker(logPaths(pier).log)).toMatchObject(newest);
    // Both slots damaged: the marker cannot vouch for the log.
    writeFileSync(file, pseudoRandomBytes(HEAD_FILE_BYTES, 2));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.damaged);
    expect(e.message).toMatch(/head marker ".*head" is damaged \(1024 bytes, no valid record\)/);
  });

  test("a log with events and no marker (from before this version) is accepted, and gets one", async () => {
    const pier = tempPier();
    await buildLog(pier, 3, smallChange);
    rmSync(join(logPaths(pier).log, "head"));
    const log = await EventLog.open(pier);
    expect(log.warnings).toEqual([expect.stringMatching(/^Wrote the head marker ".*head" at event 3: this log is from before Plea kept one\.$/)]);
    expect(readHeadMarker(logPaths(pier).log)).toMatchObject({ eve: 3, mug: log.mugAt(3) });
    await log.close();
  });

  test("a log behind its marker, or holding another event under the marker's number, is refused (exit 7)", async () => {
    const pier = tempPier();
    await buildLog(pier, 3, smallChange);
    const log = await EventLog.open(pier);
    const mug3 = log.mugAt(3);
    await log.close();
    const dir = logPaths(pier).log;
    const put = (eve: number, mug: number) => {
      const rec = encodeHeadRecord({ eve, mug });
      const bytes = new Uint8Array(HEAD_FILE_BYTES);
      bytes.set(rec, 0);
      bytes.set(rec, HEAD_SLOT_BYTES);
      writeFileSync(join(dir, "head"), bytes);
    };
    put(5, 1);
    let e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.rollback);
    expect(e.message).toMatch(/ends at event 3, but event 5 was made durable \(its head marker says so\): LMDB lost the last 2 events/);
    expect(exitStatusOf(e)).toBe(7);
    expect((await errorOf(EventLog.open(pier, { readOnly: true }))).code).toBe(LogErrorCode.rollback);
    put(3, mug3 ^ 1);
    e = await errorOf(EventLog.open(pier));
    expect(e.message).toMatch(/^Event 3 in the event log ".*" has mug 0x[0-9a-f]+, but the head marker says 0x[0-9a-f]+: this log is not the one that made event 3 durable/);
  });

  test("a marker behind the log (a crash between a commit and the marker's write) is caught up at open", async () => {
    const pier = tempPier();
    await buildLog(pier, 3, smallChange);
    const dir = logPaths(pier).log;
    const reader = await EventLog.open(pier, { readOnly: true });
    const mug2 = reader.mugAt(2);
    const mug3 = reader.mugAt(3);
    await reader.close();
    const rec = encodeHeadRecord({ eve: 2, mug: mug2 });
    const bytes = new Uint8Array(HEAD_FILE_BYTES);
    bytes.set(rec, 0);
    writeFileSync(join(dir, "head"), bytes);
    expect(readHeadMarker(dir)).toMatchObject({ eve: 2, slot: 0 });
    const log = await EventLog.open(pier);
    expect(log.eve).toBe(3);
    await log.close();
    expect(readHeadMarker(dir)).toEqual({ eve: 3, mug: mug3, slot: 1 });
    expect(existsSync(join(dir, "head.tmp"))).toBe(false);
  });
});
