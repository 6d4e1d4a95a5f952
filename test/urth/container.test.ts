/**
 * The container case, through the real CLI: a shared-memory directory of 64 MiB (Docker's default
 * /dev/shm), mounted privately and pointed at with PLEA_SHM_DIR. An 80 MiB commit takes the plea
 * path in a memfd, which the directory does not bound; forced to named segments, mars cannot make
 * one there and the event falls back to the pipe. `urth log` says which path each event took, the
 * memfd's event reads back whole, and `urth status` says the probe chose memfd.
 */
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHM_DIR_ENV } from "../../src/ffi/index.ts";
import { mountTmpfs } from "../ffi/shm-test-support.ts";
import { catSha256, cleanUp, fileSha256, leftoverSegments, pseudoRandomBytes, tempPier, urth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const tmpfs = mountTmpfs("64m");
if (tmpfs.reason) console.warn(`skipping the 64 MiB /dev/shm test: ${tmpfs.reason}`);

afterEach(cleanUp);
afterAll(() => {
  let inTmpfs: string[] = [];
  try {
    if (tmpfs.dir) inTmpfs = readdirSync(tmpfs.dir);
  } finally {
    tmpfs.unmount();
  }
  expect(inTmpfs).toEqual([]);
  expect(leftoverSegments()).toEqual([]);
});

/** More than the 64 MiB directory holds. */
const EVENT_BYTES = 80 * 1024 * 1024;

test.skipIf(!tmpfs.dir)(
  "with a 64 MiB shared-memory directory, an 80 MiB commit goes through shared memory in a memfd, and through the pipe with named segments",
  async () => {
    const env = { [SHM_DIR_ENV]: tmpfs.dir! };
    const results: Record<string, { pier: string; file: string }> = {};
    for (const kind of ["memfd", "named"] as const) {
      const { pier, mount } = tempPier();
      const file = join(mount, "big.bin");
      writeFileSync(file, pseudoRandomBytes(EVENT_BYTES, kind.length));
      const c = await urth(["commit", "--json", "--pier", pier, "--plea-threshold", "1M", "--shm-kind", kind], { env });
      expect(c.code).toBe(0);
      const summary = JSON.parse(c.stdout);
      const log = await urth(["log", "--json", "--pier", pier], { env });
      expect(log.code).toBe(0);
      const [info] = JSON.parse(log.stdout);
      if (kind === "named") {
        // mars could not make the segment in 64 MiB and said why; urth sent the event through the pipe.
        expect(summary).toMatchObject({ eve: 1, path: "pipe", shmKind: "named", bytes: EVENT_BYTES });
        expect(c.stderr).toMatch(/mars refused a plea of \d+ bytes \(plea-create\): .*ENOSPC/);
        expect(info).toMatchObject({ eve: 1, path: "pipe" });
      } else {
        // The directory is no limit for a memfd.
        expect(summary).toMatchObject({ eve: 1, path: "plea", shmKind: "memfd", bytes: EVENT_BYTES });
        expect(info).toMatchObject({ eve: 1, path: "plea" });
      }
      expect(readdirSync(tmpfs.dir!)).toEqual([]);
      results[kind] = { pier, file };
    }

    const got = await catSha256(results.memfd.pier, "big.bin");
    expect(got).toMatchObject({ code: 0, bytes: EVENT_BYTES, sha256: await fileSha256(results.memfd.file) });

    // Without --shm-kind the probe chooses: memfd here, where urth can open mars's memfds.
    const status = await urth(["status", "--json", "--pier", results.memfd.pier], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).shm).toMatchObject({ kind: "memfd", choice: "auto", reason: expect.stringMatching(/^urth opened a sealed memfd of mars's through \/proc\/\d+\/fd\/3$/) });
  },
  120_000,
);
