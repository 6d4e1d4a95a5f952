/**
 * The narrow interface between mars and the code that applies events (docs/kernel.md).
 *
 * Mars owns the loop: it stamps `now`, calls `poke`, makes the event durable in the log and only
 * then replies. The kernel owns the meaning of events and of its state. Its state is a noun, so
 * "the mug of the state" (in `%ripe`, in every log record) and "a snapshot is the state written
 * out" have their plain meanings (docs/decisions.md). Another kernel (a Nock
 * interpreter running Arvo, say) fits behind the same interface.
 */
import type { Noun } from "../../noun/noun.ts";

/** A successful event: the state after it, its effects, and what it changed in the owner counts. */
export interface PokeDone {
  readonly ok: true;
  /** The state after the event. Not adopted until `commit`. */
  readonly state: Noun;
  /** `(list ovum)`: what mars sends back in `[%poke %.y fec]`. */
  readonly effects: Noun;
  /**
   * Change in the number of references the state holds to each zero-copy `owner` (a mapping):
   * +1 per file atom added, -1 per file atom replaced or deleted. Empty for heap-only events.
   */
  readonly owners: ReadonlyMap<unknown, number>;
}

/** A rejected event: `goof = [mote tang]`, and the state is unchanged. */
export interface PokeFailed {
  readonly ok: false;
  readonly goof: Noun;
}

export type PokeResult = PokeDone | PokeFailed;

/** A peek's answer: `(unit cask)` (`~` when there is nothing at the path), or a goof. */
export type PeekResult = { readonly ok: true; readonly unit: Noun } | { readonly ok: false; readonly goof: Noun };

export interface Kernel {
  /** The current (committed) state. */
  readonly state: Noun;
  /**
   * Applies one event `[now ovum]` to the current state without changing it. Pure: the same state
   * and event give the same result, which is what makes replay reproduce the stored mugs.
   */
  poke(now: Noun, ovum: Noun): PokeResult;
  /**
   * Adopts a successful poke's state (and its owner counts). The result must come from `poke` on
   * the current state: results cannot be committed out of order.
   */
  commit(done: PokeDone): void;
  /** Reads the current state at `path` (docs/kernel.md, "Peeks"). */
  peek(path: Noun): PeekResult;
  /** The mug of the current state (cached in its cells: costs only what changed). */
  mug(): number;
  /**
   * The distinct zero-copy owners (mappings) that the current state's atoms refer to. Every other
   * mapping can be released once no pending event or reply holds its nouns.
   */
  owners(): ReadonlySet<unknown>;
  /**
   * Forgets `owner`: every atom of the state that was a view into it has been moved off it
   * (src/mars/settle.ts), so the mapping may go although the counts still named it.
   */
  forgetOwner(owner: unknown): void;
}

/** Makes a kernel from a loaded state (a snapshot), or from its empty state when none. */
export type KernelFactory = (state?: Noun) => Kernel;
