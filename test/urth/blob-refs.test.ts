/**
 * urth's half of blob references (src/urth/blob-refs.ts, docs/ipc.md "Plea extension: blob
 * references"), on a real blob store: a file is hashed only when its exact length is a stored
 * blob's, referred to only when the store holds its bytes, and the atom that stands for it is the
 * file's value (equal bytes, the footer's mug) without reading the blob.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobFileBytes, BLOB_PIECE_BYTES, BlobStore } from "../../src/blob/index.ts";
import { isPleaError } from "../../src/error.ts";
import { atomFromBytes, BigAtom, equals, FileAtom, mug, NounErrorCode } from "../../src/noun/index.ts";
import { blobByteLengthOf, BlobReferrer, storeCatalog, type BlobCatalog } from "../../src/urth/blob-refs.ts";
import { sha256OfFileAtom } from "../../src/urth/file-hash.ts";
import { atomBytes, removeTempPiers, tempPier } from "../blob/blob-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(removeTempPiers);

const LENGTH = 300 * 1024;

/** A pier whose store holds one blob of `bytes`, and a file path in its mount. */
async function pierWith(bytes: Uint8Array): Promise<{ pier: string; store: BlobStore; file: (name: string, data: Uint8Array) => FileAtom }> {
  const pier = tempPier();
  const store = new BlobStore(pier);
  const a = atomFromBytes(bytes);
  await store.put(bytes, mug(a));
  mkdirSync(join(pier, "base"));
  return {
    pier,
    store,
    file: (name, data) => {
      const path = join(pier, "base", name);
      writeFileSync(path, data);
      return new FileAtom(path);
    },
  };
}

/** A catalog that counts how often the store is listed and looked up. */
function counting(inner: BlobCatalog): BlobCatalog & { listings: number; finds: number } {
  const c = {
    listings: 0,
    finds: 0,
    lengths: () => {
      c.listings++;
      return inner.lengths();
    },
    find: (name: string, byteLength: number) => {
      c.finds++;
      return inner.find(name, byteLength);
    },
    source: inner.source,
  };
  return c;
}

describe("BlobReferrer", () => {
  test("a file whose bytes are a stored blob becomes an atom standing for it: equal to the file's value, with the footer's mug", async () => {
    const bytes = atomBytes(LENGTH, 7);
    const { store, file } = await pierWith(bytes);
    const catalog = counting(storeCatalog(store));
    const r = new BlobReferrer(catalog);
    const fa = file("same.bin", bytes);
    const a = r.refer(fa);
    expect(a).toBeInstanceOf(BigAtom);
    const big = a as BigAtom;
    expect(big.source).toBeDefined();
    expect(big.byteLength).toBe(LENGTH);
    expect(big.mug).toBe(mug(atomFromBytes(bytes)));
    expect(r.refOf(big)?.name).toBe(new Bun.CryptoHasher("sha256").update(bytes).digest("hex"));
    expect(r.any).toBe(true);
    expect(r.stats).toMatchObject({ hashedFiles: 1, hashedBytes: LENGTH, refs: 1, refBytes: LENGTH });
    // Its value is the file's (compared by reading both here, in the test).
    expect(equals(atomFromBytes(big.bytes), fa.materialize())).toBe(true);
    // A second file of the same bytes: one listing per referrer, one lookup per hashed file.
    r.refer(file("copy.bin", bytes));
    expect(catalog.listings).toBe(1);
    expect(catalog.finds).toBe(2);
    expect(r.stats.refs).toBe(2);
  });

  test("a file of a length no blob has is neither hashed nor looked up", async () => {
    const { store, file } = await pierWith(atomBytes(LENGTH, 7));
    const catalog = counting(storeCatalog(store));
    const r = new BlobReferrer(catalog);
    const fa = file("longer.bin", atomBytes(LENGTH + 1, 7));
    expect(r.refer(fa)).toBe(fa);
    expect(r.stats).toMatchObject({ hashedFiles: 0, hashedBytes: 0, refs: 0 });
    expect(catalog.finds).toBe(0);
    expect(r.any).toBe(false);
  });

  test("a file of a blob's length with other bytes is hashed and sent as itself", async () => {
    const { store, file } = await pierWith(atomBytes(LENGTH, 7));
    const r = new BlobReferrer(storeCatalog(store));
    const fa = file("other.bin", atomBytes(LENGTH, 8));
    expect(r.refer(fa)).toBe(fa);
    expect(r.stats).toMatchObject({ hashedFiles: 1, hashedBytes: LENGTH, refs: 0, refBytes: 0 });
  });

  test("an empty store costs no read of any file", async () => {
    const pier = tempPier();
    mkdirSync(join(pier, "base"));
    const path = join(pier, "base", "f.bin");
    writeFileSync(path, atomBytes(LENGTH, 1));
    const fa = new FileAtom(path);
    // Gone after its stat: any read of it would now throw.
    rmSync(path);
    const r = new BlobReferrer(storeCatalog(new BlobStore(pier)));
    expect(r.refer(fa)).toBe(fa);
    expect(r.stats.hashedFiles).toBe(0);
  });

  test("the file's trailing zero bytes are not its atom's: its exact length and hash are the blob's", async () => {
    const bytes = atomBytes(LENGTH, 9);
    const { store, file } = await pierWith(bytes);
    const padded = new Uint8Array(LENGTH + 5000);
    padded.set(bytes);
    const r = new BlobReferrer(storeCatalog(store));
    const a = r.refer(file("padded.bin", padded));
    expect(a).toBeInstanceOf(BigAtom);
    expect(r.stats.refBytes).toBe(LENGTH);
  });

  test("a file changed since its atom was made fails with file_changed, before anything is referred to", async () => {
    const bytes = atomBytes(LENGTH, 7);
    const { store, file } = await pierWith(bytes);
    const fa = file("moved.bin", bytes);
    utimesSync(fa.path, new Date(), new Date(Date.now() + 5000));
    const r = new BlobReferrer(storeCatalog(store));
    let error: unknown;
    try {
      r.refer(fa);
    } catch (e) {
      error = e;
    }
    expect(isPleaError(error, NounErrorCode.fileAtom.changed)).toBe(true);
    expect(r.any).toBe(false);
  });
});

