/**
 * A 512 MiB event through the log and back, each half in its own process so its peak memory is
 * measured alone (large-event-fixture.ts). Skipped, saying why, when the temp filesystem lacks
 * the room.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTempPiers, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const MiB = 1024 * 1024;
const PAYLOAD_BYTES = 512 * MiB;
const FIXTURE = join(import.meta.dir, "large-event-fixture.ts");

const fs = statfsSync(tmpdir());
const freeBytes = fs.bavail * fs.bsize;
const roomy = freeBytes >= PAYLOAD_BYTES + 512 * MiB;
if (!roomy) {
  console.log(`Skipping the 512 MiB event test: ${tmpdir()} has ${Math.floor(freeBytes / MiB)} MiB free, it needs ${PAYLOAD_BYTES / MiB + 512} MiB.`);
}

async function runFixture(mode: "append" | "replay", pier: string): Promise<Record<string, number | string | boolean>> {
  const child = Bun.spawn([process.execPath, FIXTURE, mode, pier, String(PAYLOAD_BYTES)], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(err).toBe("");
  expect(code).toBe(0);
  return JSON.parse(out);
}

test.skipIf(!roomy)("a 512 MiB event is appended with bounded memory and replays byte for byte", async () => {
  const pier = tempPier();
  const appended = await runFixture("append", pier);
  console.log(`512 MiB event: append ${appended.ms} ms, peak ${appended.before} -> ${appended.after} MiB`);
  // The payload is one large atom: it goes to the blob store, and the record is a small jam
  // that refers to it (docs/blob-store.md), inline in LMDB.
  expect(appended.storage).toBe("inline");
  expect(appended.blobBytes).toBe(PAYLOAD_BYTES);
  expect(appended.jamBytes as number).toBeLessThan(64 * 1024);
  // The append streams the atom into its blob: no second copy of the payload.
  expect((appended.after as number) - (appended.before as number)).toBeLessThanOrEqual(96);

  const replayed = await runFixture("replay", pier);
  console.log(`512 MiB event: replay ${replayed.ms} ms, peak ${replayed.before} -> ${replayed.after} MiB`);
  expect(replayed.same).toBe(true);
  expect(replayed.mug).toBe(appended.mug);
  expect(replayed.replayed).toBe(1);
  // The state holds the 512 MiB atom as a reference to its blob: replay reads none of it, and
  // the comparison maps the blob (file pages, which the heap figure does not count).
  expect((replayed.after as number) - (replayed.before as number)).toBeLessThanOrEqual(96);
}, 180_000);
