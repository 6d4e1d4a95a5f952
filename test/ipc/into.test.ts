/**
 * The one `%into` module (src/ipc/into.ts): what urth's encoder builds, jammed, cued and read by
 * mars's parser, gives back the same changes; and the encoder's bytes are vere's.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { isPleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";
import { intoOvum, MIME_TEXT_PLAIN, readInto, scotUv, type IntoChange } from "../../src/ipc/into.ts";
import { frame } from "../../src/ipc/newt.ts";
import { pathFromNoun, pathToNoun } from "../../src/ipc/shape.ts";
import { taskToNoun } from "../../src/ipc/task.ts";
import { atomFromBytes, BigAtom, Cell, cell, cord, cordToString, cue, equals, FileAtom, isFileAtom, jam, list, toBytes, type Atom, type Noun } from "../../src/noun/index.ts";
import { TempFiles } from "../noun/temp-files.ts";
import { FRAME_VECTORS } from "./frame-vectors.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const files = new TempFiles();
afterEach(() => files.removeAll());

function bytesOf(length: number, seed: number, trailingZeros = 0): Uint8Array {
  const out = new Uint8Array(length + trailingZeros);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xff;
  }
  if (length > 0) out[length - 1] |= 1;
  return out;
}

function put(path: string[], data: Atom, len: number): IntoChange {
  return { kind: "put", path: pathToNoun(path), type: MIME_TEXT_PLAIN, len, data };
}

/** A change as plain data: paths and types as text, data as its bytes (file-backed atoms read). */
function plain(c: IntoChange): unknown {
  if (c.kind === "del") return { kind: "del", path: pathFromNoun(c.path) };
  const data = isFileAtom(c.data) ? toBytes(c.data.materialize()) : toBytes(c.data as number | BigAtom);
  return { kind: "put", path: pathFromNoun(c.path), type: pathFromNoun(c.type), len: c.len, data: [...data] };
}

describe("the %into message", () => {
  test("encode, jam, cue and parse give back the changes, file-backed atoms included", () => {
    // A large file ending in zero bytes (the atom drops them; len keeps them), a small one in memory,
    // an empty file, a name that is not ASCII, and two deletions.
    const big = bytesOf(300_000, 7, 5);
    const bigFile = new FileAtom(files.write(big));
    const changes: IntoChange[] = [
      put(["big", "bin"], bigFile, big.length),
      put(["lib", "a", "hoon"], atomFromBytes(new TextEncoder().encode("|=  a  a\n")), 9),
      put(["empty", "txt"], 0, 0),
      put(["café", "md"], atomFromBytes(bytesOf(40, 3)), 40),
      { kind: "del", path: pathToNoun(["gone", "txt"]) },
      { kind: "del", path: pathToNoun(["dir", "sub", "x", "js"]) },
    ];
    for (const all of [false, true]) {
      const ovum = intoOvum("base", changes, 0x1234_5678, all);
      const parsed = readInto(cue(jam(ovum)));
      expect(cordToString(parsed.desk)).toBe("base");
      expect(parsed.all).toBe(all);
      expect(parsed.changes.map(plain)).toEqual(changes.map(plain));
      // Mars keeps data in memory: no file-backed atom survives the pipe.
      for (const c of parsed.changes) if (c.kind === "put") expect(c.data instanceof FileAtom).toBe(false);
      expect(equals((parsed.changes[0] as { data: Noun }).data, bigFile)).toBe(true);
    }
  });

  test("the encoder's ovum is vere's, byte for byte, in a %poke frame", () => {
    const vector = FRAME_VECTORS.find((v) => v.name.startsWith("[%poke 0 [/c/sync/0v1 %into"))!;
    const ovum = intoOvum("base", [put(["foo", "txt"], cord("abc"), 3)], 1) as Cell;
    expect(Buffer.from(frame(jam(taskToNoun({ type: "poke", mil: 0, ovum })))).toString("hex")).toBe(vector.frame);
  });

  test("the wire's third element is vere's `(scot %uv sev)`", () => {
    expect([0, 1, 31, 32, 32 ** 5 - 1, 32 ** 5, 0xffff_ffff].map(scotUv)).toEqual(["0v0", "0v1", "0vv", "0v10", "0vvvvvv", "0v1.00000", "0v3v.vvvvv"]);
    const wire = (intoOvum("base", [], 32 ** 5) as Cell).head;
    expect(pathFromNoun(wire)).toEqual(["c", "sync", "0v1.00000"]);
  });

  test("the parser refuses what the encoder never builds, saying which change is wrong", () => {
    const good = intoOvum("base", [put(["a", "txt"], cord("ab"), 2)], 1) as Cell;
    const card = good.tail as Cell;
    const withCan = (can: Noun) => cell(good.head, cell(card.head, cell(cord("base"), cell(1, can))));
    const cases: [Noun, RegExp][] = [
      [withCan(list([cell(pathToNoun(["a", "txt"]), cell(0, cell(MIME_TEXT_PLAIN, cell(1, cord("ab")))))])), /Change 1's data is 2 bytes, more than its length 1/],
      [withCan(list([cell(0, 0)])), /Change 1's path is empty/],
      [withCan(cell(cell(pathToNoun(["a"]), 0), 5)), /must end in ~/],
      [cell(good.head, cell(card.head, cell(cord("Base"), cell(1, 0)))), /desk must be a @tas/],
    ];
    for (const [ovum, message] of cases) expect(() => readInto(ovum)).toThrow(message);
    let error: unknown;
    try {
      readInto(withCan(list([cell(0, 0)])));
    } catch (e) {
      error = e;
    }
    expect(isPleaError(error, IpcErrorCode.event.malformed)).toBe(true);
  });
});
