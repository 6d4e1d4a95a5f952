/**
 * The file store's state noun (docs/kernel.md, "State"):
 *
 *   state = [%fs 1 desks=(map @tas desk)]
 *   desk  = [files=@ud bytes=@ud tree=(map path mime)]
 *   mime  = [type=path len=@ud data=@]
 *
 * Readers here check the shape, because a state can come from a snapshot on disk.
 */
import { Cell } from "../../noun/cell.ts";
import { cord } from "../../noun/atom.ts";
import type { Noun } from "../../noun/noun.ts";
import { PleaError } from "../../error.ts";
import { KernelErrorCode } from "./errors.ts";
import { EMPTY_MAP } from "./hoon-map.ts";

const FS = cord("fs");
/** The state's layout version (the `1` in `[%fs 1 desks]`). */
export const FILE_STORE_VERSION = 1;

/** A desk's parts. */
export interface Desk {
  readonly files: number;
  readonly bytes: number;
  readonly tree: Noun;
}

/** The state with no desks. */
export function emptyFileStoreState(): Noun {
  return stateOf(EMPTY_MAP);
}

export function stateOf(desks: Noun): Noun {
  return new Cell(FS, new Cell(FILE_STORE_VERSION, desks));
}

/** The desks map of a state; throws `kernel_state` when the noun is not a file store state. */
export function desksOf(state: Noun): Noun {
  if (!(state instanceof Cell) || state.head !== FS || !(state.tail instanceof Cell)) {
    throw new PleaError(KernelErrorCode.state, "The state is not a Plea file store (expected [%fs version desks]); it was made by another kernel");
  }
  if (state.tail.head !== FILE_STORE_VERSION) {
    throw new PleaError(
      KernelErrorCode.state,
      `The file store state has version ${typeof state.tail.head === "number" ? state.tail.head : "?"}; this build reads version ${FILE_STORE_VERSION}`,
    );
  }
  return state.tail.tail;
}

/** Reads a desk noun `[files bytes tree]`. */
export function readDesk(desk: Noun): Desk {
  if (!(desk instanceof Cell) || !(desk.tail instanceof Cell) || typeof desk.head !== "number" || typeof desk.tail.head !== "number") {
    throw new PleaError(KernelErrorCode.state, "A desk in the file store state is not [files bytes tree]");
  }
  return { files: desk.head, bytes: desk.tail.head, tree: desk.tail.tail };
}

/** A file's `[type len data]` parts. */
export function readMime(mime: Noun): { type: Noun; len: number; data: Noun } {
  if (!(mime instanceof Cell) || !(mime.tail instanceof Cell) || typeof mime.tail.head !== "number") {
    throw new PleaError(KernelErrorCode.state, "A file in the file store state is not [type len data]");
  }
  return { type: mime.head, len: mime.tail.head, data: mime.tail.tail };
}

