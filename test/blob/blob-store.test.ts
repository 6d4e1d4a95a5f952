/**
 * The blob store on real files (docs/blob-store.md): round trip, dedup, the checks a reader makes
 * before it hands out bytes (a flipped bit, a truncated file, a damaged footer), the start-up
 * sweep, private modes, verify, and a sourced atom that equals and jams as its heap twin.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BLOB_ATOM_BYTES_MIN_DEFAULT,
  BLOB_FOOTER_BYTES,
  BLOB_PIECE_BYTES,
  BlobErrorCode,
  BlobStore,
  blobAtomBytesMin,
  blobDigestOf,
  blobFileBytes,
  blobNameOf,
  blobPaths,
  mapBlob,
  verifyBlob,
  type BlobRef,
} from "../../src/blob/index.ts";
import { crc32 } from "../../src/blob/checksums.ts";
import { isPleaError } from "../../src/error.ts";
import { LOG_INLINE_BYTES_MAX } from "../../src/mars/log/record.ts";
import { atomFromBytes, BigAtom, equals, jam, mug } from "../../src/noun/index.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { atomBytes, removeTempPiers, tempPier } from "./blob-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(() => removeTempPiers());

/** Two full pieces and a short third: every piece boundary is exercised. */
const LENGTH = 2 * BLOB_PIECE_BYTES + 12345;

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The mug of the atom with these bytes, as mars would pass it. */
const mugOf = (bytes: Uint8Array) => mug(atomFromBytes(bytes));

/** Flips one bit of the file at `path`, at `offset`. */
function flipBit(path: string, offset: number): void {
  const file = readFileSync(path);
  file[offset] = (file[offset] as number) ^ 0x10;
  writeFileSync(path, file);
}

/** Runs `f` and returns the PleaError it throws (fails the test if it throws nothing else). */
function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isPleaError(e)) return { code: String(e.code), message: e.message };
    throw e;
  }
  throw new Error("expected a PleaError, nothing was thrown");
}

async function storeWithBlob(length = LENGTH, seed = 7): Promise<{ store: BlobStore; bytes: Uint8Array; ref: BlobRef; path: string }> {
  const store = new BlobStore(tempPier());
  const bytes = atomBytes(length, seed);
  const { ref } = await store.put(bytes, mugOf(bytes));
  return { store, bytes, ref, path: store.pathOf(ref.name) };
}

describe("layout", () => {
  test("a name is the hex of a 32-byte digest and back", () => {
    const digest = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const name = blobNameOf(digest);
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect(blobDigestOf(name)).toEqual(digest);
    expect(thrown(() => blobDigestOf("AB".repeat(32))).code).toBe(BlobErrorCode.usage);
  });

  test("a file's size is a function of the byte length: bytes, one CRC per piece, footer", () => {
    expect(blobFileBytes(1)).toBe(1 + 4 + BLOB_FOOTER_BYTES);
    expect(blobFileBytes(BLOB_PIECE_BYTES)).toBe(BLOB_PIECE_BYTES + 4 + BLOB_FOOTER_BYTES);
    expect(blobFileBytes(BLOB_PIECE_BYTES + 1)).toBe(BLOB_PIECE_BYTES + 1 + 8 + BLOB_FOOTER_BYTES);
  });

  test("the paths are <pier>/.urb/bob and its stg", () => {
    expect(blobPaths("/p")).toEqual({ dir: "/p/.urb/bob", staging: "/p/.urb/bob/stg" });
  });

  test("the threshold is 1 MiB (the log's inline limit) unless PLEA_BLOB_BYTES_MIN says otherwise", () => {
    expect(BLOB_ATOM_BYTES_MIN_DEFAULT).toBe(LOG_INLINE_BYTES_MAX);
    expect(blobAtomBytesMin({})).toBe(1024 * 1024);
    expect(blobAtomBytesMin({ PLEA_BLOB_BYTES_MIN: "4096" })).toBe(4096);
    for (const bad of ["0", "-1", "1e3", "12k", String(2 ** 33)]) {
      expect(thrown(() => blobAtomBytesMin({ PLEA_BLOB_BYTES_MIN: bad })).code).toBe(BlobErrorCode.usage);
    }
  });

  test("chained CRC-32 equals the CRC of the whole (the footer's checksum relies on it)", () => {
    const a = atomBytes(1000, 1);
    const b = atomBytes(777, 2);
    const ab = new Uint8Array(1777);
    ab.set(a, 0);
    ab.set(b, 1000);
    expect(crc32(b, crc32(a))).toBe(crc32(ab));
  });
});

