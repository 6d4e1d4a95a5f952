/**
 * How urth routes and sends a poke that refers to blobs of the pier's store (docs/plea.md, "When
 * urth takes the plea path"; docs/ipc.md, "Plea extension: blob references"), with a real mars:
 * the referenced bytes do not count towards the plea threshold, so an event of a large stored
 * file alone is a small pipe event (a `%bref`); a plea-sized event that mars cannot make a
 * segment for falls back to the pipe as a `%bref` too, never sending the stored bytes; and a
 * segment's reference to a blob mars does not have fails that poke alone.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { goofToText } from "../../src/ipc/goof.ts";
import { BlobStore } from "../../src/blob/index.ts";
import { SHM_DIR_ENV } from "../../src/ffi/index.ts";
import { atomFromBytes, BigAtom, equals, FileAtom, mug } from "../../src/noun/index.ts";
import { BlobReferrer, storeCatalog } from "../../src/urth/blob-refs.ts";
import type { PokeProgress } from "../../src/urth/mars-process.ts";
import { eventInfos, readFile } from "../../src/urth/peeks.ts";
import { cleanUp, leftoverSegments, MIB, ovum, phaseSequence, pseudoRandomBytes, startMars, tempDir, tempFile, tempPier, TEST_TIMEOUT_MS } from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

/** A file of `length` bytes whose copy the pier's store holds (stored while mars runs, as mars would), and its referring atom. */
async function storedFile(pier: string, length: number, seed: number): Promise<{ bytes: Uint8Array; referrer: BlobReferrer; atom: BigAtom }> {
  const bytes = pseudoRandomBytes(length, seed);
  bytes[length - 1] |= 1;
  await new BlobStore(pier).put(bytes, mug(atomFromBytes(bytes)));
  const referrer = new BlobReferrer(storeCatalog(new BlobStore(pier)));
  const atom = referrer.refer(new FileAtom(tempFile(bytes, "stored.bin")));
  expect(atom).toBeInstanceOf(BigAtom);
  return { bytes, referrer, atom: atom as BigAtom };
}

describe("a poke that refers to blobs", () => {
  test("counts its references, not their bytes, towards the threshold: a 4 MiB stored file alone is a pipe %bref under a 1 MiB threshold", async () => {
    const { pier } = tempPier();
    const { mars } = await startMars({ pier, pleaThresholdBytes: MIB });
    const { bytes, referrer, atom } = await storedFile(pier, 4 * MIB, 1);
    const progress: PokeProgress[] = [];
    const r = await mars.poke(ovum([{ path: "/stored/bin", atom, length: bytes.length }]), { refs: referrer, onProgress: (p) => progress.push(p) });
    expect(r).toEqual({ ok: true, effects: [], path: "pipe", eve: 1 });
    expect(phaseSequence(progress)).toEqual(["sending/pipe", "sent/pipe"]);
    // What went through the pipe: the event without the file.
    expect(progress.at(-1)!.bytes).toBeLessThan(1024);
    const [info] = await eventInfos(mars, 1, 1);
    expect(info.detail).toMatchObject({ refs: 1, refBytes: bytes.length });
    expect(equals((await readFile(mars, ["stored", "bin"]))!.data, atomFromBytes(bytes))).toBe(true);
  });

  test("a plea-sized event mars cannot make a segment for goes through the pipe as a %bref, its stored file as a reference", async () => {
    const { pier } = tempPier();
    const { mars, log } = await startMars({ pier, pleaThresholdBytes: MIB, env: { [SHM_DIR_ENV]: join(tempDir(), "missing") }, shmKind: "named" });
    const { bytes, referrer, atom } = await storedFile(pier, 2 * MIB, 2);
    const fresh = pseudoRandomBytes(3 * MIB, 3);
    const progress: PokeProgress[] = [];
    const poke = ovum([
      { path: "/fresh/bin", bytes: fresh },
      { path: "/stored/bin", atom, length: bytes.length },
    ]);
    const r = await mars.poke(poke, { refs: referrer, onProgress: (p) => progress.push(p) });
    expect(r).toEqual({ ok: true, effects: [], path: "pipe", eve: 1 });
    expect(phaseSequence(progress)).toEqual(["asking/plea", "sending/pipe", "sent/pipe"]);
    expect(log.some((line) => line.startsWith("plea refused by mars (plea-create)"))).toBe(true);
    // The fresh 3 MiB went through the pipe; the stored 2 MiB did not.
    const sent = progress.at(-1)!.bytes!;
    expect(sent).toBeGreaterThan(3 * MIB);
    expect(sent).toBeLessThan(3 * MIB + 64 * 1024);
    const [info] = await eventInfos(mars, 1, 1);
    expect(info.detail).toMatchObject({ refs: 1, refBytes: bytes.length });
    expect(equals((await readFile(mars, ["stored", "bin"]))!.data, atomFromBytes(bytes))).toBe(true);
    expect(equals((await readFile(mars, ["fresh", "bin"]))!.data, atomFromBytes(fresh))).toBe(true);
  });

  test("a blob gone from the store before mars reads the segment's reference fails that poke, naming it; nothing is logged and mars goes on", async () => {
    // Threshold 0: every poke takes the plea path, where urth writes the reference without reading the blob.
    const { pier } = tempPier();
    const { mars } = await startMars({ pier, pleaThresholdBytes: 0 });
    const { bytes, referrer, atom } = await storedFile(pier, 2 * MIB, 4);
    const store = new BlobStore(pier);
    const [name] = store.list();
    rmSync(store.pathOf(name));
    const r = await mars.poke(ovum([{ path: "/stored/bin", atom, length: bytes.length }]), { refs: referrer });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.path).toBe("plea");
    expect(r.goofs.map(goofToText).join("\n")).toMatch(new RegExp(`^%plea-bad: .*${name}.*not in the pier's blob store`));
    // mars is still there, and the failed event was not logged: the next one is event 1.
    expect(await mars.poke(ovum([{ path: "/after/txt", bytes: new TextEncoder().encode("next") }]))).toEqual({ ok: true, effects: [], path: "plea", eve: 1 });
  });
});
