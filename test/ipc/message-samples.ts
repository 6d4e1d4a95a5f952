/** One or more sample messages of every task and gift type, for round-trip tests. */
import type { Gift } from "../../src/ipc/gift.ts";
import { goof } from "../../src/ipc/goof.ts";
import { pathToNoun } from "../../src/ipc/shape.ts";
import type { Task } from "../../src/ipc/task.ts";
import { atomFromBytes, cell, cord, list, tuple, type Cell } from "../../src/noun/index.ts";

const ovum = (wire: string[], tag: string, data: number): Cell => cell(pathToNoun(wire), cell(cord(tag), data)) as Cell;

export const TASK_SAMPLES: readonly Task[] = [
  { type: "poke", mil: 0, ovum: ovum(["c", "sync"], "into", 0) },
  { type: "poke", mil: 0xffff_ffff, ovum: ovum([], "wake", 7) },
  { type: "peek", mil: 0, gang: null, request: { kind: "path", path: pathToNoun(["cx", "~zod", "base", "1", "sys", "kelvin"]) } },
  { type: "peek", mil: 0, gang: 0, request: { kind: "once", care: "x", desk: "base", path: pathToNoun(["foo", "txt"]) } },
  { type: "peek", mil: 5, gang: tuple(0x100, 0, 0), request: { kind: "once", care: "ax", desk: "", path: pathToNoun(["boot"]) } },
  { type: "live", kind: "meld", per: true, ford: false },
  { type: "live", kind: "meld", per: false, ford: true },
  { type: "live", kind: "meld", per: false, ford: false },
  { type: "live", kind: "pack" },
  { type: "sync", kind: "save" },
  { type: "quiz", kind: "quac" },
  { type: "quiz", kind: "quic" },
  { type: "exit" },
  { type: "plea", length: 0 },
  { type: "plea", length: 5 * 2 ** 30 },
  { type: "done" },
  { type: "drop" },
  { type: "plea", kind: "memfd", length: 5 * 2 ** 30 },
  // A %bref: the jam atom's value does not matter to the message, only its bit length (29 here).
  {
    type: "bref",
    refs: [
      { bitOffset: 3, name: "00".repeat(31) + "01", byteLength: 7 },
      { bitOffset: 20, name: "ff".repeat(32), byteLength: 2 ** 32 },
    ],
    jam: 0x1234_5678,
  },
  { type: "chop", keep: 0 },
  { type: "chop", keep: 1 },
];

const bigShip = atomFromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));

export const GIFT_SAMPLES: readonly Gift[] = [
  { type: "ripe", kel: 0, who: 0, fake: true, eve: 0, mug: 0 },
  { type: "ripe", kel: list([cord("plea"), 1]), who: bigShip, fake: false, eve: Number.MAX_SAFE_INTEGER, mug: 0xffff_ffff },
  { type: "poke", ok: true, effects: [] },
  { type: "poke", ok: true, effects: [ovum(["d", "term", "1"], "blit", 0), ovum([], "vega", 0)] },
  { type: "poke", ok: false, goofs: [goof("exit", "bail: crud", "line 2")] },
  { type: "poke", ok: false, goofs: [goof("evil"), goof("exit", "second")] },
  { type: "peek", ok: true, result: null },
  { type: "peek", ok: true, result: { mark: "noun", noun: tuple(1, 2, 3) } },
  { type: "peek", ok: true, result: { mark: "", noun: 0 } },
  { type: "peek", ok: false, goof: goof("exit", "not found") },
  { type: "live" },
  { type: "quiz", kind: "quac", report: list([cord("total"), 12345]) },
  { type: "quiz", kind: "quic", open: 3, idle: 40 },
  { type: "sync", eve: 17, mug: 0x1234_5678 },
  { type: "slog", priority: 0, tank: cord("hello") },
  { type: "slog", priority: 3, tank: cell(cord("leaf"), list([104, 105].map((c) => c))) },
  { type: "flog", text: "a line on stderr, UTF-8: λ" },
  { type: "plea", ok: true, name: "/plea-ab12-4242-99-1", length: 300 * 2 ** 20 },
  { type: "plea", ok: true, name: "fail", length: 1 },
  { type: "plea", ok: false, goof: goof("plea-fail", "Cannot create segment: ENOSPC") },
  { type: "plea", ok: true, kind: "memfd", fd: 11, length: 300 * 2 ** 20 },
  { type: "plea", ok: true, name: "memfd", length: 2 },
  { type: "chop", ok: true, report: '{"events":12,"freedBytes":4096}' },
  { type: "chop", ok: false, goof: goof("plea-chop", "The newest snapshot is damaged") },
];
