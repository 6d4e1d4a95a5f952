import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { EMPTY_MAP, MAP_BULK_CHANGES_MIN, mapApply, mapDel, mapForEach, mapGet, mapPut, mapSize, type MapChange } from "../../src/mars/kernel/hoon-map.ts";
import { KernelErrorCode } from "../../src/mars/kernel/errors.ts";
import { dor, gor, mor } from "../../src/mars/kernel/order.ts";
import { atom, Cell, cell, cord, equals, list, mug, type Noun } from "../../src/noun/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function key(i: number): Noun {
  return list([cord(`dir${i % 7}`), cord(`file${i}`), cord("txt")]);
}

/** Every node's left keys sort before it by gor, right keys after, and it outranks both (mor). */
function checkTreap(tree: Noun): number {
  let nodes = 0;
  const stack: Noun[] = [tree];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t === 0) continue;
    nodes++;
    const c = t as Cell;
    const k = (c.head as Cell).head;
    const l = (c.tail as Cell).head;
    const r = (c.tail as Cell).tail;
    for (const [child, isLeft] of [[l, true], [r, false]] as const) {
      if (child === 0) continue;
      const ck = ((child as Cell).head as Cell).head;
      expect(gor(ck, k)).toBe(isLeft);
      expect(mor(k, ck)).toBe(true);
    }
    stack.push(l, r);
  }
  return nodes;
}

describe("Hoon's map as a noun treap", () => {
  test("put, get and del behave like a map", () => {
    let t: Noun = EMPTY_MAP;
    for (let i = 0; i < 500; i++) t = mapPut(t, key(i), i);
    expect(mapSize(t)).toBe(500);
    for (let i = 0; i < 500; i++) expect(mapGet(t, key(i))).toBe(i);
    expect(mapGet(t, key(500))).toBeUndefined();
    t = mapPut(t, key(3), 1000);
    expect(mapGet(t, key(3))).toBe(1000);
    expect(mapSize(t)).toBe(500);
    for (let i = 0; i < 500; i += 3) t = mapDel(t, key(i));
    for (let i = 0; i < 500; i++) expect(mapGet(t, key(i))).toBe(i % 3 === 0 ? undefined : i === 3 ? 1000 : i);
    expect(mapDel(t, key(999))).toBe(t);
  });

  test("keeps the search order (gor) and the heap order (mor) after puts and deletes", () => {
    let t: Noun = EMPTY_MAP;
    for (let i = 0; i < 2000; i++) t = mapPut(t, key((i * 7919) % 2000), i);
    for (let i = 0; i < 2000; i += 2) t = mapDel(t, key(i));
    expect(checkTreap(t)).toBe(1000);
  });

  test("the same contents make the same noun whatever the order of insertion", () => {
    let a: Noun = EMPTY_MAP;
    let b: Noun = EMPTY_MAP;
    for (let i = 0; i < 1000; i++) a = mapPut(a, key(i), i);
    for (let i = 999; i >= 0; i--) b = mapPut(b, key(i), i);
    expect(equals(a, b)).toBe(true);
    expect(mug(a)).toBe(mug(b));
    // Deleting what was added gives back the map without it.
    let c: Noun = EMPTY_MAP;
    for (let i = 0; i < 1000; i++) if (i % 2 === 1) c = mapPut(c, key(i), i);
    for (let i = 0; i < 1000; i += 2) a = mapDel(a, key(i));
    expect(equals(a, c)).toBe(true);
  });

  test("bulk changes build the same treap as one change at a time", () => {
    let base: Noun = EMPTY_MAP;
    const n = 3 * MAP_BULK_CHANGES_MIN;
    for (let i = 0; i < n; i++) base = mapPut(base, key(i), i);
    const changes: MapChange[] = [];
    for (let i = 0; i < n; i += 2) changes.push({ key: key(i), value: undefined });
    for (let i = 1; i < n; i += 4) changes.push({ key: key(i), value: -0 + i + 5 });
    for (let i = n; i < n + 2000; i++) changes.push({ key: key(i), value: i });
    // The same key twice in one batch: the later change wins, and `seen` reports each in turn.
    changes.push({ key: key(n), value: undefined }, { key: key(n), value: 77 });
    let oneByOne = base;
    const seenOne: [number, Noun | undefined][] = [];
    for (const c of changes) {
      seenOne.push([changes.indexOf(c), mapGet(oneByOne, c.key)]);
      oneByOne = c.value === undefined ? mapDel(oneByOne, c.key) : mapPut(oneByOne, c.key, c.value);
    }
    const seenBulk = new Map<MapChange, Noun | undefined>();
    const bulk = mapApply(base, n, changes, (c, prev) => seenBulk.set(c, prev));
    expect(changes.length).toBeGreaterThanOrEqual(MAP_BULK_CHANGES_MIN);
    expect(equals(bulk, oneByOne)).toBe(true);
    for (const [i, prev] of seenOne) expect(seenBulk.get(changes[i])).toBe(prev);
    checkTreap(bulk);
  });

  test("bulk building an empty map of 100,000 keys matches one key at a time", () => {
    const changes: MapChange[] = [];
    for (let i = 0; i < 100_000; i++) changes.push({ key: key(i), value: i });
    const bulk = mapApply(EMPTY_MAP, 0, changes, () => {});
    let one: Noun = EMPTY_MAP;
    for (const c of changes) one = mapPut(one, c.key, c.value!);
    expect(mug(bulk)).toBe(mug(one));
    expect(equals(bulk, one)).toBe(true);
    let count = 0;
    mapForEach(bulk, () => count++);
    expect(count).toBe(100_000);
  }, 60_000);

  test("dor orders atoms before cells, atoms by value and cells head first", () => {
    expect(dor(1, 2)).toBe(true);
    expect(dor(2, 1)).toBe(false);
    expect(dor(5, cell(0, 0))).toBe(true);
    expect(dor(cell(0, 0), 5)).toBe(false);
    expect(dor(cell(1, 9), cell(2, 0))).toBe(true);
    expect(dor(cell(1, 9), cell(1, 3))).toBe(false);
    expect(dor(atom(2n ** 64n), atom(2n ** 64n + 1n))).toBe(true);
    expect(dor(atom(2n ** 64n), 7)).toBe(false);
    expect(dor(7, 7)).toBe(true);
  });

  test("a node that is not [[key value] left right] (a damaged state from disk) is a kernel_state error", () => {
    const good = mapPut(mapPut(EMPTY_MAP, key(1), 1), key(2), 2);
    for (const bad of [5, cell(5, cell(0, 0)), cell(cell(key(1), 1), 7)]) {
      for (const use of [() => mapGet(bad, key(3)), () => mapPut(bad, key(3), 3), () => mapSize(cell(cell(key(9), 9), cell(bad, 0)))]) {
        expect(use).toThrow(expect.objectContaining({ code: KernelErrorCode.state }));
      }
    }
    expect(mapGet(good, key(2))).toBe(2);
  });
});
