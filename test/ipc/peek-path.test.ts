/**
 * The peek paths both processes use (src/ipc/peek-path.ts) and the INFO mars answers a log peek
 * with (src/ipc/event-info.ts): what one side builds the other reads back, and a path or an INFO
 * from a hostile peer is a protocol error (`IpcErrorCode.protocol`), never a TypeError.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { EVENT_INFO_BYTES_MAX, eventInfoFromJson, eventInfoToNoun, readEventInfo, type EventInfo } from "../../src/ipc/event-info.ts";
import { hex } from "./random.ts";
import { isLogPeekPath, LOG_PEEK_EVENTS_MAX, logPeekPath, parseLogPeekPath, peekPath, type LogPeek } from "../../src/ipc/peek-path.ts";
import { pathFromNoun, pathToNoun } from "../../src/ipc/shape.ts";
import { atomFromBytes, cell, cord, cordToString, cue, jam, list, type BigAtom, type Noun } from "../../src/noun/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function protocolError(f: () => unknown): PleaError {
  try {
    f();
  } catch (e) {
    if (isPleaError(e, IpcErrorCode.protocol)) return e;
    throw e;
  }
  throw new Error("expected a protocol error");
}

describe("log peek paths", () => {
  test("what logPeekPath builds, parseLogPeekPath reads back, through jam and cue", () => {
    const peeks: LogPeek[] = [
      { kind: "mug", eve: 1 },
      { kind: "mug", eve: Number.MAX_SAFE_INTEGER },
      { kind: "log", from: 1, to: 1 },
      { kind: "log", from: 7, to: 7 + LOG_PEEK_EVENTS_MAX - 1 },
      { kind: "du" },
      { kind: "at", eve: 3, path: peekPath("x", "base", ["a", "txt"]) },
      { kind: "at", eve: 1, path: peekPath("t", "base") },
    ];
    for (const p of peeks) {
      const path = cue(jam(logPeekPath(p)));
      expect(isLogPeekPath(path)).toBe(true);
      const back = parseLogPeekPath(path);
      // A kernel path is compared by value (jam), not by the cached hashes jam leaves on cells.
      if (back.kind === "at" && p.kind === "at") expect([back.eve, hex(jam(back.path))]).toEqual([p.eve, hex(jam(p.path))]);
      else expect(back).toEqual(p);
    }
    expect(pathFromNoun(logPeekPath({ kind: "log", from: 12, to: 40 }))).toEqual(["plea", "log", "12", "40"]);
    expect(pathFromNoun(logPeekPath({ kind: "du" }))).toEqual(["plea", "du"]);
    expect(pathFromNoun(logPeekPath({ kind: "at", eve: 9, path: peekPath("x", "base", ["a", "txt"]) }))).toEqual(["plea", "at", "9", "x", "base", "a", "txt"]);
  });

  test("the kernel's paths are not log peeks", () => {
    for (const p of [peekPath("x", "base", ["a", "txt"]), peekPath("t", "base"), peekPath("d", "plea"), 0, cord("plea")]) expect(isLogPeekPath(p)).toBe(false);
  });

  test("every malformed /plea path is a protocol error that says what is wrong", () => {
    const cases: [Noun, RegExp][] = [
      [pathToNoun(["plea"]), /\/plea\/mug\/EVE, \/plea\/log\/FROM\/TO/],
      [pathToNoun(["plea", "mug"]), /\/plea\/mug\/EVE, \/plea\/log/],
      [pathToNoun(["plea", "mug", "1", "2"]), /\/plea\/mug\/EVE, \/plea\/log/],
      [pathToNoun(["plea", "log", "1"]), /\/plea\/mug\/EVE, \/plea\/log/],
      [pathToNoun(["plea", "log", "1", "2", "3"]), /\/plea\/mug\/EVE, \/plea\/log/],
      [pathToNoun(["plea", "sin", "1"]), /\/plea\/mug\/EVE, \/plea\/log/],
      [cell(cord("plea"), cell(cord("mug"), cell(cord("1"), 7))), /\/plea\/mug\/EVE, \/plea\/log/],
      [pathToNoun(["plea", "mug", "0"]), /EVE of a \/plea peek is an event number from 1/],
      [pathToNoun(["plea", "mug", "012"]), /got "012"/],
      [pathToNoun(["plea", "mug", "-1"]), /got "-1"/],
      [pathToNoun(["plea", "mug", "1e3"]), /got "1e3"/],
      [pathToNoun(["plea", "mug", "9007199254740992"]), /got "9007199254740992"/],
      [pathToNoun(["plea", "mug", "12345678901234567"]), /decimal knot; got an atom of 17 bytes/],
      [list([cord("plea"), cord("mug"), cell(1, 2)]), /decimal knot; got a cell/],
      [list([cord("plea"), cord("mug"), atomFromBytes(new Uint8Array(1 << 20).fill(0x31))]), /decimal knot; got an atom of 1048576 bytes/],
      [pathToNoun(["plea", "log", "5", "4"]), /TO 4 is below FROM 5/],
      [pathToNoun(["plea", "du", "1"]), /\/plea\/du or \/plea\/at/],
      [pathToNoun(["plea", "at", "3"]), /\/plea\/at\/EVE is followed by a kernel path/],
      [cell(cord("plea"), cell(cord("at"), cell(cord("3"), 5))), /\/plea\/at\/EVE is followed by a kernel path/],
      [pathToNoun(["plea", "at", "x", "x", "base"]), /EVE of a \/plea peek is a|EVE of a \/plea peek is an event number/],
      [pathToNoun(["plea", "log", "1", String(LOG_PEEK_EVENTS_MAX + 1)]), new RegExp(`names ${LOG_PEEK_EVENTS_MAX + 1} events; one peek names at most ${LOG_PEEK_EVENTS_MAX}`)],
    ];
    for (const [path, message] of cases) expect(protocolError(() => parseLogPeekPath(path)).message).toMatch(message);
  });
});

describe("an event's INFO over the protocol", () => {
  const info: EventInfo = {
    eve: 42,
    timeMs: 1_700_000_000_123,
    kind: "into",
    jamBytes: 123_456,
    path: "plea",
    storage: "blob",
    detail: { arrivedAtMs: 1_700_000_000_100.25, decodeMs: 0.123456789012345, applyMs: 3.5, note: "ünïcode" },
  };

  test("is read back exactly, fractional timings included, and prints the same JSON", () => {
    const back = readEventInfo(cue(jam(eventInfoToNoun(info))));
    expect(back).toEqual(info);
    expect(JSON.stringify(back)).toBe(JSON.stringify(info));
    const plain: EventInfo = { eve: 1, timeMs: 0, kind: "?", jamBytes: 9, path: "pipe", storage: "inline" };
    expect(JSON.stringify(readEventInfo(eventInfoToNoun(plain)))).toBe(JSON.stringify(plain));
    // Fields in another order come back in the one order `urth log --json` prints.
    const shuffled = { storage: "inline", path: "pipe", jamBytes: 9, kind: "?", timeMs: 0, eve: 1 };
    expect(JSON.stringify(eventInfoFromJson(shuffled))).toBe(JSON.stringify(plain));
  });

  test("a wrong INFO from the peer is a protocol error naming the field", () => {
    const text = (o: unknown) => cord(JSON.stringify(o));
    const cases: [Noun, RegExp][] = [
      [cell(1, 2), /expected a cord/],
      [atomFromBytes(new Uint8Array(EVENT_INFO_BYTES_MAX + 1).fill(0x20)), /at most 65536 bytes, got an atom of 65537 bytes/],
      [cord("{not json"), /not JSON/],
      [text([1, 2]), /expected an object/],
      [text({ ...info, eve: 0 }), /"eve" is not an event number/],
      [text({ ...info, eve: 1.5 }), /"eve" is not an event number/],
      [text({ ...info, timeMs: "now" }), /"timeMs" is not a number/],
      [text({ ...info, kind: 7 }), /"kind" is not a string/],
      [text({ ...info, jamBytes: null }), /"jamBytes" is not a number/],
      [text({ ...info, path: "ftp" }), /"path" is neither "pipe" nor "plea"/],
      [text({ ...info, storage: "disk" }), /"storage" is neither "inline" nor "blob"/],
      [text({ ...info, detail: [1] }), /"detail" is not an object/],
      [text({ ...info, detail: { a: { b: 1 } } }), /detail "a" is neither a string nor a number/],
    ];
    for (const [noun, message] of cases) expect(protocolError(() => readEventInfo(noun)).message).toMatch(message);
    expect(cordToString(eventInfoToNoun(info) as BigAtom)).toBe(JSON.stringify(info));
  });
});
