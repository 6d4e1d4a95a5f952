/** equals: structural equality across every representation. */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { atom, atomFromBytes, Cell, cell, cord, equals, FileAtom, mug } from "../../src/noun/index.ts";
import { Rng } from "./random-nouns.ts";
import { TempFiles } from "./temp-files.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const files = new TempFiles();
afterEach(() => files.removeAll());

describe("equals", () => {
  test("compares atoms by value and cells by structure", () => {
    expect(equals(0, 0)).toBe(true);
    expect(equals(1, 2)).toBe(false);
    expect(equals(cell(1, 2), cell(1, 2))).toBe(true);
    expect(equals(cell(1, 2), cell(2, 1))).toBe(false);
    expect(equals(cell(1, 2), 1)).toBe(false);
    expect(equals(1, cell(1, 2))).toBe(false);
    expect(equals(cell(cell(1, 2), 3), cell(1, cell(2, 3)))).toBe(false);
    expect(equals(atom(2n ** 80n), atom(2n ** 80n))).toBe(true);
    expect(equals(atom(2n ** 80n), atom(2n ** 80n + 1n))).toBe(false);
    expect(equals(cord("a longer cord than seven"), cord("a longer cord than seven"))).toBe(true);
  });

  test("a big atom held in a view equals the same bytes elsewhere", () => {
    const raw = new Rng(31).bytes(300);
    raw[250] = 9;
    expect(equals(atomFromBytes(raw.subarray(3, 251)), atomFromBytes(raw.slice(3, 251)))).toBe(true);
  });

  test("cells whose cached mugs differ are unequal without looking inside", () => {
    const a = new Cell(1, 2);
    const b = new Cell(1, 2);
    expect(equals(a, b)).toBe(true);
    mug(a);
    b.mug = (a.mug ^ 1) || 2; // a (wrong) cached mug proves inequality to equals
    expect(equals(a, b)).toBe(false);
  });

  test("a file-backed atom equals the number, big atom or file with its value", () => {
    const small = new FileAtom(files.write(Uint8Array.of(5, 0, 0)));
    expect(equals(small, 5)).toBe(true);
    expect(equals(6, small)).toBe(false);
    const bytes = new Rng(32).bytes(9000);
    bytes[8999] = 3;
    const f = new FileAtom(files.write(bytes));
    const g = new FileAtom(files.write(bytes));
    expect(equals(f, atomFromBytes(bytes.slice()))).toBe(true);
    expect(equals(atomFromBytes(bytes.slice()), g)).toBe(true);
    expect(equals(f, g)).toBe(true);
    const other = bytes.slice();
    other[4500] ^= 1;
    expect(equals(f, new FileAtom(files.write(other)))).toBe(false);
    expect(equals(f, atomFromBytes(other))).toBe(false);
    expect(equals(cell(f, 1), cell(atomFromBytes(bytes.slice()), 1))).toBe(true);
    expect(equals(f, 5)).toBe(false);
  });
});
