/**
 * Shared pieces of the read view's tests: random `%into` events applied as mars applies them (the
 * kernel, then the log's append with the event's view changes), and the comparison of the view
 * with the kernel's own peeks (`/t`, `/x`, `/d`).
 */
import { expect } from "bun:test";
import { cardTag } from "../../src/ipc/into.ts";
import { BlobStore, readBlobPieces } from "../../src/blob/index.ts";
import { Cell, cord, cordToString, list, mug, toBytes, type BigAtom, type Noun } from "../../src/noun/index.ts";
import type { EventLog } from "../../src/mars/log/index.ts";
import type { FileStoreKernel, FileStorePokeDone } from "../../src/mars/kernel/file-store.ts";
import { ReadView } from "../../src/view/view-reader.ts";
import { intoOvum, nowOf, pseudoRandomBytes, type FileChange } from "../mars/mars-test-support.ts";

/** Applies one `%into` as mars does and appends it with its view changes; returns the event. */
export async function applyEvent(log: EventLog, kernel: FileStoreKernel, changes: readonly FileChange[], desk = "base", all = false): Promise<number> {
  const eve = log.eve + 1;
  const ovum = intoOvum(changes, desk, all);
  const r = kernel.poke(nowOf(eve), ovum);
  if (!r.ok) throw new Error(`event ${eve} was rejected`);
  const stateMug = mug(r.state);
  await log.append({ eve, mug: stateMug, now: nowOf(eve), ovum, kind: cardTag(ovum), view: (r as FileStorePokeDone).view });
  kernel.commit(r);
  return eve;
}

/** Deterministic choices (xorshift), so a failure reproduces. */
export class Choices {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    this.x ^= this.x << 13;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    return (this.x >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/**
 * Paths that test the listing order: "a" before "a/x", "a-b" (0x2d) and "a.b" (0x2e) against the
 * separator, an element with a 0x00 inside.
 */
export const PATHS = ["a", "a/x", "a/x/y", "a-b/x", "a.b", "a/\u0000z", "lib/a/txt", "lib/b/txt", "lib-x/c", "b", "z/\u00e9t\u00e9"];

/** One random change set: puts of small and large files (some with trailing zeros), deletes. */
export function randomChanges(c: Choices, largeBytes: number): FileChange[] {
  const out: FileChange[] = [];
  const n = 1 + c.int(4);
  for (let i = 0; i < n; i++) {
    const path = c.pick(PATHS);
    if (c.next() < 0.25) {
      out.push({ path, delete: true });
      continue;
    }
    const kind = c.int(4);
    const length = kind === 0 ? 0 : kind === 1 ? 1 + c.int(64) : kind === 2 ? largeBytes + c.int(largeBytes) : 1 + c.int(300);
    const bytes = pseudoRandomBytes(length, 1 + c.int(1_000_000));
    // Trailing zeros: the atom drops them, `len` keeps them.
    if (length > 2 && c.next() < 0.3) bytes.fill(0, length - 2);
    out.push({ path, bytes });
  }
  return out;
}

function peekUnit(kernel: FileStoreKernel, care: string, desk: string, spur: readonly string[]): Noun | undefined {
  const r = kernel.peek(list([cord(care), cord(desk), ...spur.map((s) => cord(s))]));
  if (!r.ok) throw new Error("the kernel refused a peek");
  return r.unit === 0 ? undefined : ((r.unit as Cell).tail as Cell).tail;
}

function strings(path: Noun): string[] {
  const out: string[] = [];
  for (let n = path; n instanceof Cell; n = n.tail) out.push(cordToString(n.head as number | BigAtom));
  return out;
}

/** The view, read in one snapshot, equals the kernel's peeks for every desk and a few spurs. */
export function expectViewEqualsKernel(pier: string, kernel: FileStoreKernel, desks: readonly string[], eve: number): void {
  const rv = ReadView.open(pier);
  expect(rv).toBeDefined();
  try {
    rv!.read((v) => {
      expect(v.head().eve).toBe(eve);
      for (const desk of desks) {
        const totals = peekUnit(kernel, "d", desk, []) as Cell;
        expect(v.desk(desk)).toEqual({ files: totals.head as number, bytes: totals.tail as number });
        for (const spur of [[], ["a"], ["lib"], ["a-b"], ["z"], ["nothing"]]) {
          const listing: { path: string[]; size: number }[] = [];
          for (let n = peekUnit(kernel, "t", desk, spur) ?? 0; n instanceof Cell; n = n.tail) {
            const item = n.head as Cell;
            listing.push({ path: strings(item.head), size: item.tail as number });
          }
          expect(v.list(desk, spur)).toEqual(listing);
        }
        for (const { path } of v.list(desk, [])) {
          const mime = peekUnit(kernel, "x", desk, path) as Cell;
          const [type, len, data] = [mime.head, (mime.tail as Cell).head as number, (mime.tail as Cell).tail as number | BigAtom];
          const f = v.file(desk, path)!;
          expect(f.type).toEqual(strings(type));
          expect(f.len).toBe(len);
          expect(f.mug).toBe(mug(data));
          const bytes = f.inline ?? concat([...readBlobPieces(new BlobStore(pier).pathOf(f.blob!.name), f.blob!.name, f.blob!.byteLength, 1000)]);
          expect(Buffer.from(bytes).equals(Buffer.from(toBytes(data)))).toBe(true);
        }
        for (const path of PATHS) if (peekUnit(kernel, "x", desk, path.split("/")) === undefined) expect(v.file(desk, path.split("/"))).toBeUndefined();
      }
    });
  } finally {
    rv!.close();
  }
}

import { concat } from "../ipc/random.ts";
export { concat };