describe("hashing and the store's listing", () => {
  test("sha256OfFileAtom hashes the atom's bytes in pieces, whatever the piece boundaries", async () => {
    const pier = tempPier();
    for (const length of [1, 4 * 1024 * 1024 - 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 3]) {
      const bytes = atomBytes(length, length);
      const path = join(pier, `f${length}`);
      writeFileSync(path, bytes);
      expect(sha256OfFileAtom(new FileAtom(path), length)).toBe(new Bun.CryptoHasher("sha256").update(bytes).digest("hex"));
    }
  });

  test("blobByteLengthOf inverts blobFileBytes, and no other size is a blob's", () => {
    for (const n of [1, 2, 7, BLOB_PIECE_BYTES - 1, BLOB_PIECE_BYTES, BLOB_PIECE_BYTES + 1, 3 * BLOB_PIECE_BYTES, 2 ** 30 + 17, 2 ** 32 - 1, 2 ** 32]) {
      expect(blobByteLengthOf(blobFileBytes(n))).toBe(n);
    }
    // Between the files of n and n + 1 bytes across a piece border there is a gap of sizes.
    const border = blobFileBytes(BLOB_PIECE_BYTES);
    expect(blobFileBytes(BLOB_PIECE_BYTES + 1)).toBe(border + 5);
    for (let size = border + 1; size < border + 5; size++) expect(blobByteLengthOf(size)).toBeUndefined();
    expect(blobByteLengthOf(0)).toBeUndefined();
    expect(blobByteLengthOf(blobFileBytes(0))).toBeUndefined();
  });

  test("the catalog lists each stored blob's length and finds a blob only at its length", async () => {
    const bytes = atomBytes(LENGTH, 3);
    const { store } = await pierWith(bytes);
    const other = atomBytes(2 * LENGTH, 4);
    await store.put(other, mug(atomFromBytes(other)));
    const catalog = storeCatalog(store);
    expect([...catalog.lengths()].sort((a, b) => a - b)).toEqual([LENGTH, 2 * LENGTH]);
    const name = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    expect(catalog.find(name, LENGTH)).toMatchObject({ name, byteLength: LENGTH, mug: mug(atomFromBytes(bytes)) });
    expect(catalog.find(name, LENGTH + 1)).toBeUndefined();
    expect(catalog.find("0".repeat(64), LENGTH)).toBeUndefined();
    // A file in bob/ that is not a blob's is not listed (the store lists only hex names).
    writeFileSync(join(store.paths.dir, "notes.txt"), "x");
    expect(catalog.lengths().size).toBe(2);
  });
});
