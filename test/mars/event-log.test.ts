import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import {
  blobFileName,
  eventKey,
  EventLog,
  LOG_FORMAT_VERSION,
  LogError,
  LogErrorCode,
  logPaths,
  SnapshotStore,
} from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { blobRecord, decodeRecord, RECORD_HEADER_BYTES, sealInlineRecord } from "../../src/mars/log/record.ts";
import {
  appendEvents,
  buildLog,
  intoOvum,
  nowOf,
  pseudoRandomBytes,
  removeTempPiers,
  smallChange,
  tamperWithLog,
  tempPier,
  type FileChange,
} from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

/** Events every fifth of which is above the (lowered) inline limit and goes to a blob. */
const INLINE_MAX = 4096;
function mixedChange(eve: number): FileChange[] {
  return eve % 5 === 0 ? [{ path: `big/b${eve}/bin`, bytes: pseudoRandomBytes(20_000, eve) }] : smallChange(eve);
}

async function restoreFrom(pier: string) {
  const log = await EventLog.open(pier, { inlineBytesMax: INLINE_MAX });
  try {
    return await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
  } finally {
    await log.close();
  }
}

async function errorOf(p: Promise<unknown>): Promise<LogError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LogError) return e;
    throw e;
  }
  throw new Error("expected a LogError");
}

describe("the event log", () => {
  test("1,000 small events appended are replayed to the same state, mug by mug", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    const kernel = createFileStoreKernel();
    const mugs = await appendEvents(log, kernel, 1, 1000, smallChange, 25);
    expect(log.eve).toBe(1000);
    await log.close();

    const again = await EventLog.open(pier);
    expect(again.eve).toBe(1000);
    let seen = 0;
    for await (const event of again.replay()) {
      seen++;
      expect(event.eve).toBe(seen);
      expect(event.mug).toBe(mugs.get(seen)!);
    }
    expect(seen).toBe(1000);
    const infos = again.info();
    expect(infos.length).toBe(1000);
    expect(infos[999]).toMatchObject({ eve: 1000, kind: "into", path: "pipe", storage: "inline" });
    await again.close();

    const restored = await restoreFrom(pier);
    expect(restored.eve).toBe(1000);
    expect(restored.replayed).toBe(1000);
    expect(restored.mug).toBe(kernel.mug());
  }, 60_000);

  test("a new log holds Plea's META: version %plea, ~zod, fake, life 0 and the format", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    expect(log.meta).toEqual({ version: 0x61656c70, who: new Uint8Array(0), fake: true, life: 0, pleaFormat: LOG_FORMAT_VERSION });
    await log.close();
    let raw: Record<string, number[]> = {};
    await tamperWithLog(pier, ({ meta }) => {
      for (const key of ["version", "who", "fake", "life", "plea-format"]) raw[key] = [...(meta.get(key) ?? [])];
    });
    expect(raw).toEqual({ version: [0x70, 0x6c, 0x65, 0x61], who: [], fake: [], life: [], "plea-format": [LOG_FORMAT_VERSION] });
  });

  test("refuses a log written in another format", async () => {
    const pier = tempPier();
    await buildLog(pier, 3, smallChange);
    await tamperWithLog(pier, ({ meta }) => meta.put("plea-format", Buffer.from([LOG_FORMAT_VERSION + 1])));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.format);
    expect(e.message).toMatch(/Plea log format 2; this build reads format 1/);
    await tamperWithLog(pier, ({ meta }) => meta.put("version", Buffer.from([3])));
    expect((await errorOf(EventLog.open(pier))).message).toMatch(/META version 3, not Plea's/);
  });

  test("appends are numbered 1, 2, 3, and a read-only log takes none", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    const ovum = intoOvum(smallChange(1));
    expect((await errorOf(log.append({ eve: 2, mug: 1, now: nowOf(2), ovum }))).code).toBe(LogErrorCode.usage);
    await log.append({ eve: 1, mug: 1, now: nowOf(1), ovum });
    expect((await errorOf(log.append({ eve: 1, mug: 1, now: nowOf(1), ovum }))).message).toMatch(/Event 1 cannot be appended after event 1/);
    await log.close();
    const reader = await EventLog.open(pier, { readOnly: true });
    expect(reader.eve).toBe(1);
    expect((await errorOf(reader.append({ eve: 2, mug: 1, now: nowOf(2), ovum }))).code).toBe(LogErrorCode.usage);
    await reader.close();
    expect((await errorOf(EventLog.open(tempPier(), { readOnly: true }))).message).toMatch(/There is no event log/);
  });

  test("an event above the inline limit is a checksummed blob file named by its record", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier, { inlineBytesMax: INLINE_MAX });
    const kernel = createFileStoreKernel();
    await appendEvents(log, kernel, 1, 10, mixedChange);
    const rec = log.record(5);
    expect(rec.form).toBe("blob");
    if (rec.form !== "blob") throw new Error("inline");
    const path = join(logPaths(pier).blob, blobFileName(5, rec.crc));
    expect(statSync(path).size).toBe(rec.length);
    expect(Bun.hash.crc32(readFileSync(path)) >>> 0).toBe(rec.crc);
    expect(readdirSync(logPaths(pier).blob).sort()).toEqual([blobFileName(10, (log.record(10) as { crc: number }).crc), blobFileName(5, rec.crc)].sort());
    expect(log.info(5, 5)[0]).toMatchObject({ storage: "blob", jamBytes: rec.length });
    const job = (await log.read(5)).job;
    expect(job).toBeDefined();
    await log.close();
    expect((await restoreFrom(pier)).mug).toBe(kernel.mug());
  });

  test("a failed append stops the log: later appends fail with the same error", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier, { inlineBytesMax: INLINE_MAX });
    rmSync(logPaths(pier).blob, { recursive: true });
    const big = intoOvum([{ path: "big/bin", bytes: pseudoRandomBytes(10_000, 1) }]);
    const first = await errorOf(log.append({ eve: 1, mug: 1, now: nowOf(1), ovum: big }));
    expect(first.code).toBe(LogErrorCode.write);
    expect(first.message).toMatch(/Cannot create the blob of event 1/);
    const second = await errorOf(log.append({ eve: 2, mug: 1, now: nowOf(2), ovum: intoOvum(smallChange(2)) }));
    expect(second).toBe(first);
    await log.close();
  });

  test("another process reads the log read-only while mars appends to it", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    const kernel = createFileStoreKernel();
    await appendEvents(log, kernel, 1, 10, smallChange);
    const reader = Bun.spawn([process.execPath, join(import.meta.dir, "log-reader-fixture.ts"), pier, "200"], { stdout: "pipe", stderr: "pipe" });
    try {
      await appendEvents(log, kernel, 11, 200, smallChange, 4);
      const [out, err, code] = await Promise.all([new Response(reader.stdout).text(), new Response(reader.stderr).text(), reader.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({ eve: 200, infos: 200, firstKind: "into", mugNonzero: true });
    } finally {
      reader.kill();
      await log.close();
    }
  }, 60_000);
});

