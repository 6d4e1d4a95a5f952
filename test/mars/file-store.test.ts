import { describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  createFileStoreKernel,
  FileStoreKernel,
  KERNEL_UNPIN_BYTES_MAX,
  KernelErrorCode,
  type FileStorePokeDone,
  type PokeResult,
} from "../../src/mars/kernel/index.ts";
import { peekPath } from "../../src/ipc/peek-path.ts";
import { daFromUnixMicros } from "../../src/noun/da.ts";
import {
  atomFromBytes,
  BigAtom,
  Cell,
  cell,
  cord,
  cordToString,
  equals,
  list,
  toBytes,
  tuple,
  type Noun,
} from "../../src/noun/index.ts";
import { intoOvum, pathNoun, pseudoRandomBytes, type FileChange } from "./mars-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const NOW = daFromUnixMicros(1_700_000_000_000_000);

function apply(k: FileStoreKernel, changes: FileChange[], desk = "base", all = false): FileStorePokeDone {
  const r = k.poke(NOW, intoOvum(changes, desk, all));
  if (!r.ok) throw new Error(`unexpected goof: ${goofText(r)}`);
  k.commit(r);
  return r as FileStorePokeDone;
}

function goofText(r: PokeResult): string {
  if (r.ok) return "";
  const g = r.goof as Cell;
  const lines: string[] = [];
  for (let t = g.tail; t instanceof Cell; t = t.tail) lines.push(cordToString(t.head as number));
  return `%${cordToString(g.head as number)}: ${lines.join("; ")}`;
}

/** The bytes a reader prints for a file peek: data's bytes, then zeros up to len. */
function catFile(k: FileStoreKernel, path: string, desk = "base"): Uint8Array | undefined {
  const r = k.peek(peekPath("x", desk, path.split("/")));
  if (!r.ok) throw new Error("peek failed");
  if (r.unit === 0) return undefined;
  const cask = (r.unit as Cell).tail as Cell;
  expect(cordToString(cask.head as number)).toBe("mime");
  const mime = cask.tail as Cell;
  const len = (mime.tail as Cell).head as number;
  const data = (mime.tail as Cell).tail as number | BigAtom;
  const out = new Uint8Array(len);
  out.set(toBytes(data));
  return out;
}

function listing(k: FileStoreKernel, prefix: string[] = [], desk = "base"): [string, number][] {
  const r = k.peek(peekPath("t", desk, prefix));
  if (!r.ok) throw new Error("peek failed");
  const cask = (r.unit as Cell).tail as Cell;
  expect(cordToString(cask.head as number)).toBe("plea-list");
  const out: [string, number][] = [];
  for (let l = cask.tail; l instanceof Cell; l = l.tail) {
    const item = l.head as Cell;
    const parts: string[] = [];
    for (let p = item.head; p instanceof Cell; p = p.tail) parts.push(cordToString(p.head as number));
    out.push([parts.join("/"), item.tail as number]);
  }
  return out;
}

function totals(k: FileStoreKernel, desk = "base"): [number, number] {
  const r = k.peek(peekPath("d", desk));
  if (!r.ok) throw new Error("peek failed");
  const t = ((r.unit as Cell).tail as Cell).tail as Cell;
  return [t.head as number, t.tail as number];
}

