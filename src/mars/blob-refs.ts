/**
 * mars's half of blob references (docs/ipc.md, "Plea extension: blob references"): the atom a
 * reference from urth stands for, made from the pier's blob store, and the `%bref` task decoded
 * with those atoms in place. This is the `resolve` action of mars's plea machine (src/plea/mars.ts).
 *
 * A reference names a blob of the store (a re-commit) or one urth staged for this event in
 * `bob/stg/` (a new large file, copied there by the kernel: docs/blob-store.md, "Staged by urth"),
 * which mars installs into the store before it builds the atom.
 *
 * The trust model: mars checks that each blob exists with the length urth names and a valid footer
 * (`BlobStore.stat`, `BlobStore.install`: the footer and crc table, not the bytes), and builds the
 * atom from the footer, its mug included. It does not rehash the blob: urth computed the name and
 * the mug from the bytes it copied, and `urth verify` rehashes the store. The bytes are mapped only
 * when something reads them.
 */
import { PleaError } from "../error.ts";
import { BlobErrorCode, blobNameOf, type BlobRef, type BlobStore } from "../blob/index.ts";
import type { BrefTask, MarsPleaInput } from "../plea/mars.ts";
import { BigAtom, CueError, cue, DIRECT_ATOM_MAX, metBits, toBytes, type Atom, type ShmRef } from "../noun/index.ts";

/** What mars needs of the blob store. */
export type BlobLookup = Pick<BlobStore, "stat" | "install" | "source">;

/** Bit length above which an atom is a BigAtom (above DIRECT_ATOM_MAX): a blob's atom must be one. */
const DIRECT_ATOM_BITS_MAX = metBits(DIRECT_ATOM_MAX);

/**
 * The atom blob `name` of `byteLength` bytes holds, its bytes left in the blob. Throws a
 * `PleaError` naming the blob when the store does not hold it with that length, or its file is
 * not a sound blob (its size or footer).
 */
export function blobAtom(blobs: BlobLookup, name: string, byteLength: number): BigAtom {
  let ref: BlobRef | undefined;
  try {
    // In the store already (a re-commit), or staged by urth for this event (installed now).
    ref = blobs.stat(name, byteLength) ?? blobs.install(name, byteLength);
  } catch (e) {
    // The store's own error (its size, its footer, a failed read) names the file and what to do.
    const code = e instanceof PleaError ? e.code : BlobErrorCode.read;
    throw new PleaError(code, `Blob ${name} of ${byteLength} bytes, which the event refers to, cannot be used: ${(e as Error).message}`, { cause: e });
  }
  if (ref === undefined) {
    throw new PleaError(BlobErrorCode.missing, `Blob ${name} of ${byteLength} bytes, which the event refers to, is not in the pier's blob store: commit again (urth then sends the file's bytes)`);
  }
  if (ref.bitLength <= DIRECT_ATOM_BITS_MAX) {
    throw new PleaError(BlobErrorCode.damaged.footer, `Blob ${name} holds an atom of ${ref.bitLength} bits, which is not a large atom: its footer is damaged. Run urth verify`);
  }
  return BigAtom.fromSource(blobs.source(ref), ref.mug);
}

/**
 * The atom a plea segment's blob-reference entry stands for (readShm's `resolveRef`,
 * docs/shm-format.md): the blob's, checked as a `%bref`'s reference is. The entry also carries a
 * mug and a bit length; one that disagrees with the blob's footer is refused, since the two
 * sides then disagree about what the blob holds.
 */
export function shmRefAtom(blobs: BlobLookup, ref: ShmRef): BigAtom {
  const name = blobNameOf(ref.name);
  const a = blobAtom(blobs, name, ref.byteLength);
  if (a.mug !== ref.mug || metBits(a) !== ref.bitLength) {
    throw new PleaError(
      BlobErrorCode.damaged.footer,
      `The segment refers to blob ${name} with mug ${ref.mug} and ${ref.bitLength} bits; its footer says mug ${a.mug} and ${metBits(a)} bits. Run urth verify`,
    );
  }
  return a;
}

/** The outcome of resolving a `%bref`, and what it referred to (for the event's INFO). */
export interface Resolution {
  readonly input: MarsPleaInput<never>;
  readonly refs: number;
  readonly refBytes: number;
}

/**
 * Decodes a `%bref`: makes each referenced blob's atom, then cues the jam with those atoms at
 * their offsets. A blob that is missing, of another length or damaged is `unresolved` (that poke
 * fails, naming it); a jam that does not cue with its references is `resolve-bad` (malformed).
 */
export function resolveBref(task: BrefTask, blobs: BlobLookup): Resolution {
  const substitute = new Map<number, Atom>();
  // A name given twice (two places of one jam, which jam's back-references make rare) is one atom.
  const atoms = new Map<string, BigAtom>();
  let refBytes = 0;
  for (const r of task.refs) {
    let a = atoms.get(r.name);
    if (a === undefined) {
      try {
        a = blobAtom(blobs, r.name, r.byteLength);
      } catch (e) {
        if (e instanceof PleaError) return { input: { type: "unresolved", message: e.message }, refs: task.refs.length, refBytes };
        throw e;
      }
      atoms.set(r.name, a);
    } else if (a.byteLength !== r.byteLength) {
      return { input: { type: "resolve-bad", message: `blob ${r.name} is referred to with two lengths, ${a.byteLength} and ${r.byteLength}` }, refs: task.refs.length, refBytes };
    }
    substitute.set(r.bitOffset, a);
    refBytes += r.byteLength;
  }
  try {
    return { input: { type: "resolved", noun: cue(toBytes(task.jam), { substitute }) }, refs: task.refs.length, refBytes };
  } catch (e) {
    if (e instanceof CueError) return { input: { type: "resolve-bad", message: e.message }, refs: task.refs.length, refBytes };
    throw e;
  }
}
