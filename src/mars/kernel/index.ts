/** Mars's kernel: the narrow interface and the built-in file store (docs/kernel.md). */
export type { Kernel, KernelFactory, PeekResult, PokeDone, PokeFailed, PokeResult } from "./kernel.ts";
export { FileStoreKernel, createFileStoreKernel, applyInto, badEventGoof } from "./file-store.ts";
export type { FileStorePokeDone, IntoSummary } from "./file-store.ts";
export { KernelErrorCode } from "./errors.ts";
export { FILE_STORE_VERSION, desksOf, emptyFileStoreState, readDesk, readMime } from "./state.ts";
export type { Desk } from "./state.ts";
export { peekDesks } from "./peek.ts";
export { OwnerCounts, KERNEL_UNPIN_BYTES_MAX, ownerOf, unpin } from "./owners.ts";
export { EMPTY_MAP, MAP_BULK_CHANGES_MIN, mapApply, mapDel, mapForEach, mapGet, mapPut, mapSize } from "./hoon-map.ts";
export type { MapChange } from "./hoon-map.ts";
export { dor, gor, mor } from "./order.ts";
