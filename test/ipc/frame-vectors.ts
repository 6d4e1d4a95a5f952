/**
 * The full newt frames of docs/ipc.md, "Vectors", as data, with the message
 * each one carries. `frame` is copied verbatim from the reference (header | jam bytes).
 */
import type { Gift } from "../../src/ipc/gift.ts";
import { pathToNoun } from "../../src/ipc/shape.ts";
import type { Task } from "../../src/ipc/task.ts";
import { cell, cord, list, tuple } from "../../src/noun/index.ts";

export type FrameVector =
  | { readonly name: string; readonly frame: string; readonly direction: "task"; readonly message: Task }
  | { readonly name: string; readonly frame: string; readonly direction: "gift"; readonly message: Gift };

const intoOvum = cell(
  pathToNoun(["c", "sync", "0v1"]),
  tuple(cord("into"), cord("base"), 1, list([tuple(pathToNoun(["foo", "txt"]), 0, tuple(pathToNoun(["text", "plain"]), 3, cord("abc")))])),
);

export const FRAME_VECTORS: readonly FrameVector[] = [
  { name: "[%exit ~]", frame: "000600000001bf0c2f8d2e", direction: "task", message: { type: "exit" } },
  { name: "[%sync %save ~]", frame: "000c000000017f2ecf6d1cf0e7c2ecca02", direction: "task", message: { type: "sync", kind: "save" } },
  { name: "[%live %pack ~]", frame: "000c000000019f2dcdae1cf0e1c2c6d602", direction: "task", message: { type: "live", kind: "pack" } },
  { name: "[%quiz %quic ~]", frame: "000c000000013fae2e4d1ff0e3ead2c602", direction: "task", message: { type: "quiz", kind: "quic" } },
  { name: "[%live ~]", frame: "0006000000019f2dcdae2c", direction: "gift", message: { type: "live" } },
  {
    name: "[%ripe [2 ~] [0 %.y] 42 0x1234]",
    frame: "000d000000015f2e0dae5c484b83aa606924",
    direction: "gift",
    message: { type: "ripe", kel: 0, who: 0, fake: true, eve: 42, mug: 0x1234 },
  },
  {
    name: "[%poke 0 [/c/sync/0v1 %into %base %.n ~[[/foo/txt ~ [/text/plain 3 'abc']]]]]",
    frame:
      "003b000000" +
      "011fee6dad9c051f07fcb93cb7714083b18b0df8696e74ef802f1636578e2be0" +
      "99bdbd031e1d1edd2ce0d395e1d1033c706c61696e43032f4c6c2c",
    direction: "task",
    message: { type: "poke", mil: 0, ovum: intoOvum },
  },
];
