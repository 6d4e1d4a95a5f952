/**
 * Settling an event once it is durable (src/mars/settle.ts): the walk over a noun and the
 * event form that is told its views, which must make the same moves.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { BigAtom, cell, type AtomBytesSource } from "../../src/noun/index.ts";
import { settleAtoms, settleEvent } from "../../src/mars/settle.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** An atom of `n` bytes of `fill`, a view of a fresh buffer owned by `owner` when given. */
function atomOf(n: number, fill: number, owner?: unknown): BigAtom {
  return new BigAtom(new Uint8Array(n).fill(fill), owner);
}

/** A source that holds `a`'s bytes, as a blob would. */
function sourceOf(a: BigAtom): AtomBytesSource {
  const bytes = a.bytes.slice();
  return { byteLength: bytes.length, bitLength: bytes.length * 8 - Math.clz32(bytes[bytes.length - 1]) + 24, contentKey: `k${bytes[0]}`, bytes: () => bytes } as unknown as AtomBytesSource;
}

function scenario() {
  const mapping = { name: "mapping" };
  const stored = atomOf(64, 1, mapping); // a view the log stored as a blob
  const view = atomOf(32, 2, mapping); // a view left in the heap
  const heapStored = atomOf(48, 3); // a heap atom (a copy across windows) the log stored
  const heap = atomOf(16, 4); // a heap atom: nothing to do
  const blobs = new Map<BigAtom, AtomBytesSource>([
    [stored, sourceOf(stored)],
    [heapStored, sourceOf(heapStored)],
  ]);
  const ovum = cell(stored, cell(view, cell(heapStored, cell(heap, view))));
  return { mapping, stored, view, heapStored, heap, blobs, ovum, views: [stored, view] };
}

describe("settle", () => {
  for (const form of ["walk", "event"] as const) {
    test(`${form}: stored atoms move to their blob, other views to the heap, and the mapping is named`, () => {
      const s = scenario();
      const viewBytes = s.view.bytes;
      const owners = form === "walk" ? settleAtoms(s.ovum, s.blobs) : settleEvent(s.views, s.blobs);
      expect([...owners]).toEqual([s.mapping]);
      for (const a of [s.stored, s.heapStored]) {
        expect(a.source).toBe(s.blobs.get(a));
        expect(a.owner).toBeUndefined();
      }
      expect(s.view.owner).toBeUndefined();
      expect(s.view.source).toBeUndefined();
      // A copy: it no longer sees the mapping's bytes.
      expect(s.view.bytes.buffer).not.toBe(viewBytes.buffer);
      viewBytes.fill(0);
      expect(s.view.bytes[0]).toBe(2);
      expect(s.heap.source).toBeUndefined();
    });
  }

  test("event: a view listed twice, or already moved, is settled once", () => {
    const s = scenario();
    const owners = settleEvent([...s.views, s.view, s.stored], s.blobs);
    expect(owners.size).toBe(1);
    expect(s.stored.source).toBe(s.blobs.get(s.stored));
  });
});
