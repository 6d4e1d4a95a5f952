/**
 * How the log and the snapshots refer to blobs (docs/blob-store.md, "In the log"): large atoms
 * are written to the store first, then jammed as references (docs/nouns.md, "Jam with refs"),
 * and a reference read back becomes an atom sourced from its blob, whose bytes are not read.
 */
import { type BlobRef, BlobSource, type BlobStore } from "../../blob/index.ts";
import { BigAtom, type Atom } from "../../noun/atom.ts";
import type { JamRef, JamRefs } from "../../noun/jam-encoder.ts";
import { metBits } from "../../noun/atom.ts";
import { mug } from "../../noun/mug.ts";
import type { Noun } from "../../noun/noun.ts";
import { largeAtoms } from "./large-atoms.ts";
import type { RecordRef } from "./ref-table.ts";

/**
 * Writes every heap or segment-backed atom of `noun` of at least `bytesMin` bytes to the store
 * (one directory fsync for all); resolves, once they are durable, to each atom's blob.
 */
export async function storeLargeAtoms(store: BlobStore, noun: Noun, bytesMin: number): Promise<Map<BigAtom, BlobRef>> {
  const atoms = largeAtoms(noun, bytesMin);
  const out = new Map<BigAtom, BlobRef>();
  if (atoms.length === 0) return out;
  const put = await store.putMany(atoms.map((a) => ({ bytes: a.bytes, mug: mug(a), bitLength: metBits(a) })));
  atoms.forEach((a, i) => out.set(a, put[i].ref));
  return out;
}

/** The refs of a jam with refs: the blobs just stored, and atoms already sourced from a blob. */
export function blobJamRefs(fresh: ReadonlyMap<BigAtom, BlobRef>): JamRefs<BlobRef> {
  return {
    refOf: (a) => fresh.get(a) ?? (a.source instanceof BlobSource ? a.source.ref : undefined),
    table: [],
  };
}

/** A jam's ref table as the record and snapshot formats store it. */
export function recordRefs(table: readonly JamRef<BlobRef>[]): RecordRef[] {
  return table.map(({ bitOffset, ref }) => ({ bitOffset, name: ref.name, byteLength: ref.byteLength, bitLength: ref.bitLength, mug: ref.mug }));
}

/** The cue substitution for `refs`: each offset's atom sourced from its blob (nothing is read). */
export function blobSubstitution(store: BlobStore, refs: readonly RecordRef[]): Map<number, Atom> {
  const out = new Map<number, Atom>();
  for (const r of refs) out.set(r.bitOffset, BigAtom.fromSource(store.source(r), r.mug));
  return out;
}

/** Moves freshly stored atoms to their blobs (their heap bytes or segment views go). */
export function sourcesOf(store: BlobStore, fresh: ReadonlyMap<BigAtom, BlobRef>): Map<BigAtom, BlobSource> {
  const out = new Map<BigAtom, BlobSource>();
  for (const [a, ref] of fresh) out.set(a, store.source(ref));
  return out;
}
