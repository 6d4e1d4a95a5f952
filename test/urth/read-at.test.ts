/**
 * `urth cat --at EVE` and `urth ls --at EVE` between real processes (docs/urth.md): a file as it
 * was after a retained event, byte for byte, on an idle pier (a reader's own mars), beside a
 * running urth (its read worker hands them to the main thread, which asks mars: the read view holds
 * only the latest state), refused for an event the log does not hold, and replayed from a
 * snapshot after a restart.
 *
 * The blob threshold is lowered (PLEA_BLOB_BYTES_MIN = 64 KiB) so that one version of the file,
 * of 200 KiB, is a blob while the others stay in the log's records.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventLog, SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { eventKey } from "../../src/mars/log/record.ts";
import { tamperWithLog } from "../mars/mars-test-support.ts";
import { cleanUp, leftoverSegments, MAIN, pseudoRandomBytes, startRun, tempPier, urth, urthBytes } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

const ENV = { PLEA_BLOB_BYTES_MIN: String(64 * 1024) };

/** The three versions of `doc.bin`: small, large (a blob, ending in zero bytes an atom drops), small. */
const large = pseudoRandomBytes(200 * 1024, 17);
large.fill(0, large.length - 100);
const VERSIONS = [new TextEncoder().encode("version one\n"), large, new TextEncoder().encode("version three, shorter than two\n")];

/** After event 2 `extra.txt` exists too; event 3 deletes it. */
function writeVersion(mount: string, i: number): void {
  writeFileSync(join(mount, "doc.bin"), VERSIONS[i]);
  if (i === 1) writeFileSync(join(mount, "extra.txt"), "only in event 2\n");
  if (i === 2) rmSync(join(mount, "extra.txt"));
}

async function commitVersions(pier: string, mount: string): Promise<void> {
  for (let i = 0; i < VERSIONS.length; i++) {
    writeVersion(mount, i);
    const r = await urth(["commit", "--pier", pier], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`event ${i + 1}: `);
  }
}

/** What `ls --at EVE --json` lists: [path, size]. */
function listedAt(eve: number): [string, number][] {
  const out: [string, number][] = [["doc.bin", VERSIONS[eve - 1].length]];
  if (eve === 2) out.push(["extra.txt", 16]);
  return out;
}

/** `cat --at` of each event gives that event's bytes exactly; `ls --at` what existed then. */
async function expectHistory(pier: string): Promise<void> {
  for (let eve = 1; eve <= VERSIONS.length; eve++) {
    const cat = await urthBytes(["cat", "doc.bin", "--at", String(eve), "--pier", pier], { env: ENV });
    expect({ eve, code: cat.code, stderr: cat.stderr }).toEqual({ eve, code: 0, stderr: "" });
    expect(Buffer.from(cat.stdout).equals(Buffer.from(VERSIONS[eve - 1]))).toBe(true);
    const ls = await urth(["ls", "--at", String(eve), "--json", "--pier", pier], { env: ENV });
    expect({ eve, code: ls.code, stderr: ls.stderr }).toEqual({ eve, code: 0, stderr: "" });
    expect((JSON.parse(ls.stdout) as { path: string; size: number }[]).map((f) => [f.path, f.size])).toEqual(listedAt(eve));
  }
  // A file that did not exist then, and one deleted since.
  const gone = await urth(["cat", "extra.txt", "--at", "3", "--pier", pier], { env: ENV });
  expect(gone).toEqual({ code: 5, stdout: "", stderr: "urth: no committed file at extra.txt after event 3\n" });
  const was = await urth(["cat", "extra.txt", "--at", "2", "--pier", pier], { env: ENV });
  expect(was).toEqual({ code: 0, stdout: "only in event 2\n", stderr: "" });
  const none = await urth(["ls", "extra.txt", "--at", "1", "--pier", pier], { env: ENV });
  expect(none).toEqual({ code: 5, stdout: "", stderr: "urth: no committed files under extra.txt after event 1\n" });
}

