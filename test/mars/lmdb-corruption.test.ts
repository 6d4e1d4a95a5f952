/**
 * Damage to LMDB's own pages (not to Plea's records, which carry checksums) must never become a
 * silently wrong state: mars either starts with the right state (the damage hit a page it does
 * not read), or fails (an LMDB error, or a crash the process cannot catch, which urth reports as
 * MarsExited). Each trial corrupts one page of data.mdb in a copy of the pier and restores it in
 * a child process (append-fixture.ts with nothing to append).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logPaths } from "../../src/mars/log/index.ts";
import { buildLog, pseudoRandomBytes, removeTempPiers, smallChange, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const PAGE_BYTES = 4096;

test("a damaged LMDB page gives the right state or a failure, never a wrong state", async () => {
  const pristine = tempPier();
  const mug = await buildLog(pristine, 300, smallChange);
  const pages = statSync(join(logPaths(pristine).log, "data.mdb")).size / PAGE_BYTES;
  const outcomes = { right: 0, failed: 0 };
  for (let page = 0; page < pages; page++) {
    const pier = tempPier();
    cpSync(pristine, pier, { recursive: true });
    const file = join(logPaths(pier).log, "data.mdb");
    const bytes = readFileSync(file);
    bytes.set(pseudoRandomBytes(256, page + 1), page * PAGE_BYTES + 16);
    writeFileSync(file, bytes);
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "append-fixture.ts"), pier, "300"], { stdout: "pipe", stderr: "pipe" });
    const [out, , code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const ready = /^ready (\d+) ([0-9a-f]+)$/m.exec(out);
    if (code === 0 && ready) {
      expect(Number(ready[1])).toBe(300);
      expect(parseInt(ready[2], 16)).toBe(mug);
      outcomes.right++;
    } else {
      expect(code).not.toBe(0);
      outcomes.failed++;
    }
  }
  console.log(`LMDB page damage over ${pages} pages: ${outcomes.right} started with the right state, ${outcomes.failed} failed`);
  expect(outcomes.right + outcomes.failed).toBe(pages);
}, 180_000);
