/**
 * A stand-in for mars's write path, to be SIGKILLed: restores the pier (as mars does at start),
 * then applies and appends the kill-test events (mars-test-support.ts `killTestChange`) one by
 * one up to LAST, printing `begin N` before each append and `durable N` once it resolved.
 * Prints `ready N MUG` after restoring (N = the log's last event, MUG the state's mug in hex)
 * and `done` at the end.
 *
 *   bun append-fixture.ts PIER LAST
 */
import { writeSync } from "node:fs";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog, SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { intoOvum, killTestChange, nowOf } from "./mars-test-support.ts";

const [pier, lastText] = process.argv.slice(2);
const last = Number(lastText);

/** Written synchronously: a line is in the pipe before the step it announces begins, even if a
 * SIGKILL comes next (process.stdout.write may still hold it in a buffer). */
function say(line: string): void {
  writeSync(1, line + "\n");
}

const log = await EventLog.open(pier);
const { kernel, eve: start, mug } = await restore({ log, snapshots: new SnapshotStore(pier), createKernel: createFileStoreKernel });
for (const w of log.warnings) process.stderr.write(`warning: ${w}\n`);
say(`ready ${start} ${mug.toString(16)}`);
for (let eve = start + 1; eve <= last; eve++) {
  const ovum = intoOvum(killTestChange(eve));
  const result = kernel.poke(nowOf(eve), ovum);
  if (!result.ok) throw new Error(`event ${eve} was rejected`);
  kernel.commit(result);
  say(`begin ${eve}`);
  await log.append({ eve, mug: kernel.mug(), now: nowOf(eve), ovum });
  say(`durable ${eve}`);
}
await log.close();
say("done");