describe("the file store kernel", () => {
  test("adds, changes and deletes files and keeps the desk's totals", () => {
    const k = createFileStoreKernel();
    const first = apply(k, [
      { path: "app/foo/hoon", bytes: "hello" },
      { path: "lib/bar/js", bytes: "export {}" },
    ]);
    expect(first.summary).toEqual({ added: 2, changed: 0, deleted: 0 });
    expect(new TextDecoder().decode(catFile(k, "app/foo/hoon"))).toBe("hello");
    expect(totals(k)).toEqual([2, 14]);
    const second = apply(k, [{ path: "app/foo/hoon", bytes: "hello, world" }, { path: "lib/bar/js", delete: true }]);
    expect(second.summary).toEqual({ added: 0, changed: 1, deleted: 1 });
    expect(new TextDecoder().decode(catFile(k, "app/foo/hoon"))).toBe("hello, world");
    expect(catFile(k, "lib/bar/js")).toBeUndefined();
    expect(totals(k)).toEqual([1, 12]);
    // Deleting a file that is not there changes nothing.
    const before = k.mug();
    expect(apply(k, [{ path: "no/such/file", delete: true }]).summary.deleted).toBe(0);
    expect(k.mug()).toBe(before);
  });

  test("keeps a file's trailing zero bytes through its length", () => {
    const k = createFileStoreKernel();
    const bytes = new Uint8Array([1, 2, 3, 0, 0, 0]);
    apply(k, [{ path: "bin/zeros/dat", bytes }, { path: "bin/empty/dat", bytes: new Uint8Array(0) }, { path: "bin/allzero/dat", bytes: new Uint8Array(5) }]);
    expect(catFile(k, "bin/zeros/dat")).toEqual(bytes);
    expect(catFile(k, "bin/empty/dat")).toEqual(new Uint8Array(0));
    expect(catFile(k, "bin/allzero/dat")).toEqual(new Uint8Array(5));
  });

  test("round-trips binary files byte for byte", () => {
    const k = createFileStoreKernel();
    const files = [1, 7, 8, 255, 4096, 100_000].map((n, i) => ({ path: `bin/f${i}/bin`, bytes: pseudoRandomBytes(n, i + 1) }));
    apply(k, files);
    for (const f of files) expect(catFile(k, f.path)).toEqual(f.bytes);
  });

  test("answers /r peeks with pieces of a file that add up to the file, trailing zeros included", () => {
    const k = createFileStoreKernel();
    const bytes = new Uint8Array(10_000);
    bytes.set(pseudoRandomBytes(9_000, 5));
    apply(k, [{ path: "bin/big/dat", bytes }]);
    const whole = catFile(k, "bin/big/dat")!;
    for (const step of [1, 7, 4096, 9_000, 20_000]) {
      const out = new Uint8Array(bytes.length);
      const mugs = new Set<number>();
      for (let off = 0; off < bytes.length; off += step) {
        const r = k.peek(peekPath("r", "base", [String(off), String(step), "bin", "big", "dat"]));
        expect(r.ok).toBe(true);
        const cask = ((r as { unit: Cell }).unit.tail as Cell);
        expect(cordToString(cask.head as number)).toBe("plea-range");
        const [len, mug, slice] = [((cask.tail as Cell).tail as Cell).head, (((cask.tail as Cell).tail as Cell).tail as Cell).head, (((cask.tail as Cell).tail as Cell).tail as Cell).tail];
        expect(len).toBe(bytes.length);
        mugs.add(mug as number);
        out.set(toBytes(slice as number | BigAtom).subarray(0, Math.min(step, bytes.length - off)), off);
      }
      expect(out).toEqual(whole as Uint8Array<ArrayBuffer>);
      expect(mugs.size).toBe(1);
    }
    // No such file: ~. A piece past the end: an empty slice.
    expect(k.peek(peekPath("r", "base", ["0", "10", "bin", "none", "dat"]))).toEqual({ ok: true, unit: 0 });
    const past = k.peek(peekPath("r", "base", ["20000", "10", "bin", "big", "dat"]));
    expect((((((past as { unit: Cell }).unit.tail as Cell).tail as Cell).tail as Cell).tail as Cell).tail).toBe(0);
  });

  test("refuses /r peeks whose offset or length is not a decimal knot", () => {
    const k = createFileStoreKernel();
    apply(k, [{ path: "a/b", bytes: new Uint8Array([1]) }]);
    for (const [off, n] of [["-1", "4"], ["01", "4"], ["0x10", "4"], ["0", "1e3"], ["", "4"], ["0", "99999999999999999"]]) {
      const r = k.peek(peekPath("r", "base", [off, n, "a", "b"]));
      expect(r.ok).toBe(false);
    }
  });

  test("lists files under a prefix, sorted, with their sizes", () => {
    const k = createFileStoreKernel();
    apply(k, [
      { path: "lib/b/js", bytes: "bb" },
      { path: "app/a/hoon", bytes: "a" },
      { path: "lib/a/js", bytes: "aaa" },
      { path: "lib/a/ts", bytes: "" },
    ]);
    expect(listing(k)).toEqual([
      ["app/a/hoon", 1],
      ["lib/a/js", 3],
      ["lib/a/ts", 0],
      ["lib/b/js", 2],
    ]);
    expect(listing(k, ["lib", "a"])).toEqual([
      ["lib/a/js", 3],
      ["lib/a/ts", 0],
    ]);
    expect(listing(k, ["nothing"])).toEqual([]);
    expect(listing(k, [], "other")).toEqual([]);
    expect(totals(k, "other")).toEqual([0, 0]);
  });

  test("keeps desks apart", () => {
    const k = createFileStoreKernel();
    apply(k, [{ path: "a/txt", bytes: "base" }]);
    apply(k, [{ path: "a/txt", bytes: "kids" }], "kids");
    expect(new TextDecoder().decode(catFile(k, "a/txt"))).toBe("base");
    expect(new TextDecoder().decode(catFile(k, "a/txt", "kids"))).toBe("kids");
  });

  test("all=%.y makes the desk exactly the files of the event", () => {
    const k = createFileStoreKernel();
    apply(k, [{ path: "old/txt", bytes: "x" }, { path: "keep/txt", bytes: "y" }]);
    apply(k, [{ path: "keep/txt", bytes: "z" }, { path: "new/txt", bytes: "n" }], "base", true);
    expect(listing(k).map(([p]) => p)).toEqual(["keep/txt", "new/txt"]);
    expect(totals(k)).toEqual([2, 2]);
  });

  test("poke is pure: nothing changes until commit, and results commit only on their own state", () => {
    const k = createFileStoreKernel();
    const before = k.state;
    const r = k.poke(NOW, intoOvum([{ path: "a/txt", bytes: "1" }]));
    expect(r.ok).toBe(true);
    expect(k.state).toBe(before);
    expect(catFile(k, "a/txt")).toBeUndefined();
    const r2 = k.poke(NOW, intoOvum([{ path: "b/txt", bytes: "2" }]));
    if (!r.ok || !r2.ok) throw new Error("goof");
    k.commit(r);
    expect(() => k.commit(r2)).toThrow(/not computed from/);
    // The same events on the same state give the same state (what replay relies on).
    const again = createFileStoreKernel();
    const r3 = again.poke(NOW, intoOvum([{ path: "a/txt", bytes: "1" }]));
    if (!r3.ok) throw new Error("goof");
    again.commit(r3);
    expect(again.mug()).toBe(k.mug());
  });

  test("rejects unknown events with a %bad-event goof and no change", () => {
    const k = createFileStoreKernel();
    apply(k, [{ path: "a/txt", bytes: "1" }]);
    const state = k.state;
    const r = k.poke(NOW, cell(list([cord("d"), cord("term")]), tuple(cord("belt"), 0)));
    expect(r.ok).toBe(false);
    expect(goofText(r)).toBe("%bad-event: Plea's file store handles only %into events; got %belt");
    expect(k.state).toBe(state);
  });

  test("rejects every kind of malformed %into with a goof that says what is wrong", () => {
    const k = createFileStoreKernel();
    const wire = list([cord("c"), cord("sync")]);
    const into = (rest: Noun) => cell(wire, cell(cord("into"), rest));
    const mime = (len: Noun, data: Noun) => tuple(list([cord("text"), cord("plain")]), len, data);
    const cases: [Noun, RegExp][] = [
      [into(0), /the %into \[desk all can\] must be a cell/i],
      [into(tuple(cord("Base"), 1, 0)), /desk must be a @tas/],
      [into(tuple(cord("base"), 2, 0)), /"all" must be/],
      [into(tuple(cord("base"), 1, 5)), /must end in ~/],
      [into(tuple(cord("base"), 1, list([cell(0, 0)]))), /change 1's path is empty/i],
      [into(tuple(cord("base"), 1, list([cell(list([cell(1, 2)]), 0)]))), /element 1 of change 1's path must be an atom/i],
      [into(tuple(cord("base"), 1, list([cell(pathNoun("a/txt"), cell(1, mime(3, cord("abc"))))]))), /\(unit mime\) must be ~ or \[~ mime\]/],
      [into(tuple(cord("base"), 1, list([cell(pathNoun("a/txt"), cell(0, mime(2, cord("abc"))))]))), /data is 3 bytes, more than its length 2/],
      [into(tuple(cord("base"), 1, list([cell(pathNoun("a/txt"), cell(0, mime(2 ** 33, 0)))]))), /length must be at most/],
      [into(tuple(cord("base"), 1, list([cell(pathNoun("a/txt"), cell(0, mime(3, cell(1, 1))))]))), /data must be an atom/],
      [into(tuple(cord("base"), 1, list([cell(pathNoun("a/txt"), cell(0, tuple(5, 3, cord("abc"))))]))), /mime type must be a list/i],
    ];
    for (const [ovum, pattern] of cases) {
      const before = k.state;
      const r = k.poke(NOW, ovum);
      expect(r.ok).toBe(false);
      expect(goofText(r)).toMatch(/^%bad-event: Malformed %into: /);
      expect(goofText(r)).toMatch(pattern);
      expect(k.state).toBe(before);
    }
  });

  test("answers bad peeks with a %bad-peek goof", () => {
    const k = createFileStoreKernel();
    for (const path of [0, list([cord("q"), cord("base")]), list([cord("x")]), list([cord("x"), cord("Base"), cord("a")]), list([cord("x"), cord("base")]), list([cord("d"), cord("base"), cord("a")])]) {
      const r = k.peek(path);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(cordToString((r.goof as Cell).head as number)).toBe("bad-peek");
    }
  });

  test("refuses a state that is not a file store's", () => {
    expect(() => createFileStoreKernel(cell(cord("xx"), 0))).toThrow(expect.objectContaining({ code: KernelErrorCode.state }));
    expect(() => createFileStoreKernel(tuple(cord("fs"), 2, 0))).toThrow(/version 2/);
  });

  test("counts zero-copy owners and copies small owned atoms instead of pinning their mapping", () => {
    const k = createFileStoreKernel();
    const mappingA = { name: "segment A" };
    const mappingB = { name: "segment B" };
    const bigBytes = pseudoRandomBytes(KERNEL_UNPIN_BYTES_MAX + 100, 9);
    const bigA = atomFromBytes(bigBytes, mappingA) as BigAtom;
    const smallA = atomFromBytes(pseudoRandomBytes(100, 3), mappingA) as BigAtom;
    const longName = atomFromBytes(new TextEncoder().encode("a-long-file-name"), mappingA) as BigAtom;
    const plain = list([cord("text"), cord("plain")]);
    const can = list([
      cell(list([cord("big"), cord("bin")]), cell(0, tuple(plain, bigBytes.length, bigA))),
      cell(list([longName, cord("bin")]), cell(0, tuple(plain, 100, smallA))),
    ]);
    const r = k.poke(NOW, cell(list([cord("c"), cord("sync")]), tuple(cord("into"), cord("base"), 1, can)));
    if (!r.ok) throw new Error(goofText(r));
    expect([...r.owners]).toEqual([[mappingA, 1]]);
    k.commit(r);
    expect(k.owners()).toEqual(new Set([mappingA]));
    // The big atom is kept as it is; the small ones were copied out of the mapping.
    expect(toBytes(((catFileNoun(k, ["big", "bin"]) as Cell).tail as Cell).tail as BigAtom)).toBe(bigA.bytes);
    const small = ((catFileNoun(k, ["a-long-file-name", "bin"]) as Cell).tail as Cell).tail as BigAtom;
    expect(small.owner).toBeUndefined();
    expect(equals(small, smallA)).toBe(true);
    // Replacing the big file with one from another mapping releases the first.
    const bigB = atomFromBytes(pseudoRandomBytes(KERNEL_UNPIN_BYTES_MAX + 1, 4), mappingB) as BigAtom;
    const r2 = k.poke(
      NOW,
      cell(list([cord("c"), cord("sync")]), tuple(cord("into"), cord("base"), 1, list([cell(list([cord("big"), cord("bin")]), cell(0, tuple(plain, bigB.bytes.length, bigB)))]))),
    );
    if (!r2.ok) throw new Error(goofText(r2));
    k.commit(r2);
    expect(k.owners()).toEqual(new Set([mappingB]));
    apply(k, [{ path: "big/bin", delete: true }]);
    expect(k.owners().size).toBe(0);
  });

  test("applies 100,000 new files in one event, equal to applying them in 100 events", () => {
    const changes: FileChange[] = [];
    for (let i = 0; i < 100_000; i++) changes.push({ path: `d${i % 97}/file-${i}/txt`, bytes: `content of file ${i}` });
    const one = createFileStoreKernel();
    const r = apply(one, changes);
    expect(r.summary.added).toBe(100_000);
    expect(totals(one)[0]).toBe(100_000);
    const many = createFileStoreKernel();
    for (let i = 0; i < 100_000; i += 1000) apply(many, changes.slice(i, i + 1000));
    expect(many.mug()).toBe(one.mug());
    expect(equals(many.state, one.state)).toBe(true);
    expect(new TextDecoder().decode(catFile(one, "d26/file-12345/txt"))).toBe("content of file 12345");
  }, 60_000);
});

function catFileNoun(k: FileStoreKernel, spur: string[]): Noun {
  const r = k.peek(peekPath("x", "base", spur));
  if (!r.ok || r.unit === 0) throw new Error("no file");
  return ((r.unit as Cell).tail as Cell).tail;
}
