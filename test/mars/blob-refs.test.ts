/**
 * mars's half of blob references (src/mars/blob-refs.ts, docs/ipc.md "Plea extension: blob
 * references"), on a real blob store: a `%bref` as urth builds it resolves to the poke it stands
 * for, each blob an atom sourced from the store with its footer's mug; a blob that is missing, of
 * another length or damaged is `unresolved` (that poke fails, naming it); a jam that does not
 * match its references is `resolve-bad` (malformed). A plea segment's reference entry is checked
 * the same way, and against the blob's footer.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { openSync, writeSync, closeSync, statSync } from "node:fs";
import { BlobStore, blobDigestOf, type BlobRef } from "../../src/blob/index.ts";
import { cue, jam, type JamRef } from "../../src/noun/index.ts";
import { parseTask, taskToNoun, type Task } from "../../src/ipc/task.ts";
import { pathToNoun } from "../../src/ipc/shape.ts";
import { atomFromBytes, BigAtom, cell, cord, equals, mug, tuple, type Cell, type Noun } from "../../src/noun/index.ts";
import { blobAtom, resolveBref, shmRefAtom } from "../../src/mars/blob-refs.ts";
import type { BrefTask } from "../../src/plea/mars.ts";
import { atomBytes, removeTempPiers, tempPier } from "../blob/blob-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const LENGTH = 200 * 1024;

/** A store holding one blob, the atom of its bytes (in the heap) and its reference. */
async function storeWith(seed: number): Promise<{ store: BlobStore; heap: BigAtom; ref: BlobRef; pier: string }> {
  const pier = tempPier();
  const store = new BlobStore(pier);
  const bytes = atomBytes(LENGTH, seed);
  const heap = atomFromBytes(bytes) as BigAtom;
  const { ref } = await store.put(bytes, mug(heap));
  return { store, heap, ref, pier };
}

/** The poke task of an %into-like ovum carrying `data` twice (the second a back-reference in jam). */
function pokeOf(data: Noun): Noun {
  const ovum = cell(pathToNoun(["c", "sync"]), tuple(cord("into"), 0, cell(data, data))) as Cell;
  return taskToNoun({ type: "poke", mil: 0, ovum });
}

/** The `%bref` urth sends for `task`, its atoms `refOf` names as references, parsed as mars reads it. */
function brefOf(task: Noun, refOf: (a: BigAtom) => BlobRef | undefined): BrefTask {
  const table: JamRef<BlobRef>[] = [];
  const bytes = jam(task, { refOf, table });
  const noun = taskToNoun({ type: "bref", refs: table.map((r) => ({ bitOffset: r.bitOffset, name: r.ref.name, byteLength: r.ref.byteLength })), jam: atomFromBytes(bytes) });
  return parseTask(cue(jam(noun))) as BrefTask;
}

describe("resolveBref", () => {
  test("a %bref resolves to the poke it stands for, its blob an atom sourced from the store with the footer's mug", async () => {
    const { store, heap, ref } = await storeWith(1);
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const task = pokeOf(sourced);
    const bref = brefOf(task, (a) => (a === sourced ? ref : undefined));
    // One reference: the second use of the atom is a back-reference to the first.
    expect(bref.refs).toEqual([{ bitOffset: expect.any(Number), name: ref.name, byteLength: LENGTH }]);
    const r = resolveBref(bref, store);
    expect(r.refs).toBe(1);
    expect(r.refBytes).toBe(LENGTH);
    expect(r.input.type).toBe("resolved");
    const noun = (r.input as { noun: Noun }).noun;
    // The same value as the poke with the bytes in the heap.
    expect(equals(noun, pokeOf(heap))).toBe(true);
    const t = parseTask(noun) as Extract<Task, { type: "poke" }>;
    const data = ((t.ovum.tail as Cell).tail as Cell).tail as Cell;
    expect(data.head).toBe(data.tail);
    const a = data.head as BigAtom;
    expect(a.source).toBeDefined();
    expect(a.mug).toBe(mug(heap));
  });

  test("a blob that is not in the store is unresolved, naming it", async () => {
    const { store, ref } = await storeWith(2);
    const missing = { ...ref, name: "ab".repeat(32) };
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const r = resolveBref(brefOf(pokeOf(sourced), () => missing), store);
    expect(r.input.type).toBe("unresolved");
    expect((r.input as { message: string }).message).toContain("ab".repeat(32));
    expect((r.input as { message: string }).message).toContain("commit again");
  });

  test("a blob named with another length is unresolved, naming it", async () => {
    const { store, ref } = await storeWith(3);
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const r = resolveBref(brefOf(pokeOf(sourced), () => ({ ...ref, byteLength: LENGTH + 1 })), store);
    expect(r.input.type).toBe("unresolved");
    expect((r.input as { message: string }).message).toContain(ref.name);
  });

  test("a blob whose footer is damaged is unresolved, naming it", async () => {
    const { store, ref } = await storeWith(4);
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const bref = brefOf(pokeOf(sourced), (a) => (a === sourced ? ref : undefined));
    // Damaged after urth made the reference: a byte of the footer's mug field.
    const path = store.pathOf(ref.name);
    const fd = openSync(path, "r+");
    writeSync(fd, new Uint8Array([0x55]), 0, 1, statSync(path).size - 40);
    closeSync(fd);
    const r = resolveBref(bref, store);
    expect(r.input.type).toBe("unresolved");
    expect((r.input as { message: string }).message).toContain(ref.name);
  });

  test("a reference at an offset where the jam holds no atom 0 is resolve-bad (the jam is damaged)", async () => {
    const { store, ref } = await storeWith(5);
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const good = brefOf(pokeOf(sourced), (a) => (a === sourced ? ref : undefined));
    const shifted: BrefTask = { ...good, refs: [{ ...good.refs[0], bitOffset: good.refs[0].bitOffset + 1 }] };
    const r = resolveBref(shifted, store);
    expect(r.input.type).toBe("resolve-bad");
  });

  test("one blob named with two lengths is resolve-bad", async () => {
    const { store, ref } = await storeWith(6);
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    const good = brefOf(pokeOf(sourced), (a) => (a === sourced ? ref : undefined));
    const twice: BrefTask = { ...good, refs: [good.refs[0], { bitOffset: good.refs[0].bitOffset + 2, name: ref.name, byteLength: LENGTH + 1 }] };
    expect(resolveBref(twice, store).input.type).toBe("resolve-bad");
  });
});

describe("blobAtom and shmRefAtom", () => {
  test("a segment's reference that disagrees with the blob's footer about its mug is refused", async () => {
    const { store, ref } = await storeWith(7);
    const shm = { name: blobDigestOf(ref.name), byteLength: ref.byteLength, bitLength: ref.bitLength, mug: ref.mug };
    expect(shmRefAtom(store, shm).mug).toBe(ref.mug);
    expect(() => shmRefAtom(store, { ...shm, mug: ref.mug ^ 1 })).toThrow(/footer says mug/);
    expect(() => shmRefAtom(store, { ...shm, bitLength: ref.bitLength - 1 })).toThrow(ref.name);
  });

  test("blobAtom reads the footer, not the bytes: the atom's bytes are the blob's when read", async () => {
    const { store, heap, ref } = await storeWith(8);
    const a = blobAtom(store, ref.name, LENGTH);
    expect(a.byteLength).toBe(LENGTH);
    expect(equals(a, heap)).toBe(true);
  });
});
