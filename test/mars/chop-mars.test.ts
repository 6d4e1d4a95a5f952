/**
 * chop and du through a real mars (src/mars/mars.ts): `[%chop keep]` and `/plea/du`, asked by
 * `urth chop` and `urth du` on a pier whose file was replaced three times. The blob threshold is
 * lowered (PLEA_BLOB_BYTES_MIN = 64 KiB) so that the files are blobs and small.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { treeBytes } from "../../src/mars/retention.ts";
import { catSha256, cleanUp, fileSha256, tempPier, urth } from "../urth/urth-support.ts";
import { pseudoRandomBytes } from "./mars-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(cleanUp);

const ENV = { PLEA_BLOB_BYTES_MIN: String(64 * 1024) };

test("urth du sees the dead versions of a replaced file; urth chop removes them, and the pier reads and starts as before", async () => {
  const { pier, mount } = tempPier();
  for (let i = 1; i <= 3; i++) {
    writeFileSync(join(mount, "big.bin"), pseudoRandomBytes(200_000, i));
    writeFileSync(join(mount, "note.txt"), `note ${i}`);
    expect((await urth(["commit", "--pier", pier], { env: ENV })).code).toBe(0);
  }
  const du = await urth(["du", "--pier", pier, "--json"], { env: ENV });
  expect(du.code).toBe(0);
  const before = JSON.parse(du.stdout);
  expect(before.blobs.live.count).toBe(1);
  expect(before.blobs.dead.count).toBe(2);
  expect(before.log.events).toEqual({ first: 1, last: 3, count: 3 });
  const chopped = await urth(["chop", "--pier", pier, "--keep", "0", "--json"], { env: ENV });
  expect(chopped.code).toBe(0);
  const { report, du: after } = JSON.parse(chopped.stdout);
  expect(report.first).toEqual({ before: 1, after: 3 });
  expect(report.blobs.removed).toBe(2);
  expect(report.snapshot.taken).toBe(3);
  expect(after.blobs.dead.count).toBe(0);
  expect(after.total.bytes).toBe(await treeBytes(join(pier, ".urb")));
  // The pier starts again (a reader's session restores from the snapshot) and reads byte-exact.
  const cat = await catSha256(pier, "big.bin");
  expect(cat.code).toBe(0);
  expect(cat.sha256).toBe(await fileSha256(join(mount, "big.bin")));
  writeFileSync(join(mount, "note.txt"), "after the chop");
  expect((await urth(["commit", "--pier", pier], { env: ENV })).code).toBe(0);
  const log = await urth(["log", "--pier", pier, "--json"], { env: ENV });
  expect(log.code).toBe(0);
});
