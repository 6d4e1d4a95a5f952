/**
 * Opens a pier's event log read-only while another process appends to it, and waits until it
 * sees event `target`: LMDB's readers in other processes see each commit of the writer.
 * Prints one JSON line ({ eve, infos, firstKind, mugNonzero }) and exits 0; exits 2 if the event
 * never shows up within the deadline.
 *
 *   bun log-reader-fixture.ts PIER TARGET
 */
import { EventLog } from "../../src/mars/log/index.ts";

const [pier, targetText] = process.argv.slice(2);
const target = Number(targetText);
const DEADLINE_MS = 30_000;

const log = await EventLog.open(pier, { readOnly: true });
const started = Date.now();
let eve = log.eve;
while (eve < target) {
  if (Date.now() - started > DEADLINE_MS) {
    console.error(`reader: saw only event ${eve} of ${target}`);
    process.exit(2);
  }
  await Bun.sleep(10);
  eve = log.eve;
}
const infos = log.info(1, eve);
console.log(JSON.stringify({ eve, infos: infos.length, firstKind: infos[0]?.kind, mugNonzero: log.mugAt(eve) !== 0 }));
await log.close();
