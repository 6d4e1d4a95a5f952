/**
 * mars's part of the pier is its owner's alone whatever the umask (docs/urth.md, "Who can read a
 * pier"): under umask 000, the log's directories are 0700 and LMDB's files, a blob and a snapshot
 * are 0600. A blob holds a committed file's bytes, a snapshot every committed file's.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog, logPaths } from "../../src/mars/log/index.ts";
import { SnapshotStore } from "../../src/mars/log/snapshot.ts";
import { appendEvents, pseudoRandomBytes, removeTempPiers, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(() => removeTempPiers());

/** Every path under `dir` with its permission bits, `dir` itself first. */
function modes(dir: string): Array<[string, number]> {
  const out: Array<[string, number]> = [[dir, statSync(dir).mode & 0o777]];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out.push([path, statSync(path).mode & 0o777]);
  }
  return out;
}

test("under umask 000 the log, its LMDB files, a blob and a snapshot are 0700/0600", async () => {
  const pier = tempPier();
  const old = process.umask(0);
  try {
    const log = await EventLog.open(pier, { inlineBytesMax: 1024 });
    const kernel = createFileStoreKernel();
    await appendEvents(log, kernel, 1, 2, (eve) => [{ path: `/secret/${eve}/txt`, bytes: pseudoRandomBytes(eve === 1 ? 100 : 64 * 1024, eve) }]);
    await new SnapshotStore(pier).save(2, kernel.mug(), kernel.state);
    await log.close();
  } finally {
    process.umask(old);
  }
  const paths = logPaths(pier);
  const found = modes(paths.urb);
  const names = found.map(([p]) => p.slice(paths.urb.length));
  // What this test is about is there: both LMDB files, one blob, one snapshot.
  expect(names).toEqual(expect.arrayContaining(["", "/log", "/log/data.mdb", "/log/lock.mdb", "/blob", "/chk"]));
  expect(names.filter((n) => n.startsWith("/blob/"))).toHaveLength(1);
  expect(names.filter((n) => n.startsWith("/chk/"))).toHaveLength(1);
  const wrong = found.filter(([p, mode]) => mode !== (statSync(p).isDirectory() ? 0o700 : 0o600));
  expect(wrong.map(([p, mode]) => `${p.slice(paths.urb.length)} ${mode.toString(8)}`)).toEqual([]);
});

test("opening the log tightens the directories of an older pier that followed the umask", async () => {
  const pier = tempPier();
  await (await EventLog.open(pier)).close();
  const paths = logPaths(pier);
  for (const dir of [paths.urb, paths.log, paths.blob, paths.chk]) chmodSync(dir, 0o755);
  await (await EventLog.open(pier)).close();
  for (const dir of [paths.urb, paths.log, paths.blob, paths.chk]) expect([dir, statSync(dir).mode & 0o777]).toEqual([dir, 0o700]);
});
