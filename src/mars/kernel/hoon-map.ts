/**
 * Hoon's `map` as nouns: a treap `[n=[key value] l=tree r=tree]`, `~` for empty, searched by
 * `gor` on keys and heap-ordered by `mor` on keys (hoon.hoon `by`). Given its keys, the treap's
 * shape is unique, so the same contents always make the same noun and the same mug, whatever
 * order they were added in.
 *
 * Two ways to change it, same result:
 * - one key at a time (`mapPut`, `mapDel`): builds new cells along one path (expected depth about
 *   2 ln n, 23 for 100,000 keys) and shares the rest, so the mug of the new map costs only the new
 *   cells. About 6 us per key here.
 * - in bulk (`mapApply` with many changes): an in-order walk of the old map merged with the
 *   sorted changes, then the treap built in one pass over a stack (a Cartesian tree). Costs
 *   O(n + k log k) and new cells for every node, so it wins when the changes are a sizeable share
 *   of the map: 100,000 new files into an empty desk (bench figures in docs/kernel.md).
 *
 * Every walk is an explicit loop (docs/contributing.md): a map with a million keys never recurses.
 */
import { PleaError } from "../../error.ts";
import { Cell } from "../../noun/cell.ts";
import { mug } from "../../noun/mug.ts";
import { equals } from "../../noun/equals.ts";
import type { Noun } from "../../noun/noun.ts";
import { KernelErrorCode } from "./errors.ts";
import { dor, gor, mor } from "./order.ts";

/** The empty map, `~`. */
export const EMPTY_MAP: Noun = 0;

/** `mapApply` rebuilds in bulk from this many changes up, when they are at least a third of the map. */
export const MAP_BULK_CHANGES_MIN = 1000;

function node(n: Cell, l: Noun, r: Noun): Cell {
  return new Cell(n, new Cell(l, r));
}

/** Checks that `t` is a map node `[[key value] l r]` (a state from disk is checked as it is read). */
function asNode(t: Noun): Cell {
  if (!(t instanceof Cell) || !(t.head instanceof Cell) || !(t.tail instanceof Cell)) {
    throw new PleaError(KernelErrorCode.state, "A map node in the state is not [[key value] left right]");
  }
  return t;
}
const entryOf = (t: Cell): Cell => t.head as Cell;
const leftOf = (t: Cell): Noun => (t.tail as Cell).head;
const rightOf = (t: Cell): Noun => (t.tail as Cell).tail;

/** Same key: compare mugs first (cached in cells), then structure. */
function sameKey(a: Noun, b: Noun): boolean {
  return a === b || (mug(a) === mug(b) && equals(a, b));
}

/** `(~(get by a) key)`: the value, or undefined. */
export function mapGet(tree: Noun, key: Noun): Noun | undefined {
  let t = tree;
  while (t !== 0) {
    const c = asNode(t);
    const n = entryOf(c);
    if (sameKey(key, n.head)) return n.tail;
    t = gor(key, n.head) ? leftOf(c) : rightOf(c);
  }
  return undefined;
}

/**
 * `(~(put by a) key value)`. Descends recording the path, then rebuilds it bottom-up, rotating the
 * new node up while it outranks its parent (`mor`); once it stops, nothing above it rotates.
 * Returns `tree` itself when `key` already maps to this very `value` object.
 */
export function mapPut(tree: Noun, key: Noun, value: Noun): Noun {
  const path: Cell[] = [];
  const left: boolean[] = [];
  let t = tree;
  let sub: Cell | undefined;
  while (t !== 0) {
    const c = asNode(t);
    const n = entryOf(c);
    if (sameKey(key, n.head)) {
      if (n.tail === value) return tree;
      // Keep the stored key object: equal, and its mug is already cached.
      sub = node(new Cell(n.head, value), leftOf(c), rightOf(c));
      break;
    }
    path.push(c);
    const goLeft = gor(key, n.head);
    left.push(goLeft);
    t = goLeft ? leftOf(c) : rightOf(c);
  }
  let rotating = sub === undefined;
  let d: Cell = sub ?? node(new Cell(key, value), 0, 0);
  for (let i = path.length - 1; i >= 0; i--) {
    const a = path[i];
    const n = entryOf(a);
    if (rotating && !mor(n.head, entryOf(d).head)) {
      // d(r a(l r.d)) going left, d(l a(r l.d)) going right.
      d = left[i] ? node(entryOf(d), leftOf(d), node(n, rightOf(d), rightOf(a))) : node(entryOf(d), node(n, leftOf(a), leftOf(d)), rightOf(d));
    } else {
      rotating = false;
      d = left[i] ? node(n, d, rightOf(a)) : node(n, leftOf(a), d);
    }
  }
  return d;
}

