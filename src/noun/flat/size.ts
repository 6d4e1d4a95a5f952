/**
 * `shmSize`: how many bytes `writeShm` needs for a noun (docs/shm-format.md).
 *
 * It runs the writer's own walk (walk.ts) without a target, so it agrees with `writeShm` to
 * the byte: the same sharing (a cell, BigAtom or FileAtom reachable twice by identity counts
 * once, as does a BigAtom whose bytes and cached mug equal another's) and the same gaps before
 * page-aligned atoms. Exact for nouns of in-memory atoms. A FileAtom counts at its stat length:
 * its exact length (trailing zero bytes dropped) is known only once it is read, so with
 * file-backed atoms the result is an upper bound, and `writeShm` reports what it really wrote.
 * This is the capacity urth asks for in `[%plea len]` (docs/decisions.md).
 */
import type { BigAtom } from "../atom.ts";
import type { Noun } from "../noun.ts";
import type { ShmRef } from "./layout.ts";
import { walkShm } from "./walk.ts";

/**
 * Bytes (header included) of `noun` in the flat noun format. With `refOf`, as `writeShm` with
 * the same `refOf` writes it: a referenced atom costs its 56-byte entry, not its bytes.
 */
export function shmSize(noun: Noun, options: { refOf?: (a: BigAtom) => ShmRef | undefined } = {}): number {
  return walkShm(noun, undefined, new Uint32Array(2), undefined, options.refOf);
}
