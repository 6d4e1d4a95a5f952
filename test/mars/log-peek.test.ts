/**
 * mars's answers to the log peeks (src/mars/log-peek.ts): the mug and INFO it stored with each
 * event, read from its own log, which is how urth learns them (it never opens the log).
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readEventInfo } from "../../src/ipc/event-info.ts";
import { goofToText } from "../../src/ipc/goof.ts";
import { logPeekPath, PEEK_MARK, peekPath } from "../../src/ipc/peek-path.ts";
import { pathToNoun, readList } from "../../src/ipc/shape.ts";
import { createFileStoreKernel } from "../../src/mars/kernel/index.ts";
import { EventLog } from "../../src/mars/log/index.ts";
import { answerLogPeek } from "../../src/mars/log-peek.ts";
import { appendEvents, removeTempPiers, smallChange, tempPier } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

describe("mars's log peeks", () => {
  test("/plea/mug and /plea/log answer what the log holds for each event, ~ or nothing past its end", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    try {
      const mugs = await appendEvents(log, createFileStoreKernel(), 1, 12, smallChange, 4);
      for (const eve of [1, 7, 12]) {
        expect(await answerLogPeek(log, logPeekPath({ kind: "mug", eve }))).toEqual({ type: "peek", ok: true, result: { mark: PEEK_MARK.mug, noun: mugs.get(eve)! } });
      }
      expect(await answerLogPeek(log, logPeekPath({ kind: "mug", eve: 13 }))).toEqual({ type: "peek", ok: true, result: null });

      const infosOf = async (from: number, to: number) => {
        const g = await answerLogPeek(log, logPeekPath({ kind: "log", from, to }));
        if (!g.ok || g.result === null) throw new Error(`no INFO for ${from}..${to}`);
        expect(g.result.mark).toBe(PEEK_MARK.log);
        return readList(g.result.noun, "INFO").map((n) => readEventInfo(n));
      };
      const some = await infosOf(3, 5);
      expect(some).toEqual(log.info(3, 5));
      expect(some.map((i) => [i.eve, i.kind, i.path])).toEqual([
        [3, "into", "pipe"],
        [4, "into", "pipe"],
        [5, "into", "pipe"],
      ]);
      // A range past the end gives what there is; one wholly past it gives nothing.
      expect((await infosOf(10, 20)).map((i) => i.eve)).toEqual([10, 11, 12]);
      expect(await infosOf(13, 20)).toEqual([]);

      // Appended later: the next peek sees it (mars answers after the append is durable).
      await appendEvents(log, createFileStoreKernel(), 13, 13, () => [{ path: "late/txt", bytes: "late" }]);
      expect((await infosOf(13, 13)).map((i) => i.eve)).toEqual([13]);
    } finally {
      await log.close();
    }
  });

  test("a malformed /plea path is a %bad-peek goof, not a crash", async () => {
    const pier = tempPier();
    const log = await EventLog.open(pier);
    try {
      const cases = [
        [pathToNoun(["plea", "mug", "x"]), /^%bad-peek: the EVE of a \/plea peek is an event number/],
        [pathToNoun(["plea", "log", "2", "1"]), /^%bad-peek: \/plea\/log\/FROM\/TO names no events/],
        [pathToNoun(["plea"]), /^%bad-peek: a \/plea peek path is/],
        [pathToNoun(["plea", "mug", "1", "2"]), /^%bad-peek: a \/plea peek path is/],
        [pathToNoun(["plea", "du", "x"]), /^%bad-peek: a \/plea peek path is/],
        [pathToNoun(["plea", "at", "0", "x", "base"]), /^%bad-peek: the EVE of a \/plea peek is an event number/],
        [pathToNoun(["plea", "at", "3"]), /^%bad-peek: \/plea\/at\/EVE is followed by a kernel path/],
        // mars routes only /plea paths here; another one is refused all the same.
        [peekPath("x", "base", ["a", "txt"]), /^%bad-peek: a \/plea peek path starts with %plea/],
      ] as const;
      for (const [path, message] of cases) {
        const g = await answerLogPeek(log, path);
        expect(g.ok).toBe(false);
        if (!g.ok) expect(goofToText(g.goof)).toMatch(message);
      }
    } finally {
      await log.close();
    }
  });
});