/** `(~(del by a) key)`: the map without `key` (the same noun when it is absent). */
export function mapDel(tree: Noun, key: Noun): Noun {
  const path: Cell[] = [];
  const left: boolean[] = [];
  let t = tree;
  let merged: Noun | undefined;
  while (t !== 0) {
    const c = asNode(t);
    const n = entryOf(c);
    if (sameKey(key, n.head)) {
      merged = merge(leftOf(c), rightOf(c));
      break;
    }
    path.push(c);
    const goLeft = gor(key, n.head);
    left.push(goLeft);
    t = goLeft ? leftOf(c) : rightOf(c);
  }
  if (merged === undefined) return tree;
  let sub = merged;
  for (let i = path.length - 1; i >= 0; i--) {
    const a = path[i];
    sub = left[i] ? node(entryOf(a), sub, rightOf(a)) : node(entryOf(a), leftOf(a), sub);
  }
  return sub;
}

/**
 * Joins two treaps whose keys are all ordered `l` before `r`: the root is whichever root ranks
 * higher, then the same on the side that meets the other tree (hoon.hoon `del:by`'s inner loop).
 */
function merge(l: Noun, r: Noun): Noun {
  const spine: Cell[] = [];
  const fromLeft: boolean[] = [];
  while (l !== 0 && r !== 0) {
    const lc = asNode(l);
    const rc = asNode(r);
    if (mor(entryOf(lc).head, entryOf(rc).head)) {
      spine.push(lc);
      fromLeft.push(true);
      l = rightOf(lc);
    } else {
      spine.push(rc);
      fromLeft.push(false);
      r = leftOf(rc);
    }
  }
  let sub: Noun = l === 0 ? r : l;
  for (let i = spine.length - 1; i >= 0; i--) {
    const s = spine[i];
    sub = fromLeft[i] ? node(entryOf(s), leftOf(s), sub) : node(entryOf(s), sub, rightOf(s));
  }
  return sub;
}

/** Calls `visit(key, value)` for every entry, in pre-order, without recursion. */
export function mapForEach(tree: Noun, visit: (key: Noun, value: Noun) => void): void {
  const stack: Noun[] = [tree];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t === 0) continue;
    const c = asNode(t);
    const n = entryOf(c);
    visit(n.head, n.tail);
    stack.push(rightOf(c), leftOf(c));
  }
}

/** Number of entries (a full walk). */
export function mapSize(tree: Noun): number {
  let count = 0;
  mapForEach(tree, () => count++);
  return count;
}

/** The entries in `gor` order (an in-order walk). */
function inOrder(tree: Noun): Cell[] {
  const out: Cell[] = [];
  const stack: Cell[] = [];
  let t = tree;
  while (t !== 0 || stack.length > 0) {
    while (t !== 0) {
      const c = asNode(t);
      stack.push(c);
      t = leftOf(c);
    }
    const c = stack.pop()!;
    out.push(entryOf(c));
    t = rightOf(c);
  }
  return out;
}

/** One change: `value` undefined deletes `key`. */
export interface MapChange {
  readonly key: Noun;
  readonly value: Noun | undefined;
}

/**
 * Applies `changes` in order (a later change to the same key wins) and calls `seen(change, prev)`
 * with the value the key had just before each change, so the caller can keep counts. `size` is
 * the map's entry count (the caller knows it; it picks one-by-one or bulk rebuilding).
 */
