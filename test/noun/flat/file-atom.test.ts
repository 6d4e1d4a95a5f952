/**
 * File-backed atoms in the raw shared-memory format: the bytes are read from the file straight
 * into the target, trailing zero bytes are dropped, and the result is byte for byte what the
 * same atom held in memory would write.
 */
import { afterEach, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atomFromBytes, BigAtom, type Cell, cell, FileAtom, FileAtomError, type Noun } from "../../../src/noun/index.ts";
import { readShm, shmSize, writeShm } from "../../../src/noun/index.ts";
import { hexOf, rng } from "./flat-test-support.ts";
import { equals } from "../../../src/noun/equals.ts";
import { TEST_TIMEOUT_MS } from "../../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** bunfig's test timeout is not applied by Bun 1.4.5 (default 5 s): slow cases set their own. */
const SLOW_TEST_MS = 60_000;

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "plea-shm-file-atom-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A file holding `bytes`, as a FileAtom. */
function fileAtom(name: string, bytes: Uint8Array): FileAtom {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return new FileAtom(path);
}

function randomBytes(seed: number, n: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** The noun with every FileAtom replaced by its in-memory atom (same shape). */
function withMaterialized(bytes: Uint8Array, shape: (a: Noun) => Noun): Noun {
  return shape(atomFromBytes(bytes.slice()));
}

describe("file-backed atoms in shared memory", () => {
  test("a file's bytes land in the target and decode to the same atom as the bytes in memory", () => {
    const bytes = randomBytes(1, 100_003);
    bytes[bytes.length - 1] = 0x7f;
    const f = fileAtom("a.bin", bytes);
    const shape = (a: Noun) => cell(a, cell(1, a));
    const n = shape(f);
    const size = shmSize(n);
    const buf = new Uint8Array(size);
    expect(writeShm(n, buf)).toBe(size);
    const expected = withMaterialized(bytes, shape);
    const back = readShm(buf) as Cell;
    expect(equals(back, expected)).toBe(true);
    // Referenced twice, read once: one entry, shared on decode.
    expect(back.head).toBe((back.tail as Cell).tail);
    // Byte for byte what the in-memory atom writes.
    const mem = new Uint8Array(shmSize(expected));
    writeShm(expected, mem);
    expect(hexOf(buf)).toBe(hexOf(mem));
  });

  test("trailing zero bytes are dropped: fewer bytes are written than shmSize reserved", () => {
    const bytes = randomBytes(2, 1000);
    bytes[899] = 1;
    bytes.fill(0, 900);
    const f = fileAtom("z.bin", bytes);
    const size = shmSize(f);
    expect(size).toBe(32 + 16 + 1000);
    const buf = new Uint8Array(size).fill(0xcc);
    const wrote = writeShm(f, buf);
    expect(wrote).toBe(32 + 16 + 904);
    const back = readShm(buf) as BigAtom;
    expect(back.bytes.length).toBe(900);
    expect(equals(back, atomFromBytes(bytes))).toBe(true);
    // The header records the exact data length.
    expect(new DataView(buf.buffer).getUint32(24, true)).toBe(16 + 904);
  });

  test("a file of 1 MiB or more is page-aligned, and moved down when trailing zeros take it below", () => {
    const aligned = randomBytes(5, 2 ** 20 + 100);
    aligned[aligned.length - 1] = 1;
    const shrinks = randomBytes(6, 2 ** 20 + 16);
    shrinks[2 ** 20 - 11] = 1;
    shrinks.fill(0, 2 ** 20 - 10);
    for (const bytes of [aligned, shrinks]) {
      const shape = (a: Noun) => cell(7, cell(a, a));
      const n = shape(fileAtom(`big-${bytes.length}.bin`, bytes));
      const buf = new Uint8Array(shmSize(n)).fill(0xee);
      const wrote = writeShm(n, buf);
      const expected = withMaterialized(bytes, shape);
      const mem = new Uint8Array(shmSize(expected));
      expect(writeShm(expected, mem)).toBe(wrote);
      expect(hexOf(buf.subarray(0, wrote)) === hexOf(mem)).toBe(true);
      expect(equals(readShm(buf), expected)).toBe(true);
    }
  }, SLOW_TEST_MS);

  test("files that are empty, all zeros or up to 62 bits become direct values", () => {
    expect(readShm(writeAndGet(cell(fileAtom("e", new Uint8Array(0)), 1)))).toEqual(cell(0, 1));
    expect(readShm(writeAndGet(fileAtom("zeros", new Uint8Array(5000))))).toBe(0);
    expect(readShm(writeAndGet(fileAtom("five", Uint8Array.of(1, 2, 3, 4, 5))))).toBe(0x0504030201);
    const seven = Uint8Array.of(1, 2, 3, 4, 5, 6, 0x3f, 0, 0);
    expect(equals(readShm(writeAndGet(fileAtom("seven", seven))), atomFromBytes(seven))).toBe(true);
    const top = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x40);
    const b = readShm(writeAndGet(cell(fileAtom("top", top), 2)));
    expect(equals(b, cell(atomFromBytes(top), 2))).toBe(true);
  });

  test("a file atom crossing small windows is read in pieces and matches the contiguous bytes", () => {
    const bytes = randomBytes(3, 777);
    bytes[776] = 9;
    const n = cell(fileAtom("w.bin", bytes), cell(fileAtom("w2.bin", bytes.subarray(0, 300)), 0));
    const flat = writeAndGet(n);
    const backing = new Uint8Array(flat.length + 64);
    const windows: Uint8Array[] = [];
    for (let i = 0; i < backing.length; i += 64) windows.push(backing.subarray(i, i + 64));
    expect(writeShm(n, windows)).toBe(flat.length);
    expect(hexOf(backing.subarray(0, flat.length))).toBe(hexOf(flat));
    expect(equals(readShm(windows), readShm(flat))).toBe(true);
  });

  test("a file that changed since its atom was made fails the write, and mug caches are restored", () => {
    const f = fileAtom("c.bin", randomBytes(4, 4096));
    const c = cell(1, 2);
    c.mug = 0x3333;
    const n = cell(c, f);
    const buf = new Uint8Array(shmSize(n) + 100);
    appendFileSync(f.path, "more");
    expect(() => writeShm(n, buf)).toThrow(FileAtomError);
    expect(c.mug).toBe(0x3333);
  });
});

function writeAndGet(n: Noun): Uint8Array {
  const buf = new Uint8Array(shmSize(n));
  const wrote = writeShm(n, buf);
  return buf.subarray(0, wrote);
}
