/**
 * urth staging a large file into the blob store (src/urth/file-stage.ts, docs/blob-store.md
 * "Staged by urth"): the staged file is a complete, sound blob of the file's atom (the file's
 * trailing zeros dropped), mars's `install` takes it into the store, and a file that changed,
 * or whose atom is too short for a blob, leaves nothing behind.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlobStore, blobPaths, stagedBlobPath } from "../../src/blob/index.ts";
import { isPleaError } from "../../src/error.ts";
import { atomFromBytes, metBits, mug } from "../../src/noun/index.ts";
import { FileStager } from "../../src/urth/file-stage.ts";
import { makePrivateDir } from "../../src/pier/private-mode.ts";
import { pseudoRandomBytes } from "../support/prng.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { removeTempPiers, tempPier } from "../blob/blob-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const MiB = 1024 * 1024;
const stagers: FileStager[] = [];
afterEach(() => {
  while (stagers.length > 0) stagers.pop()!.close();
  removeTempPiers();
});

function setUp(bytesMin = MiB): { pier: string; stager: FileStager; store: BlobStore } {
  const pier = tempPier();
  const paths = blobPaths(pier);
  makePrivateDir(join(pier, ".urb"));
  makePrivateDir(paths.dir);
  makePrivateDir(paths.staging);
  const stager = new FileStager(paths, bytesMin);
  stagers.push(stager);
  return { pier, stager, store: new BlobStore(pier) };
}

function writeInput(pier: string, name: string, bytes: Uint8Array): { abs: string; size: number; mtimeMs: number } {
  mkdirSync(join(pier, "base"), { recursive: true });
  const abs = join(pier, "base", name);
  writeFileSync(abs, bytes);
  return { abs, size: bytes.length, mtimeMs: statSync(abs).mtimeMs };
}

describe("FileStager", () => {
  test("a file of several copy pieces becomes a sound blob of its atom, which install takes into the store", async () => {
    const { pier, stager, store } = setUp();
    // 70 MiB + 3: two copy pieces of 64 MiB, 18 blob pieces, an odd tail.
    const bytes = pseudoRandomBytes(70 * MiB + 3, 17);
    bytes[bytes.length - 1] = 0x5a;
    const input = writeInput(pier, "big.bin", bytes);
    const staged = await stager.stage(input.abs, "big.bin", input);
    expect(staged).toBeDefined();
    const atom = atomFromBytes(bytes);
    expect(staged!.ref.byteLength).toBe(bytes.length);
    expect(staged!.ref.bitLength).toBe(metBits(atom));
    expect(staged!.ref.mug).toBe(mug(atom));
    expect(staged!.ref.name).toBe(new Bun.CryptoHasher("sha256").update(bytes).digest("hex"));
    expect(staged!.path).toBe(stagedBlobPath(store.paths, staged!.ref.name));
    expect(stager.stats.files).toBe(1);
    expect(stager.stats.bytes).toBe(bytes.length);
    // mars's side: installed, then checked as `urth verify` checks (rehash, every piece's crc).
    expect(store.stat(staged!.ref.name)).toBeUndefined();
    expect(store.install(staged!.ref.name, bytes.length)).toEqual(staged!.ref);
    expect(existsSync(staged!.path)).toBe(false);
    expect(store.verifyOne(staged!.ref.name).problem).toBeUndefined();
    expect(Buffer.compare(readFileSync(store.pathOf(staged!.ref.name)).subarray(0, bytes.length), bytes)).toBe(0);
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("a file's trailing zeros are not its atom's: the blob holds the bytes before them", async () => {
    const { pier, stager, store } = setUp();
    const bytes = new Uint8Array(5 * MiB);
    bytes.set(pseudoRandomBytes(3 * MiB, 5));
    bytes[3 * MiB - 1] = 7;
    const input = writeInput(pier, "zeros.bin", bytes);
    const staged = await stager.stage(input.abs, "zeros.bin", input);
    expect(staged!.ref.byteLength).toBe(3 * MiB);
    expect(staged!.ref.mug).toBe(mug(atomFromBytes(bytes)));
    store.install(staged!.ref.name, 3 * MiB);
    expect(store.verifyOne(staged!.ref.name).problem).toBeUndefined();
  });

  test("a file whose atom is shorter than the store's threshold is not staged, and leaves nothing", async () => {
    const { pier, stager, store } = setUp(2 * MiB);
    const bytes = new Uint8Array(3 * MiB);
    bytes.set(pseudoRandomBytes(MiB, 9));
    bytes[MiB - 1] = 1;
    const input = writeInput(pier, "short.bin", bytes);
    expect(await stager.stage(input.abs, "short.bin", input)).toBeUndefined();
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("a file that changed since the scan fails as changed, and leaves nothing", async () => {
    const { pier, stager, store } = setUp();
    const input = writeInput(pier, "moved.bin", pseudoRandomBytes(2 * MiB, 3));
    utimesSync(input.abs, new Date(), new Date(Date.now() + 5000));
    const err = await stager.stage(input.abs, "moved.bin", input).catch((e) => e);
    expect(isPleaError(err) && err.code).toBe("file_changed");
    expect(readdirSync(store.paths.staging)).toEqual([]);
  });

  test("removeStaged removes what mars did not install; a closed stager stages again", async () => {
    const { pier, stager, store } = setUp();
    const a = writeInput(pier, "a.bin", pseudoRandomBytes(2 * MiB, 1));
    const b = writeInput(pier, "b.bin", pseudoRandomBytes(2 * MiB, 2));
    const sa = await stager.stage(a.abs, "a.bin", a);
    stager.close();
    const sb = await stager.stage(b.abs, "b.bin", b);
    expect(readdirSync(store.paths.staging).sort()).toEqual([`${sa!.ref.name}.staged`, `${sb!.ref.name}.staged`].sort());
    store.install(sa!.ref.name, 2 * MiB);
    stager.removeStaged();
    expect(readdirSync(store.paths.staging)).toEqual([]);
    expect(store.stat(sa!.ref.name)).toBeDefined();
  });
});

describe("FileStager on a pier whose store has no folders yet", () => {
  test("makes bob/ and bob/stg/, private whatever the umask", async () => {
    const pier = tempPier();
    const paths = blobPaths(pier);
    const stager = new FileStager(paths, MiB);
    stagers.push(stager);
    const input = writeInput(pier, "first.bin", pseudoRandomBytes(2 * MiB, 12));
    const old = process.umask(0);
    try {
      expect(await stager.stage(input.abs, "first.bin", input)).toBeDefined();
    } finally {
      process.umask(old);
    }
    expect(statSync(paths.staging).mode & 0o777).toBe(0o700);
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700);
  });
});

describe("BlobStore.install", () => {
  test("nothing staged: undefined; a damaged staged file: a typed error naming it, and it stays out of the store", async () => {
    const { pier, stager, store } = setUp();
    expect(store.install("ab".repeat(32), 2 * MiB)).toBeUndefined();
    const input = writeInput(pier, "x.bin", pseudoRandomBytes(2 * MiB, 4));
    const staged = await stager.stage(input.abs, "x.bin", input);
    const file = readFileSync(staged!.path);
    file[file.length - 10] ^= 1; // the footer's digest
    writeFileSync(staged!.path, file);
    const err = (() => {
      try {
        store.install(staged!.ref.name, 2 * MiB);
      } catch (e) {
        return e;
      }
    })();
    expect(isPleaError(err) && err.code).toMatch(/^blob_/);
    expect(String((err as Error).message)).toContain(staged!.path);
    expect(store.stat(staged!.ref.name)).toBeUndefined();
    // Of another length than the reference says: refused too.
    expect(() => store.install(staged!.ref.name, 2 * MiB - 1)).toThrow();
  });
});
