/**
 * `urth log`, `urth status`'s mug and `urth commit --json`'s mars-side phases come from mars's
 * log through mars (`/plea/...` peeks): urth never opens the log. They print what the log holds,
 * exactly as reading it directly would, page by page for a long log, and through the control
 * socket beside a running urth.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventInfo } from "../../src/ipc/event-info.ts";
import { LOG_PEEK_EVENTS_MAX } from "../../src/ipc/peek-path.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog } from "../../src/mars/log/index.ts";
import { LogLines } from "../../src/urth/log-view.ts";
import { appendEvents, smallChange } from "../mars/mars-test-support.ts";
import { cleanUp, leftoverSegments, startRun, tempPier, urth } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** What the log itself holds (the test reads it directly; urth must print the same). */
async function logged(pier: string): Promise<{ infos: EventInfo[]; mug: number }> {
  const log = await EventLog.open(pier);
  try {
    return { infos: log.info(), mug: log.mugAt() };
  } finally {
    await log.close();
  }
}

describe("urth log and status, through mars", () => {
  test("a log longer than one peek's page prints as the log holds it, alone and beside a running urth", async () => {
    const { pier, mount } = tempPier();
    expect(await urth(["commit", "--pier", pier])).toEqual({ code: 0, stdout: "nothing to commit\n", stderr: "" });
    // Events written into mars's log as mars writes them: more than one page of INFO.
    const events = LOG_PEEK_EVENTS_MAX + 205;
    const log = await EventLog.open(pier);
    let mugs: Map<number, number>;
    try {
      mugs = await appendEvents(log, createFileStoreKernel(), 1, events, smallChange, 50);
    } finally {
      await log.close();
    }
    const before = await logged(pier);
    expect(before.infos).toHaveLength(events);

    const all = await urth(["log", "--json", "--pier", pier]);
    expect(all).toEqual({ code: 0, stdout: JSON.stringify(before.infos) + "\n", stderr: "" });
    const limited = await urth(["log", "--json", "--limit", String(LOG_PEEK_EVENTS_MAX + 1), "--pier", pier]);
    expect(limited.stdout).toBe(JSON.stringify(before.infos.slice(-(LOG_PEEK_EVENTS_MAX + 1))) + "\n");
    const text = await urth(["log", "--limit", "2", "--pier", pier]);
    expect(text.stdout.split("\n").filter((l) => l !== "").map((l) => l.trim().split(/\s+/)[0])).toEqual([String(events - 1), String(events)]);
    expect(text.stdout).toMatch(/^ +\d+ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}into +\d+ B {2}pipe\n/);
    const status = JSON.parse((await urth(["status", "--json", "--pier", pier])).stdout);
    expect(status).toMatchObject({ eve: events, mug: mugs.get(events)!, running: false });

    // A running urth answers through its socket: its first commit deletes the files the mount lacks.
    const run = await startRun(pier);
    await run.waitForLine("stdout", new RegExp(`^event ${events + 1}: 0 added, 0 changed, 37 deleted`), "the first commit");
    const [viaSocket, lastTwo, runningStatus] = await Promise.all([
      urth(["log", "--json", "--pier", pier]),
      urth(["log", "--json", "--limit", "2", "--pier", pier]),
      urth(["status", "--json", "--pier", pier]),
    ]);
    run.proc.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
    const after = await logged(pier);
    expect(after.infos).toHaveLength(events + 1);
    expect(viaSocket).toEqual({ code: 0, stdout: JSON.stringify(after.infos) + "\n", stderr: "" });
    expect(lastTwo.stdout).toBe(JSON.stringify(after.infos.slice(-2)) + "\n");
    expect(JSON.parse(runningStatus.stdout)).toMatchObject({ eve: events + 1, mug: after.mug, running: true });

    // commit --json's mars-side phases are the event's INFO, as mars stored it.
    writeFileSync(join(mount, "new.txt"), "new\n");
    const commit = await urth(["commit", "--json", "--pier", pier]);
    const summary = JSON.parse(commit.stdout);
    expect(summary.eve).toBe(events + 2);
    const info = (await logged(pier)).infos.at(-1)!;
    const d = info.detail as Record<string, number>;
    expect(summary.phases).toMatchObject({ decodeMs: d.decodeMs, applyMs: d.applyMs });
    expect(summary.phases.persistMs).toBeGreaterThan(0);
    expect(typeof summary.phases.deliveryMs).toBe("number");
  }, 180_000);
});

describe("the log's lines through the control socket", () => {
  const info = (eve: number): EventInfo => ({ eve, timeMs: 1_700_000_000_000 + eve, kind: "into", jamBytes: 100 + eve, path: "pipe", storage: "inline", detail: { applyMs: 0.25 * eve, note: "é" } });
  const enc = new TextEncoder();
  const stream = (infos: EventInfo[], end: string) => enc.encode(infos.map((i) => JSON.stringify(i) + "\n").join("") + end);

  test("arrive whole however the bytes are split, even inside a character", () => {
    const bytes = stream([info(1), info(2), info(3)], '{"end":3}\n');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines = new LogLines();
      lines.push(bytes.subarray(0, cut));
      lines.push(bytes.subarray(cut));
      expect(lines.end()).toEqual([info(1), info(2), info(3)]);
    }
    const none = new LogLines();
    none.push(enc.encode('{"end":0}\n'));
    expect(none.end()).toEqual([]);
  });

  test("a holder that stops part-way, fails, or miscounts is an error, never a short list", () => {
    const outcome = (bytes: Uint8Array) => {
      const lines = new LogLines();
      try {
        lines.push(bytes);
        return lines.end();
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(outcome(stream([info(1), info(2)], ""))).toBe("The running urth stopped after 2 events of the log; run log again");
    expect(outcome(stream([info(1), info(2)], '{"end":2}'))).toBe("The running urth stopped after 2 events of the log; run log again");
    expect(outcome(stream([info(1)], '{"ok":false,"code":"peek_failed","message":"mars is gone"}\n'))).toBe("The running urth failed while sending the log: mars is gone");
    expect(outcome(stream([info(1)], '{"end":2}\n'))).toBe("The running urth sent 1 events of the log and counted 2; run log again");
    expect(outcome(stream([info(1)], '{"end":1}\n{"end":1}\n'))).toBe("The running urth sent more after the end of the log");
    expect(outcome(stream([info(1)], "[oops\n"))).toBe("The running urth sent a log line that is not JSON");
    expect(outcome(stream([info(1)], '{"eve":"2"}\n'))).toMatch(/^Log line 2: /);
  });
});