describe("cat --at and ls --at", () => {
  test("on an idle pier: each event's file byte-exact, what existed listed, the latest read unchanged", async () => {
    const { pier, mount } = tempPier();
    await commitVersions(pier, mount);
    await expectHistory(pier);
    const now = await urthBytes(["cat", "doc.bin", "--pier", pier], { env: ENV });
    expect(Buffer.from(now.stdout).equals(Buffer.from(VERSIONS[2]))).toBe(true);
  });

  test("an event the log does not hold exits 1 naming the events it holds", async () => {
    const { pier, mount } = tempPier();
    await commitVersions(pier, mount);
    for (const args of [["cat", "doc.bin"], ["ls"]]) {
      const r = await urth([...args, "--at", "4", "--pier", pier], { env: ENV });
      expect(r).toEqual({ code: 1, stdout: "", stderr: "urth: Event 4 is not retained: the log holds events 1 to 3\n" });
    }
  });

  test("a bad event number is a usage error: not a number, 0, negative, too large", async () => {
    const { pier, mount } = tempPier();
    await commitVersions(pier, mount);
    const cases: [string[], string][] = [
      [["--at", "abc"], `--at takes an event number from 1 (urth log lists them); got "abc"`],
      [["--at", "0"], `--at takes an event number from 1 (urth log lists them); got "0": events are numbered from 1`],
      [["--at", "-2"], `--at takes an event number from 1 (urth log lists them); got "-2", which is negative`],
      [["--at=-2"], `--at takes an event number from 1 (urth log lists them); got "-2", which is negative`],
      [["--at", "1.5"], `--at takes an event number from 1 (urth log lists them); got "1.5"`],
      [["--at", "99999999999999999999"], `--at takes an event number from 1 (urth log lists them); got "99999999999999999999", which is larger than any event number`],
    ];
    for (const [opt, message] of cases) {
      const cat = await urth(["cat", "doc.bin", ...opt, "--pier", pier], { env: ENV });
      expect(cat).toEqual({ code: 2, stdout: "", stderr: `urth: ${message}\nusage: urth cat PATH [--pier DIR] [--at EVE]\n` });
      const ls = await urth(["ls", ...opt, "--pier", pier], { env: ENV });
      expect(ls.code).toBe(2);
      expect(ls.stderr).toStartWith(`urth: ${message}\n`);
    }
    const missing = await urth(["cat", "doc.bin", "--pier", pier, "--at"], { env: ENV });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toStartWith("urth: The option --at needs a value\n");
  });

  test("beside a running urth: the read worker hands --at reads to mars, and they see the old state", async () => {
    const { pier, mount } = tempPier();
    const run = await startRun(pier, [], { env: ENV });
    for (let i = 0; i < VERSIONS.length; i++) {
      writeVersion(mount, i);
      await run.waitForLine("stdout", new RegExp(`^event ${i + 1}: `), `commit ${i + 1}`);
    }
    await expectHistory(pier);
    const r = await urth(["cat", "doc.bin", "--at", "9", "--pier", pier], { env: ENV });
    expect(r).toEqual({ code: 1, stdout: "", stderr: "urth: Event 9 is not retained: the log holds events 1 to 3\n" });
    // The latest reads still come from the view, and the run goes on committing.
    const now = await urthBytes(["cat", "doc.bin", "--pier", pier], { env: ENV });
    expect(Buffer.from(now.stdout).equals(Buffer.from(VERSIONS[2]))).toBe(true);
    writeFileSync(join(mount, "later.txt"), "later\n");
    await run.waitForLine("stdout", /^event 4: /, "commit 4");
    const at2 = await urthBytes(["cat", "doc.bin", "--at", "2", "--pier", pier], { env: ENV });
    expect(Buffer.from(at2.stdout).equals(Buffer.from(VERSIONS[1]))).toBe(true);
    expect(run.stderrLines.filter((l) => /read worker|served by the main thread/.test(l))).toEqual([]);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  });

  test("beside a running urth, a reader that goes away mid --at cat stops it; the next one reads it whole", async () => {
    const { pier, mount } = tempPier();
    const run = await startRun(pier, [], { env: ENV });
    // Four 4 MiB pieces and a bit: more than the socket and the pipe hold, so the server is cut off mid-file.
    const old = pseudoRandomBytes(16 * 1024 * 1024 + 5, 23);
    writeFileSync(join(mount, "big.bin"), old);
    await run.waitForLine("stdout", /^event 1: /, "commit 1");
    writeFileSync(join(mount, "big.bin"), "replaced\n");
    await run.waitForLine("stdout", /^event 2: /, "commit 2");
    const head = Bun.spawn(["/bin/sh", "-c", `"$0" "$1" cat big.bin --at 1 --pier "$2" | head -c 100`, process.execPath, MAIN, pier], { env: { ...process.env, ...ENV }, stdout: "pipe", stderr: "pipe" });
    const [prefix, code] = await Promise.all([new Response(head.stdout).bytes(), head.exited]);
    expect(code).toBe(0);
    expect(Buffer.from(prefix).equals(Buffer.from(old.subarray(0, 100)))).toBe(true);
    const whole = await urthBytes(["cat", "big.bin", "--at", "1", "--pier", pier], { env: ENV });
    expect({ code: whole.code, stderr: whole.stderr, length: whole.stdout.length }).toEqual({ code: 0, stderr: "", length: old.length });
    expect(Buffer.from(whole.stdout).equals(Buffer.from(old))).toBe(true);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
  });

  test("after a restart from a snapshot, later events replay from it: events before it are not read", async () => {
    const { pier, mount } = tempPier();
    for (let i = 0; i < 2; i++) {
      writeVersion(mount, i);
      expect((await urth(["commit", "--pier", pier], { env: ENV })).code).toBe(0);
    }
    // A snapshot of event 2, as mars writes one (the pier is idle: the test holds its log meanwhile).
    const log = await EventLog.open(pier);
    try {
      const snapshots = new SnapshotStore(pier);
      const r = await restore({ log, snapshots, createKernel: createFileStoreKernel });
      expect(r.eve).toBe(2);
      await snapshots.save(r.eve, r.mug, r.kernel.state, { store: log.store, bytesMin: 64 * 1024 });
    } finally {
      await log.close();
    }
    writeVersion(mount, 2);
    expect((await urth(["commit", "--pier", pier], { env: ENV })).code).toBe(0);
    // Event 1's record is damaged: only a read that replays it can notice.
    await tamperWithLog(pier, ({ events }) => {
      const key = eventKey(1);
      const value = Buffer.from(events.get(key)!);
      value[value.length - 1] ^= 0xff;
      events.put(key, value);
    });
    for (const eve of [2, 3]) {
      const cat = await urthBytes(["cat", "doc.bin", "--at", String(eve), "--pier", pier], { env: ENV });
      expect({ eve, code: cat.code, stderr: cat.stderr }).toEqual({ eve, code: 0, stderr: "" });
      expect(Buffer.from(cat.stdout).equals(Buffer.from(VERSIONS[eve - 1]))).toBe(true);
    }
    // Event 1 lies before the snapshot: rebuilding it replays the damaged record, and says so.
    const at1 = await urth(["cat", "doc.bin", "--at", "1", "--pier", pier], { env: ENV });
    expect(at1.code).toBe(1);
    expect(at1.stdout).toBe("");
    expect(at1.stderr).toContain("%plea-history");
    expect(at1.stderr).toContain("Event 1");
    // The latest state never needed event 1.
    const now = await urthBytes(["cat", "doc.bin", "--pier", pier], { env: ENV });
    expect(Buffer.from(now.stdout).equals(Buffer.from(VERSIONS[2]))).toBe(true);
  });
});