describe("put, stat, has, source", () => {
  test("round trip: the file is named by SHA-256, sized by its length, and maps byte-exact", async () => {
    const { store, bytes, ref, path } = await storeWithBlob();
    expect(ref).toEqual({ name: sha256Hex(bytes), byteLength: LENGTH, bitLength: LENGTH * 8 - Math.clz32(bytes[LENGTH - 1] as number) + 24, mug: mugOf(bytes) });
    expect(statSync(path).size).toBe(blobFileBytes(LENGTH));
    expect(readFileSync(path).subarray(0, LENGTH).equals(bytes)).toBe(true);
    expect(store.stat(ref.name)).toEqual(ref);
    expect(store.stat(ref.name, LENGTH)).toEqual(ref);
    expect(store.has(ref.name, LENGTH)).toBe(true);
    expect(store.has(ref.name, LENGTH - 1)).toBe(false);
    expect(store.stat("0".repeat(64))).toBeUndefined();
    expect(store.has("0".repeat(64), LENGTH)).toBe(false);
    const view = store.source(ref).bytes();
    expect(view.length).toBe(LENGTH);
    expect(Buffer.from(view.buffer, view.byteOffset, view.length).equals(bytes)).toBe(true);
    expect(store.list()).toEqual([ref.name]);
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("a stray write into a mapped view reaches neither the file nor a later mapping", async () => {
    const { store, bytes, ref, path } = await storeWithBlob(BLOB_PIECE_BYTES + 10, 3);
    const view = store.source(ref).bytes();
    view[5] = (view[5] as number) ^ 0xff;
    expect(readFileSync(path)[5]).toBe(bytes[5] as number);
    expect(mapBlob(path, ref)[5]).toBe(bytes[5] as number);
  });

  test("a one-piece blob and a one-byte blob round trip", async () => {
    for (const length of [1, 4097]) {
      const { store, bytes, ref } = await storeWithBlob(length, length);
      expect(store.stat(ref.name, length)).toEqual(ref);
      expect(Array.from(store.source(ref).bytes())).toEqual(Array.from(bytes));
    }
  });

  test("dedup: the same bytes again write nothing new and return written: false", async () => {
    const { store, bytes, ref, path } = await storeWithBlob();
    const before = statSync(path);
    const again = await store.put(bytes.slice(), mugOf(bytes));
    expect(again).toEqual({ ref, written: false });
    const after = statSync(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(store.list()).toEqual([ref.name]);
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("putMany stores a batch in order, a repeated atom once", async () => {
    const store = new BlobStore(tempPier());
    const a = atomBytes(3000, 1);
    const b = atomBytes(BLOB_PIECE_BYTES + 1, 2);
    const results = await store.putMany([
      { bytes: a, mug: mugOf(a) },
      { bytes: b, mug: mugOf(b) },
      { bytes: a, mug: mugOf(a) },
    ]);
    expect(results.map((r) => [r.ref.name, r.written])).toEqual([
      [sha256Hex(a), true],
      [sha256Hex(b), true],
      [sha256Hex(a), false],
    ]);
    expect(store.list()).toEqual([sha256Hex(a), sha256Hex(b)].sort());
  });

  test("two puts of the same bytes at once store one file; both resolve with its reference", async () => {
    const store = new BlobStore(tempPier());
    const bytes = atomBytes(2 * BLOB_PIECE_BYTES + 5, 11);
    const [a, b] = await Promise.all([store.put(bytes, mugOf(bytes)), store.putMany([{ bytes, mug: mugOf(bytes) }])]);
    expect(a.ref).toEqual(b[0]!.ref);
    expect([a.written, b[0]!.written].sort()).toEqual([false, true]);
    expect(store.list()).toEqual([a.ref.name]);
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("a write that fails is blob_write and leaves nothing behind", async () => {
    const pier = tempPier();
    // .urb is a file: the store's directories cannot be made.
    writeFileSync(join(pier, ".urb"), "not a directory");
    const store = new BlobStore(pier);
    const e = await store.put(atomBytes(100, 1), 5).then(() => undefined, (err: unknown) => err);
    expect(isPleaError(e, BlobErrorCode.write)).toBe(true);
    expect((e as Error).message).toContain(store.paths.dir);
  });

  test("a file of the wrong size under a blob's name is replaced by the next put of its bytes", async () => {
    const { store, bytes, ref, path } = await storeWithBlob(5000, 9);
    truncateSync(path, 100);
    expect(store.has(ref.name, 5000)).toBe(false);
    expect(await store.put(bytes, mugOf(bytes))).toEqual({ ref, written: true });
    expect(Array.from(store.source(ref).bytes())).toEqual(Array.from(bytes));
  });

  test("what is not a canonical atom, or a bad mug or bit length, is refused before anything is written", async () => {
    const store = new BlobStore(tempPier());
    const rejects = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      expect(isPleaError(e, BlobErrorCode.usage)).toBe(true);
    };
    await rejects(store.put(new Uint8Array(0), 1));
    await rejects(store.put(Uint8Array.of(1, 2, 0), 1));
    await rejects(store.put(Uint8Array.of(1, 2, 3), 0));
    await rejects(store.put(Uint8Array.of(1, 2, 3), 2 ** 31));
    await rejects(store.put(Uint8Array.of(1, 2, 3), 5, 24));
    expect(store.list()).toEqual([]);
    expect(thrown(() => store.pathOf("../etc")).code).toBe(BlobErrorCode.usage);
  });
});

describe("a reader checks before it hands out bytes", () => {
  test("a bit flipped in a piece is a typed error naming the blob and the piece's offset", async () => {
    const { store, ref, path } = await storeWithBlob();
    flipBit(path, BLOB_PIECE_BYTES + 99);
    const e = thrown(() => store.source(ref).bytes());
    expect(e.code).toBe(BlobErrorCode.damaged.piece);
    expect(e.message).toContain(path);
    expect(e.message).toContain(`piece at byte ${BLOB_PIECE_BYTES} `);
    // Through the atom too: reading a sourced BigAtom's bytes checks them.
    const atom = BigAtom.fromSource(store.source(ref), ref.mug);
    expect(isPleaError(thrownAny(() => atom.bytes), BlobErrorCode.damaged)).toBe(true);
    // The footer alone is intact: stat (which reads no bytes) still resolves it.
    expect(store.stat(ref.name, ref.byteLength)).toEqual(ref);
  });

  test("a truncated file is a typed error before it is mapped (no SIGBUS)", async () => {
    const { store, ref, path } = await storeWithBlob();
    truncateSync(path, BLOB_PIECE_BYTES);
    const e = thrown(() => store.source(ref).bytes());
    expect(e.code).toBe(BlobErrorCode.size);
    expect(e.message).toContain(path);
    expect(thrown(() => store.stat(ref.name, ref.byteLength)).code).toBe(BlobErrorCode.size);
    expect(thrown(() => store.stat(ref.name)).code).toBe(BlobErrorCode.damaged.footer);
    expect(store.has(ref.name, ref.byteLength)).toBe(false);
  });

  test("a damaged footer or crc table is a typed error, for readers and stat alike", async () => {
    const { store, ref, path } = await storeWithBlob();
    const size = blobFileBytes(LENGTH);
    // The mug field, the footer's own checksum, the crc table: each caught by the footer's checksum.
    for (const offset of [size - BLOB_FOOTER_BYTES + 33, size - 2, LENGTH + 1]) {
      flipBit(path, offset);
      expect([offset, thrown(() => store.source(ref).bytes()).code]).toEqual([offset, BlobErrorCode.damaged.footer]);
      expect([offset, thrown(() => store.stat(ref.name)).code]).toEqual([offset, BlobErrorCode.damaged.footer]);
      flipBit(path, offset);
    }
    // The magic: refused before any checksum.
    flipBit(path, size - BLOB_FOOTER_BYTES);
    const e = thrown(() => store.stat(ref.name, LENGTH));
    expect(e.code).toBe(BlobErrorCode.damaged.footer);
    expect(e.message).toContain("PLEABLOB");
  });

  test("a reference that claims another mug or bit length than the footer is refused", async () => {
    const { store, ref } = await storeWithBlob(5000, 4);
    expect(thrown(() => store.source({ ...ref, mug: ref.mug ^ 1 }).bytes()).code).toBe(BlobErrorCode.damaged.footer);
    expect(thrown(() => store.source({ ...ref, bitLength: ref.bitLength - 1 }).bytes()).code).toBe(BlobErrorCode.damaged.footer);
  });

  test("a missing blob is blob_missing", () => {
    const store = new BlobStore(tempPier());
    const ref = { name: "ab".repeat(32), byteLength: 10, bitLength: 80, mug: 1 };
    expect(thrown(() => store.source(ref).bytes()).code).toBe(BlobErrorCode.missing);
  });
});

function thrownAny(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("sweep", () => {
  test("empties stg/, removes unreferenced blobs, keeps live ones and leaves unknown names alone", async () => {
    const store = new BlobStore(tempPier());
    const live = atomBytes(2000, 1);
    const dead = atomBytes(3000, 2);
    const liveRef = (await store.put(live, mugOf(live))).ref;
    const deadRef = (await store.put(dead, mugOf(dead))).ref;
    writeFileSync(join(store.paths.staging, "0123abcd.tmp"), "half a blob");
    mkdirSync(join(store.paths.staging, "odd-dir"));
    const unknown = join(store.paths.dir, "README");
    writeFileSync(unknown, "an operator's note");
    const upperCase = join(store.paths.dir, deadRef.name.toUpperCase());
    writeFileSync(upperCase, "not a blob name");
    // A kill between link(2) and the unlink of the tmp: the live blob also has a staging name.
    linkSync(store.pathOf(liveRef.name), join(store.paths.staging, "feedbeef.tmp"));
    const warnings = store.sweep(new Set([liveRef.name]));
    expect(readdirSync(store.paths.staging)).toEqual([]);
    expect(store.list()).toEqual([liveRef.name]);
    expect(existsSync(unknown)).toBe(true);
    expect(existsSync(upperCase)).toBe(true);
    // One warning per file removed (the staging files, the dead blob) or left alone (two names).
    expect(warnings.filter((w) => w.startsWith("Left "))).toHaveLength(2);
    expect(warnings.join("\n")).toContain(unknown);
    expect(warnings.join("\n")).toContain(`Removed orphan blob "${store.pathOf(deadRef.name)}"`);
    expect(Array.from(store.source(liveRef).bytes())).toEqual(Array.from(live));
  });

  test("a store that was never written sweeps to an empty store", () => {
    const store = new BlobStore(tempPier());
    expect(store.sweep(new Set())).toEqual([]);
    expect(store.list()).toEqual([]);
  });
});

describe("private modes", () => {
  test("under umask 000 bob/ and stg/ are 0700 and a blob is 0600", async () => {
    const old = process.umask(0);
    let store: BlobStore;
    let name: string;
    try {
      const pier = tempPier();
      store = new BlobStore(pier);
      const bytes = atomBytes(1000, 5);
      name = (await store.put(bytes, mugOf(bytes))).ref.name;
    } finally {
      process.umask(old);
    }
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect([mode(store.paths.dir), mode(store.paths.staging), mode(store.pathOf(name))]).toEqual([0o700, 0o700, 0o600]);
  });

  test("an older, looser bob/ is tightened by the next put", async () => {
    const { store, bytes } = await storeWithBlob(1000, 6);
    chmodSync(store.paths.dir, 0o755);
    const again = new BlobStore(join(store.paths.dir, "..", ".."));
    await again.put(bytes, mugOf(bytes));
    expect(statSync(store.paths.dir).mode & 0o777).toBe(0o700);
  });
});

describe("verify", () => {
  test("finds every damaged blob by name and passes the intact ones", async () => {
    const store = new BlobStore(tempPier());
    const refs: BlobRef[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const bytes = atomBytes(BLOB_PIECE_BYTES + seed * 1000, seed);
      refs.push((await store.put(bytes, mugOf(bytes))).ref);
    }
    const [flipped, rehashed, truncated, intact] = refs as [BlobRef, BlobRef, BlobRef, BlobRef];
    flipBit(store.pathOf(flipped.name), 10);
    // A bit flip whose piece CRC was updated to match: only rehashing can catch it.
    forgePieceFlip(store.pathOf(rehashed.name), rehashed.byteLength, 20);
    truncateSync(store.pathOf(truncated.name), 1000);
    const found = new Map(store.verify().map((c) => [c.name, c.problem?.code]));
    expect(found).toEqual(
      new Map([
        [flipped.name, BlobErrorCode.damaged.piece],
        [rehashed.name, BlobErrorCode.damaged.hash],
        // Truncated: its footer is gone, and without a reference's length nothing says how long it was.
        [truncated.name, BlobErrorCode.damaged.footer],
        [intact.name, undefined],
      ]),
    );
    expect(verifyBlob(store.pathOf(intact.name))).toEqual({ name: intact.name, path: store.pathOf(intact.name), byteLength: intact.byteLength, problem: undefined });
    // The forged file passes the reader's CRC check: the documented limit of checking by CRC alone.
    expect(store.source(rehashed).bytes().length).toBe(rehashed.byteLength);
  });

  test("a blob whose footer carries a wrong mug (a bug in whoever computed it: urth stages blobs) is found", async () => {
    const store = new BlobStore(tempPier());
    const bytes = atomBytes(BLOB_PIECE_BYTES + 77, 9);
    const right = mugOf(bytes);
    const wrong = ((right % 0x7ffffffe) + 1) as number;
    const { ref } = await store.put(bytes, wrong);
    const check = store.verifyOne(ref.name);
    expect(check.problem?.code).toBe(BlobErrorCode.damaged.footer);
    expect(check.problem?.message).toContain(`mug ${wrong} is not its bytes' mug ${right}`);
  });
});

/** Flips a bit at `offset` (in the first piece) and rewrites that piece's CRC and the footer's checksum to match. */
function forgePieceFlip(path: string, byteLength: number, offset: number): void {
  const file = readFileSync(path);
  file[offset] = (file[offset] as number) ^ 0x01;
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  view.setUint32(byteLength, crc32(file.subarray(0, Math.min(BLOB_PIECE_BYTES, byteLength))), true);
  const footerAt = file.length - BLOB_FOOTER_BYTES;
  view.setUint32(footerAt + 68, crc32(file.subarray(byteLength, footerAt + 68)), true);
  writeFileSync(path, file);
}

describe("a sourced atom", () => {
  test("equals its heap twin and jams identically", async () => {
    const { store, bytes, ref } = await storeWithBlob();
    const heap = atomFromBytes(bytes.slice()) as BigAtom;
    const sourced = BigAtom.fromSource(store.source(ref), ref.mug);
    expect(sourced.byteLength).toBe(LENGTH);
    expect(mug(sourced)).toBe(mug(heap));
    expect(equals(sourced, heap)).toBe(true);
    expect(equals(heap, sourced)).toBe(true);
    expect(Buffer.from(jam(sourced)).equals(Buffer.from(jam(heap)))).toBe(true);
    // Two sources of the same blob are equal without reading either (by name).
    expect(equals(sourced, BigAtom.fromSource(store.source(ref), ref.mug))).toBe(true);
  });

  test("the mapping goes once the GC drops the last view, and the next read maps again", async () => {
    const { store, bytes, ref, path } = await storeWithBlob(BLOB_PIECE_BYTES + 3, 8);
    const source = store.source(ref);
    const mappings = () => readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.endsWith(path)).length;
    const touch = () => source.bytes()[0];
    expect(touch()).toBe(bytes[0] as number);
    expect(mappings()).toBe(1);
    for (let i = 0; i < 50 && mappings() > 0; i++) {
      Bun.gc(true);
      await Bun.sleep(10);
    }
    expect(mappings()).toBe(0);
    expect(touch()).toBe(bytes[0] as number);
    expect(mappings()).toBe(1);
  });
});
