/**
 * Plays urth for kill.test.ts and shmem.test.ts: `bun urth-fixture.ts PIER [KIND] [BYTES]`. Starts
 * mars on PIER asking for segments of KIND (`named`, `memfd` or `auto`; default auto), sends one
 * poke of BYTES (default 1 MiB) large enough for the plea path, and when mars has granted the
 * segment (phase "filling") says `ready <mars pid>` on stderr and stops for good, before filling:
 * mars now waits for `%done`. The test then SIGKILLs this process; mars, its orphaned child, must
 * notice EOF on its stdin and remove the segment itself.
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
  writeSync(2, "usage: urth-fixture.ts PIER [KIND] [BYTES]\n");
  process.exit(2);
}

const kind = (process.argv[3] ?? "auto") as "auto" | "named" | "memfd";
const length = Number(process.argv[4] ?? 1024 * 1024);
const mars = await MarsProcess.start({ pier, pleaThresholdBytes: 64 * 1024, shmKind: kind, onLog: (line) => writeSync(2, `mars: ${line}\n`) });
const bytes = new Uint8Array(length).fill(7);
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
