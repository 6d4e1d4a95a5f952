/**
 * What the blob store's checksums cost next to the disk (docs/blob-store.md, "The hash"):
 * SHA-256 through Bun.CryptoHasher and through node:crypto, BLAKE2b-256 (where the runtime has
 * it), CRC-32 (Bun.hash.crc32, per 4 MiB piece as the store does) over 256 MiB in memory, and a
 * `dd`-like sequential write + fdatasync of 256 MiB into a directory on the pier's disk.
 *
 *   npx bun bench/blob-hash.ts [--mib 256] [--runs 3] [--dir <directory on the pier's disk>]
 *
 * Prints one markdown table (best of the runs, GB/s and the ratio to the disk write). Runs warm:
 * one untimed pass first (the first pass in a fresh process is often 2-3x slower,
 * docs/platform.md). The file written is removed at the end, also on error.
 */
import { createHash, getHashes } from "node:crypto";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const MIB = 1024 * 1024;
/** The store's piece: CRC-32 runs per piece, the hashes take the same pieces. */
const PIECE_BYTES = 4 * MIB;

const { values } = parseArgs({
  options: { mib: { type: "string", default: "256" }, runs: { type: "string", default: "3" }, dir: { type: "string" } },
});
const totalBytes = Number(values.mib) * MIB;
const runs = Number(values.runs);

function fill(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return out;
}

type Case = { name: string; run: (bytes: Uint8Array) => void };

function pieces(bytes: Uint8Array, each: (piece: Uint8Array) => void): void {
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) each(bytes.subarray(at, Math.min(at + PIECE_BYTES, bytes.length)));
}

const cases: Case[] = [
  {
    name: "sha-256 (Bun.CryptoHasher)",
    run: (b) => {
      const h = new Bun.CryptoHasher("sha256");
      pieces(b, (p) => h.update(p));
      h.digest();
    },
  },
  {
    name: "sha-256 (node:crypto)",
    run: (b) => {
      const h = createHash("sha256");
      pieces(b, (p) => h.update(p));
      h.digest();
    },
  },
];
if (getHashes().includes("blake2b512")) {
  cases.push({
    name: "blake2b-512 (node:crypto)",
    run: (b) => {
      const h = createHash("blake2b512");
      pieces(b, (p) => h.update(p));
      h.digest();
    },
  });
}
try {
  new Bun.CryptoHasher("blake2b256");
  cases.push({
    name: "blake2b-256 (Bun.CryptoHasher)",
    run: (b) => {
      const h = new Bun.CryptoHasher("blake2b256");
      pieces(b, (p) => h.update(p));
      h.digest();
    },
  });
} catch {
  console.error("blake2b256: not available in this runtime");
}
cases.push({
  name: "crc-32 per 4 MiB piece (Bun.hash.crc32)",
  run: (b) => pieces(b, (p) => void Bun.hash.crc32(p)),
});

function best(run: () => void): number {
  run(); // warm-up, untimed
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    run();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

function diskWrite(dir: string, bytes: Uint8Array): () => void {
  const path = join(dir, "blob-hash-bench.tmp");
  return () => {
    const fd = openSync(path, "w", 0o600);
    try {
      pieces(bytes, (p) => {
        let done = 0;
        while (done < p.length) done += writeSync(fd, p, done, p.length - done);
      });
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
      rmSync(path, { force: true });
    }
  };
}

function main(): void {
  const dir = mkdtempSync(join(values.dir ?? tmpdir(), "plea-blob-hash-"));
  try {
    const bytes = fill(totalBytes);
    const rows: Array<[string, number]> = [];
    const diskSeconds = best(diskWrite(dir, bytes));
    for (const c of cases) rows.push([c.name, best(() => c.run(bytes))]);
    rows.push([`write + fdatasync (${dir})`, diskSeconds]);
    console.log(`${values.mib} MiB, best of ${runs} warm runs, Bun ${Bun.version}\n`);
    console.log("| what | GB/s | time | x the disk write |");
    console.log("|---|---:|---:|---:|");
    for (const [name, s] of rows) {
      console.log(`| ${name} | ${(totalBytes / s / 1e9).toFixed(2)} | ${(s * 1000).toFixed(0)} ms | ${(diskSeconds / s).toFixed(1)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