export function mapApply(
  tree: Noun,
  size: number,
  changes: readonly MapChange[],
  seen: (change: MapChange, prev: Noun | undefined) => void,
): Noun {
  if (changes.length < MAP_BULK_CHANGES_MIN || changes.length * 3 < size) {
    let t = tree;
    for (const change of changes) {
      const prev = mapGet(t, change.key);
      seen(change, prev);
      if (change.value === undefined) {
        if (prev !== undefined) t = mapDel(t, change.key);
      } else {
        t = mapPut(t, change.key, change.value);
      }
    }
    return t;
  }
  return rebuild(tree, changes, seen);
}

/** Strict `gor` order for sorting (0 only for equal keys). */
function gorCompare(a: Noun, b: Noun): number {
  if (sameKey(a, b)) return 0;
  return gor(a, b) ? -1 : 1;
}

function rebuild(tree: Noun, changes: readonly MapChange[], seen: (change: MapChange, prev: Noun | undefined) => void): Noun {
  // Changes in gor order, comparing cached mugs first; equal keys keep their event order.
  const keyMug = new Float64Array(changes.length);
  for (let k = 0; k < changes.length; k++) keyMug[k] = mug(changes[k].key);
  const order = Array.from({ length: changes.length }, (_, k) => k);
  order.sort((x, y) => {
    if (keyMug[x] !== keyMug[y]) return keyMug[x] - keyMug[y];
    const c = gorCompare(changes[x].key, changes[y].key);
    return c !== 0 ? c : x - y;
  });
  const old = inOrder(tree);
  const entries: Cell[] = [];
  let i = 0;
  let j = 0;
  while (j < order.length) {
    const key = changes[order[j]].key;
    while (i < old.length && gorCompare(old[i].head, key) < 0) entries.push(old[i++]);
    let current: Cell | undefined;
    if (i < old.length && sameKey(old[i].head, key)) current = old[i++];
    // Every change to this key, in event order.
    for (; j < order.length && sameKey(changes[order[j]].key, key); j++) {
      const change = changes[order[j]];
      seen(change, current?.tail);
      if (change.value === undefined) current = undefined;
      else if (current === undefined || current.tail !== change.value) current = new Cell(current?.head ?? change.key, change.value);
    }
    if (current !== undefined) entries.push(current);
  }
  while (i < old.length) entries.push(old[i++]);
  return cartesian(entries);
}

/**
 * The treap of `entries` (already in gor order): a Cartesian tree by `mor`, built left to right
 * with a stack holding the right spine, then turned into cells children-first.
 */
function cartesian(entries: readonly Cell[]): Noun {
  const n = entries.length;
  if (n === 0) return 0;
  const rank = new Float64Array(n);
  for (let k = 0; k < n; k++) rank[k] = mug(mug(entries[k].head));
  // a above b: `mor` (double-mug order, ties by dor).
  const above = (a: number, b: number) => (rank[a] === rank[b] ? dor(entries[a].head, entries[b].head) : rank[a] < rank[b]);
  const left = new Int32Array(n).fill(-1);
  const right = new Int32Array(n).fill(-1);
  const spine: number[] = [];
  for (let k = 0; k < n; k++) {
    let last = -1;
    while (spine.length > 0 && above(k, spine[spine.length - 1])) last = spine.pop()!;
    left[k] = last;
    if (spine.length > 0) right[spine[spine.length - 1]] = k;
    spine.push(k);
  }
  // Children before parents: an explicit post-order over the index tree.
  const built: Noun[] = new Array(n);
  const stack: number[] = [spine[0]];
  const expanded = new Uint8Array(n);
  while (stack.length > 0) {
    const k = stack[stack.length - 1];
    if (!expanded[k]) {
      expanded[k] = 1;
      if (right[k] >= 0) stack.push(right[k]);
      if (left[k] >= 0) stack.push(left[k]);
      continue;
    }
    stack.pop();
    built[k] = node(entries[k], left[k] >= 0 ? built[left[k]] : 0, right[k] >= 0 ? built[right[k]] : 0);
  }
  return built[spine[0]];
}
