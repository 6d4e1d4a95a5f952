/**
 * `urth run`: hold the pier, commit the mount now and after every quiet period that follows a
 * change, until Ctrl-C, SIGTERM, SIGHUP (the terminal closed) or `urth stop`; then finish the
 * commit in flight, ask mars to exit, and leave nothing in /dev/shm.
 *
 * Changes are noticed with a recursive fs.watch (inotify) and coalesced: a commit starts
 * `--debounce` ms after the last change; changes during a commit schedule the next one.
 */
import { watch, type FSWatcher } from "node:fs";
import { ExitCode, parseBytes, parseCount, parseShmKindOption } from "../cli.ts";
import { controlHandler } from "../control-handler.ts";
import { exitCodeFor, exitCodeForMars } from "../exit-code.ts";
import { commitLine, skippedLines } from "../format.ts";
import { resolvePierDir } from "../pier.ts";
import { commitProgress } from "../progress.ts";
import { Session } from "../session.ts";
import { sweptLines } from "./common.ts";

/** Quiet period after the last change before a commit starts. */
export const DEBOUNCE_MS_DEFAULT = 1000;

/**
 * The longest quiet period: setTimeout's limit (a signed 32-bit count of ms, about 24.8 days).
 * A longer delay is not refused by the timer but silently becomes 1 ms.
 */
export const DEBOUNCE_MS_MAX = 2 ** 31 - 1;

/**
 * Seconds between mars's timed snapshots (docs/event-log.md, "Snapshot policy", says why 60).
 */
export const SNAP_TIME_SECONDS_DEFAULT = 60;

/** The longest `--snap-time`: setInterval's limit (a signed 32-bit count of ms), in whole seconds. */
export const SNAP_TIME_SECONDS_MAX = Math.floor((2 ** 31 - 1) / 1000);

/** Signals that stop `run` cleanly: Ctrl-C, `kill`, and the terminal going away. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export async function runCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const threshold = values["plea-threshold"] === undefined ? undefined : parseBytes("plea-threshold", values["plea-threshold"] as string);
  const stageBytesMin = values["stage-threshold"] === undefined ? undefined : parseBytes("stage-threshold", values["stage-threshold"] as string);
  const shmKind = parseShmKindOption(values["shm-kind"]);
  const debounceMs = values.debounce === undefined ? DEBOUNCE_MS_DEFAULT : parseCount("debounce", values.debounce as string, DEBOUNCE_MS_MAX, "the timer's limit, about 24.8 days");
  const snapTimeSeconds = values["snap-time"] === undefined ? SNAP_TIME_SECONDS_DEFAULT : parseCount("snap-time", values["snap-time"] as string, SNAP_TIME_SECONDS_MAX, "the timer's limit, about 24.8 days");
  let stopRequested: () => void = () => {};
  let stopping = false;
  const stopped = new Promise<void>((r) => (stopRequested = () => {
    stopping = true;
    r();
  }));
  // Taken before mars starts: a signal during start-up (a long replay) stops urth once it is up,
  // rather than killing it with mars still starting. SIGHUP's default would end urth at once,
  // leaving the socket file, a mars without its urth, and the commit in flight unanswered.
  const onSignal = () => stopRequested();
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const offSignals = () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
  let session: Session | undefined;
  let s: Session;
  try {
    s = await Session.open(root, { pleaThresholdBytes: threshold, stageBytesMin, shmKind, snapTimeSeconds, control: controlHandler(() => session, () => stopRequested()), onStop: () => stopRequested() });
  } catch (e) {
    offSignals();
    throw e;
  }
  session = s;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  for (const line of sweptLines(s.sweptAtStart)) say(line);
  say(`urth: pier ${root} at event ${s.mars.eve}; watching ${s.paths.mount} (stop with Ctrl-C or "urth stop")`);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  let again = false;
  /** The exit status a mars that died mid-commit calls for (exit-code.ts), once it has. */
  let failed: number | undefined;
  const reported = new Set<string>();
  const commitNow = (): void => {
    // Once stopping, only the commit in flight is finished; a timer that fires now starts nothing.
    if (stopping) return;
    if (inFlight) {
      again = true;
      return;
    }
    const progress = commitProgress();
    inFlight = s
      .commit({ onProgress: progress.onProgress })
      .then(
        (summary) => {
          progress.done();
          // Each skipped name is reported once per run, not on every commit.
          for (const line of skippedLines(summary)) {
            if (reported.has(line)) continue;
            reported.add(line);
            say(line);
          }
          if (summary.eve !== undefined) process.stdout.write(`${commitLine(summary)}\n`);
        },
        (e) => {
          progress.done();
          say(`commit failed: ${(e as Error).message}`);
          if ((e as { code?: string }).code?.startsWith("mars_")) {
            failed = exitCodeFor(e);
            stopRequested();
          }
        },
      )
      .finally(() => {
        inFlight = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const schedule = (): void => {
    if (stopping) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(commitNow, debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(s.paths.mount, { recursive: true }, () => schedule());
  } catch (e) {
    say(`urth: cannot watch ${s.paths.mount}: ${(e as Error).message}`);
    await s.close();
    return 1;
  }
  commitNow();
  let marsDied = false;
  void s.mars.exited.then((code) => {
    if (stopping) return;
    marsDied = true;
    say(`urth: mars exited unexpectedly (status ${code}) while urth was running; stopping. Start urth again to resume from the last durable event`);
    stopRequested();
  });
  await stopped;
  say("urth: stopping");
  watcher.close();
  if (timer) clearTimeout(timer);
  await inFlight;
  const code = await s.close();
  offSignals();
  if (failed !== undefined) return failed;
  if (marsDied || (s.mars.dead && code !== 0)) return exitCodeForMars(code);
  return ExitCode.ok;
}
