/**
 * Plays urth for kill.test.ts: `bun urth-fixture.ts PIER`. Starts mars on PIER, sends one poke
 * large enough for the plea path, and when mars has granted the segment (phase "filling") says
 * `ready <mars pid>` on stderr and stops for good, before filling: mars now waits for `%done`.
 * The test then SIGKILLs this process; mars, its orphaned child, must notice EOF on its stdin and
 * remove the segment itself.
 *
 * Writes go through writeSync: an asynchronous write might never leave a blocked process.
 */
import { writeSync } from "node:fs";
import { intoOvum, MIME_TEXT_PLAIN } from "../../src/ipc/into.ts";
import { pathToNoun } from "../../src/ipc/shape.ts";
import { atomFromBytes } from "../../src/noun/index.ts";
import { MarsProcess } from "../../src/urth/mars-process.ts";

const pier = process.argv[2];
if (!pier) {
  writeSync(2, "usage: urth-fixture.ts PIER\n");
  process.exit(2);
}

const mars = await MarsProcess.start({ pier, pleaThresholdBytes: 64 * 1024, onLog: (line) => writeSync(2, `mars: ${line}\n`) });
const bytes = new Uint8Array(1024 * 1024).fill(7);
const ovum = intoOvum("base", [{ kind: "put", path: pathToNoun(["big", "bin"]), type: MIME_TEXT_PLAIN, len: bytes.length, data: atomFromBytes(bytes) }], 1);
mars
  .poke(ovum, {
    onProgress: (p) => {
      if (p.phase !== "filling") return;
      writeSync(2, `ready ${mars.pid}\n`);
      // Blocks this thread until the test kills the process: the fill never runs.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
  })
  .catch((e) => writeSync(2, `poke failed: ${(e as Error).message}\n`));
