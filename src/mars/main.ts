/**
 * The mars process: `bun src/mars/main.ts --pier DIR [--snap-time SECONDS]`, spawned by urth
 * (src/urth/mars-process.ts); `--snap-time` turns on timed snapshots (snapshot-schedule.ts).
 *
 * Newt frames on stdin (tasks) and stdout (gifts); everything else goes to stderr, so nothing
 * can corrupt the frame stream (console.log is pointed at stderr too). At start: open the log,
 * restore the newest good snapshot and replay the rest, rebuild the read view if it is not at the
 * log's last event (view-rebuild.ts), send `%ripe`. Then tasks strictly in order
 * (src/mars/mars.ts). On EOF (urth is gone) or `%exit`: remove any plea segment still waiting,
 * close the log, exit 0. A task it cannot parse: say so on stderr, clean up, exit 1, as vere.
 * A log it refuses at start: one line on stderr, exit 7; another mars on the log: exit 3
 * (exit-status.ts). SIGINT, SIGTERM and SIGHUP are ignored: urth alone stops mars.
 */
import { parseArgs } from "node:util";
import { isPleaError } from "../error.ts";
import { cueFrame, FrameReader } from "../ipc/frame-reader.ts";
import { FrameWriter, type ByteSink } from "../ipc/frame-writer.ts";
import { giftToNoun } from "../ipc/gift.ts";
import { atomFromBytes } from "../noun/index.ts";
import { segmentNamespace } from "../pier/segment-namespace.ts";
import { createFileStoreKernel } from "./kernel/file-store.ts";
import { EventLog } from "./log/event-log.ts";
import { restore } from "./restore.ts";
import { rebuildViewIfStale } from "./view-rebuild.ts";
import { SnapshotStore } from "./log/snapshot.ts";
import { Mars } from "./mars.ts";
import { SNAP_TIME_SECONDS_MAX } from "./snapshot-schedule.ts";
import { MarsErrorCode } from "./errors.ts";
import { exitStatusOf, MarsExitStatus } from "./exit-status.ts";
import { wallMs } from "../wall-clock.ts";

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

// urth alone stops mars (`%exit`, or EOF when urth is gone). A terminal's Ctrl-C, a hang-up or a
// `kill` of the whole process group reaches mars too, and mars dying mid-event made `urth run`
// exit 4 instead of finishing the commit in flight: these signals are ignored here. SIGKILL still
// ends mars, and its log is safe against that (docs/event-log.md).
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});

// stdout carries frames only.
console.log = (...args: unknown[]) => say(args.map(String).join(" "));
console.info = console.log;

/** `--snap-time`: whole seconds, 0 (no timer) to SNAP_TIME_SECONDS_MAX; undefined if malformed. */
function parseSnapTime(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= SNAP_TIME_SECONDS_MAX ? n : undefined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { pier: { type: "string" }, "snap-time": { type: "string" } }, strict: true });
  const snapTime = values["snap-time"] === undefined ? 0 : parseSnapTime(values["snap-time"]);
  if (!values.pier || snapTime === undefined) {
    say(`usage: mars --pier DIR [--snap-time SECONDS] (mars is started by urth; --snap-time is a whole number, 0 to ${SNAP_TIME_SECONDS_MAX})`);
    return 2;
  }
  const pier = values.pier;
  const writer = new FrameWriter(Bun.stdout.writer() as unknown as ByteSink, { name: "mars's stdout" });
  const log = await EventLog.open(pier);
  const snapshots = new SnapshotStore(pier);
  const restored = await restore({ log, snapshots, createKernel: createFileStoreKernel });
  for (const w of restored.warnings) say(w);
  if (restored.replayed > 0) say(`replayed ${restored.replayed} events (from snapshot ${restored.snapshotEve}) to event ${restored.eve}`);
  const rebuilt = await rebuildViewIfStale(log, restored.kernel);
  if (rebuilt !== undefined && restored.eve > 0) say(`rebuilt the read view at event ${restored.eve} (${rebuilt} files)`);
  await writer.send(giftToNoun({ type: "ripe", kel: 0, who: atomFromBytes(log.meta.who), fake: log.meta.fake, eve: restored.eve, mug: restored.mug }));

  const mars = new Mars({
    kernel: restored.kernel,
    log,
    snapshots,
    policy: restored.policy,
    writer,
    namespace: segmentNamespace(pier),
    shmDir: process.env.PLEA_SHM_DIR || undefined,
    eve: restored.eve,
    onLog: say,
    blobs: log.store,
    snapTimeMs: snapTime * 1000,
  });
  const reader = new FrameReader(Bun.stdin.stream(), { name: "mars's stdin" });
  let status = 0;
  try {
    for (let frame = await reader.next(); frame !== undefined; frame = await reader.next()) {
      const noun = await cueFrame(frame);
      const task = Mars.parse(noun);
      if ((await mars.handle(task, wallMs())) === "exit") break;
    }
  } catch (e) {
    say(isPleaError(e, MarsErrorCode.badTask) ? e.message : `mars: ${(e as Error).message}`);
    status = 1;
  } finally {
    mars.shutdown();
    // A timed snapshot still being written finishes before the log closes (its blobs are the log's).
    await mars.snapshotSettled();
  }
  await mars.settled();
  await writer.close();
  await log.close();
  return status;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    // One line for the operator (urth shows it as `mars: ...`, or as its own message when mars
    // refuses the log); the stack only with PLEA_DEBUG=1.
    const status = exitStatusOf(e);
    say(process.env.PLEA_DEBUG === "1" ? `${(e as Error)?.stack ?? String(e)}` : `${(e as Error)?.message ?? String(e)}`);
    process.exit(status);
  },
);