describe("start-up recovery", () => {
  test("removes orphan blobs (complete or partial) and leaves files it did not write", async () => {
    const pier = tempPier();
    const mug = await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    const blobDir = logPaths(pier).blob;
    // A crash after the blob of event 11 was renamed into place, before its record committed;
    // and one in the middle of writing event 12's blob.
    writeFileSync(join(blobDir, blobFileName(11, 0x1234)), pseudoRandomBytes(9000, 11));
    writeFileSync(join(blobDir, "12.partial"), pseudoRandomBytes(100, 12));
    // Named like a committed blob of event 5, but with another checksum: not what the record names.
    writeFileSync(join(blobDir, blobFileName(5, 0x1)), "x");
    writeFileSync(join(blobDir, "notes.txt"), "operator's file");
    const log = await EventLog.open(pier, { inlineBytesMax: INLINE_MAX });
    expect(log.warnings).toHaveLength(4);
    expect(log.warnings.filter((w) => w.startsWith("Removed orphan blob"))).toHaveLength(3);
    expect(log.warnings.find((w) => w.includes("notes.txt"))).toMatch(/Left .* alone/);
    expect(readdirSync(blobDir).sort()).toEqual([blobFileName(10, (log.record(10) as { crc: number }).crc), blobFileName(5, (log.record(5) as { crc: number }).crc), "notes.txt"].sort());
    expect(log.eve).toBe(10);
    await log.close();
    expect((await restoreFrom(pier)).mug).toBe(mug);
  });

  test("refuses to start when a record's blob is missing, naming the event", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    const blob = readdirSync(logPaths(pier).blob).find((n) => n.startsWith("5-"))!;
    rmSync(join(logPaths(pier).blob, blob));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.blobMissing);
    expect(e.eve).toBe(5);
    expect(e.message).toMatch(/^Event 5's blob .* is missing/);
  });

  test("refuses to start when a blob is shorter than its record says", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    const blob = join(logPaths(pier).blob, readdirSync(logPaths(pier).blob).find((n) => n.startsWith("10-"))!);
    truncateSync(blob, statSync(blob).size - 1);
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.blobLength);
    expect(e.eve).toBe(10);
  });

  test("a damaged blob stops replay with an error naming the event", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    const blob = join(logPaths(pier).blob, readdirSync(logPaths(pier).blob).find((n) => n.startsWith("5-"))!);
    const bytes = readFileSync(blob);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(blob, bytes);
    const e = await errorOf(restoreFrom(pier));
    expect(e.code).toBe(LogErrorCode.blobChecksum);
    expect(e.eve).toBe(5);
    expect(e.message).toMatch(/^Event 5's blob .* is damaged: its checksum is/);
  });

  test("a damaged record stops replay with an error naming the event", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    await tamperWithLog(pier, ({ events }) => {
      const value = Buffer.from(events.get(eventKey(7))!);
      value[value.length - 1] ^= 0x01;
      events.put(eventKey(7), value);
    });
    const e = await errorOf(restoreFrom(pier));
    expect(e.code).toBe(LogErrorCode.record);
    expect(e.eve).toBe(7);
    expect(e.message).toMatch(/^Event 7 in the event log is damaged: its checksum is/);
  });

  test("refuses a log with a gap in its event numbers", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, smallChange);
    await tamperWithLog(pier, ({ events }) => events.remove(eventKey(4)));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.gap);
    expect(e.message).toMatch(/is missing event 4: event 3 is followed by event 5/);
  });

  test("refuses a log that does not start at event 1", async () => {
    const pier = tempPier();
    await buildLog(pier, 3, smallChange);
    await tamperWithLog(pier, ({ events }) => events.remove(eventKey(1)));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.gap);
    expect(e.message).toMatch(/is missing event 1: it starts \(its META says at event 1\) by event 2/);
  });

  test("a stored mug that replay does not reproduce stops the start (vere's %awry)", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, smallChange);
    await tamperWithLog(pier, ({ events }) => {
      // A well-formed record (its checksum is right) with another mug.
      const rec = decodeRecord(6, events.get(eventKey(6))!);
      if (rec.form !== "inline") throw new Error("expected inline");
      const value = new Uint8Array(RECORD_HEADER_BYTES + rec.jam.length);
      value.set(rec.jam, RECORD_HEADER_BYTES);
      events.put(eventKey(6), Buffer.from(sealInlineRecord(value, rec.mug ^ 1)));
    });
    const e = await errorOf(restoreFrom(pier));
    expect(e.code).toBe(LogErrorCode.mug);
    expect(e.eve).toBe(6);
    expect(e.message).toMatch(/^Replaying event 6 gave a state with mug/);
  });

  test("refuses a blob index that disagrees with the records", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    await tamperWithLog(pier, ({ blobs }) => blobs.put(eventKey(3), Buffer.from(blobRecord(0, 1, 1).subarray(12))));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.record);
    expect(e.message).toMatch(/blob index names event 3, whose record is inline/);
  });

  test("never removes a blob its record names, even when the index lost it", async () => {
    const pier = tempPier();
    await buildLog(pier, 10, mixedChange, { inlineBytesMax: INLINE_MAX });
    await tamperWithLog(pier, ({ blobs }) => blobs.remove(eventKey(5)));
    const e = await errorOf(EventLog.open(pier));
    expect(e.code).toBe(LogErrorCode.record);
    expect(e.message).toMatch(/Event 5's blob is missing from the blob index/);
    expect(readdirSync(logPaths(pier).blob).some((n) => n.startsWith("5-"))).toBe(true);
  });

  test("creates the log's directories in a fresh pier", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    for (const dir of Object.values(logPaths(pier))) expect(existsSync(dir)).toBe(true);
    expect(log.eve).toBe(0);
    expect(log.mugAt()).toBe(0);
    await log.close();
  });
});
