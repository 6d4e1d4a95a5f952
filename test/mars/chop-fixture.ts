/**
 * A chop to be SIGKILLed (chop-kill.test.ts): restores the pier as mars does, prints
 * `ready EVE MUG`, then chops with KEEP, printing `step NAME` after each step (retention.ts
 * `ChopStep`). At the COUNT-th `step PAUSE` it stops (sleeps) so that the kill lands exactly there;
 * events are removed 3 per transaction so that a kill can fall between batches. Prints `done`.
 *
 *   bun chop-fixture.ts PIER KEEP PAUSE COUNT
 */
import { writeSync } from "node:fs";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { SnapshotStore } from "../../src/mars/log/index.ts";
import { restore } from "../../src/mars/restore.ts";
import { chop } from "../../src/mars/retention.ts";
import { openChopLog, saveSnapshot } from "./chop-support.ts";

const [pier, keepText, pause, countText] = process.argv.slice(2);
const count = Number(countText ?? 1);

function say(line: string): void {
  writeSync(1, line + "\n");
}

const log = await openChopLog(pier);
const snapshots = new SnapshotStore(pier);
const { kernel, eve, mug } = await restore({ log, snapshots, createKernel: createFileStoreKernel });
say(`ready ${eve} ${mug.toString(16)}`);
let seen = 0;
await chop(
  {
    log,
    snapshots,
    state: kernel.state,
    currentState: () => kernel.state,
    saveSnapshot: () => saveSnapshot(log, snapshots, kernel),
    eventBatchKeys: 3,
    onStep: (step) => {
      say(`step ${step}`);
      if (step === pause && ++seen === count) {
        say("paused");
        // The parent kills here; a minute is long past any test's patience.
        Bun.sleepSync(60_000);
      }
    },
  },
  Number(keepText),
);
await log.close();
say("done");
