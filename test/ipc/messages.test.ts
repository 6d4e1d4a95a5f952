import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { CHOP_REPORT_BYTES_MAX, giftToNoun, parseGift, type Gift } from "../../src/ipc/gift.ts";
import { goofToText, tankToText } from "../../src/ipc/goof.ts";
import { frame } from "../../src/ipc/newt.ts";
import { pathFromNoun, pathToNoun } from "../../src/ipc/shape.ts";
import { TAG } from "../../src/ipc/tags.ts";
import { CHOP_KEEP_MAX, parseTask, taskToNoun, type Task } from "../../src/ipc/task.ts";
import { cue } from "../../src/noun/cue.ts";
import { jam } from "../../src/noun/jam.ts";
import { atomFromBytes, cell, cord, list, tuple, type Noun } from "../../src/noun/index.ts";
import { FRAME_VECTORS } from "./frame-vectors.ts";
import { GIFT_SAMPLES, TASK_SAMPLES } from "./message-samples.ts";
import { mutate, randomNoun } from "./random-noun.ts";
import { hex, rng } from "./random.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function protocolCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isPleaError(e, IpcErrorCode.protocol)) return e.code;
    throw new Error(`expected a protocol error, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a protocol error, got a message");
}

describe("section-9 frames", () => {
  for (const v of FRAME_VECTORS) {
    test(`${v.name} builds, jams and frames to the reference bytes`, () => {
      const noun = v.direction === "task" ? taskToNoun(v.message) : giftToNoun(v.message);
      expect(hex(frame(jam(noun)))).toBe(v.frame);
    });

    test(`${v.name} parses back from the reference bytes`, () => {
      const body = new Uint8Array(Buffer.from(v.frame.slice(10), "hex"));
      const parsed = v.direction === "task" ? parseTask(cue(body)) : parseGift(cue(body));
      expect(parsed.type).toBe(v.message.type);
      const again = v.direction === "task" ? taskToNoun(parsed as Task) : giftToNoun(parsed as Gift);
      expect(hex(jam(again))).toBe(v.frame.slice(10));
    });
  }
});

describe("round trips", () => {
  test("every task type survives builder -> jam -> cue -> parser", () => {
    const types = new Set<string>();
    for (const t of TASK_SAMPLES) {
      const bytes = jam(taskToNoun(t));
      const back = parseTask(cue(bytes));
      expect(back).toMatchObject({ type: t.type });
      expect(hex(jam(taskToNoun(back)))).toBe(hex(bytes));
      types.add(t.type);
    }
    expect([...types].sort()).toEqual(["bref", "chop", "done", "drop", "exit", "live", "peek", "plea", "poke", "quiz", "sync"]);
  });

  test("every gift type survives builder -> jam -> cue -> parser", () => {
    const types = new Set<string>();
    for (const g of GIFT_SAMPLES) {
      const bytes = jam(giftToNoun(g));
      const back = parseGift(cue(bytes));
      expect(back).toMatchObject({ type: g.type });
      expect(hex(jam(giftToNoun(back)))).toBe(hex(bytes));
      types.add(g.type);
    }
    expect([...types].sort()).toEqual(["chop", "flog", "live", "peek", "plea", "poke", "quiz", "ripe", "slog", "sync"]);
  });

  test("parsed fields carry the values that were built", () => {
    const peek = parseTask(cue(jam(taskToNoun(TASK_SAMPLES[3]))));
    expect(peek).toMatchObject({ type: "peek", mil: 0, gang: 0, request: { kind: "once", care: "x", desk: "base" } });
    if (peek.type === "peek") expect(pathFromNoun(peek.request.path)).toEqual(["foo", "txt"]);
    const meld = parseTask(cue(jam(taskToNoun({ type: "live", kind: "meld", per: true, ford: false }))));
    expect(meld).toEqual({ type: "live", kind: "meld", per: true, ford: false });
    const ripe = parseGift(cue(jam(giftToNoun(GIFT_SAMPLES[1]))));
    expect(ripe).toMatchObject({ type: "ripe", fake: false, eve: Number.MAX_SAFE_INTEGER, mug: 0xffff_ffff });
    const plea = parseGift(cue(jam(giftToNoun(GIFT_SAMPLES[17]))));
    expect(plea).toEqual({ type: "plea", ok: true, name: "/plea-ab12-4242-99-1", length: 300 * 2 ** 20 });
    const fail = parseGift(cue(jam(giftToNoun(GIFT_SAMPLES[19]))));
    expect(fail.type === "plea" && !fail.ok && goofToText(fail.goof)).toBe("%plea-fail: Cannot create segment: ENOSPC");
    const flog = parseGift(cue(jam(giftToNoun(GIFT_SAMPLES[16]))));
    expect(flog).toEqual({ type: "flog", text: "a line on stderr, UTF-8: λ" });
  });

  test("a plea reply named %fail is still a reply, told apart from a failure by its shape", () => {
    expect(parseGift(giftToNoun({ type: "plea", ok: true, name: "fail", length: 1 }))).toEqual({ type: "plea", ok: true, name: "fail", length: 1 });
  });

  test("the memfd plea messages are [%plea %memfd len] and [%plea %memfd fd len]; the seed's [%plea len] and [%plea nam len] are unchanged", () => {
    // Plea's extension: the task and the grant carry the %memfd tag where the seed's have a number or a name.
    expect(taskToNoun({ type: "plea", kind: "memfd", length: 4096 })).toEqual(tuple(TAG.plea, TAG.memfd, 4096));
    expect(parseTask(tuple(TAG.plea, TAG.memfd, 4096))).toEqual({ type: "plea", kind: "memfd", length: 4096 });
    expect(giftToNoun({ type: "plea", ok: true, kind: "memfd", fd: 9, length: 4096 })).toEqual(tuple(TAG.plea, TAG.memfd, 9, 4096));
    expect(parseGift(tuple(TAG.plea, TAG.memfd, 9, 4096))).toEqual({ type: "plea", ok: true, kind: "memfd", fd: 9, length: 4096 });
    // The seed's: byte for byte what they were (kind "named" or absent builds the same noun).
    expect(taskToNoun({ type: "plea", length: 4096 })).toEqual(cell(TAG.plea, 4096));
    expect(taskToNoun({ type: "plea", kind: "named", length: 4096 })).toEqual(cell(TAG.plea, 4096));
    expect(parseTask(cell(TAG.plea, 4096))).toEqual({ type: "plea", length: 4096 });
    expect(giftToNoun({ type: "plea", ok: true, name: "/plea-a-1-2-3", length: 4096 })).toEqual(tuple(TAG.plea, cord("/plea-a-1-2-3"), 4096));
    // A segment named "memfd" is a named grant: after its name comes an atom, not a cell.
    expect(parseGift(tuple(TAG.plea, cord("memfd"), 2))).toEqual({ type: "plea", ok: true, name: "memfd", length: 2 });
  });

  test("Plea's %chop is [%chop keep] and [%chop %.y report] / [%chop %.n goof]; its limits are checked", () => {
    expect(taskToNoun({ type: "chop", keep: 2 })).toEqual(cell(TAG.chop, 2));
    expect(parseTask(cell(TAG.chop, 2))).toEqual({ type: "chop", keep: 2 });
    expect(giftToNoun({ type: "chop", ok: true, report: "{}" })).toEqual(tuple(TAG.chop, 0, cord("{}")));
    expect(protocolCode(() => parseTask(cell(TAG.chop, CHOP_KEEP_MAX + 1)))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseTask(cell(TAG.chop, cell(1, 2))))).toBeDefined();
    const long = atomFromBytes(new Uint8Array(CHOP_REPORT_BYTES_MAX + 1).fill(0x61));
    expect(protocolCode(() => parseGift(tuple(TAG.chop, 0, long)))).toBe(IpcErrorCode.protocol.outOfRange);
  });

  test("%live %meld with an argument vere does not understand means neither per nor ford, as in vere", () => {
    expect(parseTask(tuple(TAG.live, TAG.meld, 0))).toEqual({ type: "live", kind: "meld", per: false, ford: false });
    expect(parseTask(tuple(TAG.live, TAG.meld, 7, 0))).toEqual({ type: "live", kind: "meld", per: false, ford: false });
  });
});

describe("malformed messages", () => {
  test("an unknown head tag is a protocol error naming it", () => {
    expect(protocolCode(() => parseTask(cell(cord("boot"), 0)))).toBe(IpcErrorCode.protocol.unknownTag);
    expect(protocolCode(() => parseGift(cell(cord("work"), 0)))).toBe(IpcErrorCode.protocol.unknownTag);
    try {
      parseTask(cell(cord("boot"), 0));
    } catch (e) {
      expect((e as Error).message).toContain("%boot");
    }
  });

  test("a task is not a gift and a gift is not a task", () => {
    expect(protocolCode(() => parseTask(giftToNoun({ type: "ripe", kel: 0, who: 0, fake: true, eve: 0, mug: 0 })))).toBe(IpcErrorCode.protocol.unknownTag);
    expect(protocolCode(() => parseGift(taskToNoun({ type: "done" })))).toBe(IpcErrorCode.protocol.unknownTag);
  });

  test("wrong shapes are protocol errors that name the field", () => {
    const cases: [Noun, string, string][] = [
      [0, IpcErrorCode.protocol.badShape, "Task"],
      [cell(TAG.poke, 0), IpcErrorCode.protocol.badShape, "Task %poke"],
      [tuple(TAG.poke, 0, 5), IpcErrorCode.protocol.badShape, "ovum"],
      [tuple(TAG.poke, 0, cell(7, cell(1, 2))), IpcErrorCode.protocol.badShape, "wire"],
      [tuple(TAG.poke, 2 ** 32, cell(0, cell(1, 2))), IpcErrorCode.protocol.outOfRange, "mil"],
      [tuple(TAG.poke, cell(1, 1), cell(0, cell(1, 2))), IpcErrorCode.protocol.badShape, "mil"],
      [tuple(TAG.peek, 0, 0, 2, 0), IpcErrorCode.protocol.badShape, "request tag"],
      [tuple(TAG.peek, 0, 5, 0, 0), IpcErrorCode.protocol.badShape, "gang"],
      [tuple(TAG.peek, 0, 0, 1, cord("twice"), 0), IpcErrorCode.protocol.unknownTag, "%peek request"],
      [tuple(TAG.live, TAG.pack, 1), IpcErrorCode.protocol.badShape, "%live %pack"],
      [tuple(TAG.sync, TAG.save, cell(0, 0)), IpcErrorCode.protocol.badShape, "%sync"],
      [tuple(TAG.quiz, TAG.exit, 0), IpcErrorCode.protocol.unknownTag, "%quiz"],
      [cell(TAG.exit, 1), IpcErrorCode.protocol.badShape, "%exit"],
      [cell(TAG.plea, cell(1, 2)), IpcErrorCode.protocol.unknownTag, "%plea"],
      [tuple(TAG.plea, TAG.memfd, cell(1, 2)), IpcErrorCode.protocol.badShape, "%plea %memfd, len"],
      [tuple(TAG.plea, TAG.memfd, atomFromBytes(new Uint8Array(9).fill(1))), IpcErrorCode.protocol.outOfRange, "%plea %memfd, len"],
      [cell(TAG.plea, atomFromBytes(new Uint8Array(9).fill(1))), IpcErrorCode.protocol.outOfRange, "len"],
    ];
    for (const [noun, code, where] of cases) {
      let error: unknown;
      try {
        parseTask(noun);
      } catch (e) {
        error = e;
      }
      expect(isPleaError(error, IpcErrorCode.protocol)).toBe(true);
      expect((error as PleaError).code).toBe(code);
      expect((error as Error).message).toContain(where);
    }
  });

  test("gifts with wrong shapes or out-of-range fields are protocol errors", () => {
    const ripe = (pro: Noun, eve: Noun, mug: Noun, who: Noun = 0): Noun => tuple(TAG.ripe, cell(pro, 0), cell(who, 0), eve, mug);
    expect(protocolCode(() => parseGift(ripe(1, 0, 0)))).toBe(IpcErrorCode.protocol.unsupportedProtocol);
    expect(protocolCode(() => parseGift(ripe(2, 0, 2 ** 32)))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(ripe(2, atomFromBytes(new Uint8Array(8).fill(255)), 0)))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(ripe(2, 0, 0, atomFromBytes(new Uint8Array(17).fill(1)))))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(tuple(TAG.poke, 2, 0)))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.poke, 0, 1, 2)))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.poke, 0, cell(5, 0))))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.peek, 0, cell(1, 2))))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.quiz, TAG.quic, list([cell(TAG.open, 1)]))))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.plea, 0, 5)))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(tuple(TAG.plea, cord("nope"), cell(cord("exit"), 0))))).toBe(IpcErrorCode.protocol.unknownTag);
    // A memfd grant's descriptor is a C int; its length a safe integer.
    expect(protocolCode(() => parseGift(tuple(TAG.plea, TAG.memfd, 2 ** 31, 5)))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(tuple(TAG.plea, TAG.memfd, cell(1, 2), 5)))).toBe(IpcErrorCode.protocol.badShape);
    expect(protocolCode(() => parseGift(tuple(TAG.plea, TAG.memfd, 3, atomFromBytes(new Uint8Array(9).fill(1)))))).toBe(IpcErrorCode.protocol.outOfRange);
    expect(protocolCode(() => parseGift(tuple(TAG.peek, 1, cell(atomFromBytes(new Uint8Array(300).fill(65)), 0))))).toBe(IpcErrorCode.protocol.outOfRange);
  });

  test("a list of a million effects parses without deep recursion", () => {
    const effects = Array.from({ length: 1_000_000 }, () => cell(0, cell(TAG.live, 0)));
    const g = parseGift(tuple(TAG.poke, 0, list(effects)));
    expect(g.type === "poke" && g.ok && g.effects.length).toBe(1_000_000);
  });

  test("random nouns only ever parse to a message or a protocol error (fuzz, 20000 nouns)", () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = rng(seed);
      const n = randomNoun(r);
      for (const parse of [parseTask, parseGift]) {
        try {
          parse(n);
        } catch (e) {
          if (!isPleaError(e, IpcErrorCode.protocol)) throw new Error(`seed ${seed}: ${String(e)}`, { cause: e });
        }
      }
    }
  });

  test("valid messages with one random subtree replaced only ever parse or give a protocol error (fuzz)", () => {
    let seed = 0;
    for (let round = 0; round < 500; round++) {
      for (const [nouns, parse] of [
        [TASK_SAMPLES.map(taskToNoun), parseTask],
        [GIFT_SAMPLES.map(giftToNoun), parseGift],
      ] as const) {
        for (const n of nouns) {
          const r = rng(++seed);
          const m = mutate(r, n);
          try {
            const parsed = parse(m);
            // What parses must rebuild without error.
            if (parse === parseTask) taskToNoun(parsed as Task);
            else giftToNoun(parsed as Gift);
          } catch (e) {
            if (!isPleaError(e, IpcErrorCode.protocol)) throw new Error(`seed ${seed}: ${String(e)}`, { cause: e });
          }
        }
      }
    }
  });
});

describe("tanks and paths", () => {
  test("tanks render cords, leaves, roses and palms on one line", () => {
    const tape = (s: string): Noun => list(Array.from(new TextEncoder().encode(s)));
    expect(tankToText(cord("plain"))).toBe("plain");
    expect(tankToText(cell(cord("leaf"), tape("a leaf")))).toBe("a leaf");
    const rose = tuple(cord("rose"), tuple(tape(" "), tape("["), tape("]")), list([cord("a"), cell(cord("leaf"), tape("b"))]));
    expect(tankToText(rose)).toBe("[a b]");
    const palm = tuple(cord("palm"), tuple(tape("/"), tape("<"), tape(">"), tape("")), list([cord("x"), cord("y")]));
    expect(tankToText(palm)).toBe("<x/y>");
  });

  test("a tank nested a million deep renders without recursion", () => {
    let t: Noun = cord("core");
    const empty = tuple(0, 0, 0);
    for (let i = 0; i < 1_000_000; i++) t = tuple(cord("rose"), empty, list([t]));
    expect(tankToText(t)).toBe("core");
  });

  test("a path survives pathToNoun and pathFromNoun", () => {
    expect(pathFromNoun(pathToNoun(["c", "sync", "0v1"]))).toEqual(["c", "sync", "0v1"]);
    expect(pathFromNoun(pathToNoun([]))).toEqual([]);
  });
});
