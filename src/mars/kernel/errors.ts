/** The file-store kernel's error codes (docs/kernel.md). */
import type { CodeOf } from "../../error.ts";

export const KernelErrorCode = {
  /** A state noun that is not a file store's (a snapshot from another kernel or version, or damaged). */
  state: "kernel_state",
} as const;

export type KernelErrorCode = CodeOf<typeof KernelErrorCode>;
