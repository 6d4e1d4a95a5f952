/**
 * The error `readShm` throws for a buffer that is not a valid raw noun (docs/shm-format.md,
 * "Hostile input"). The buffer comes from another process, so every rule is a check, and every
 * failure names the byte offset (from the start of the buffer) where it was found.
 */
import { PleaError } from "../../error.ts";

export const ShmFormatErrorCode = {
  /** The buffer is shorter than its header, or its data section runs past the mapped size. */
  truncated: "shm_truncated",
  /** Byte 0 is not "PLEA": the buffer is not a Plea raw noun at all. */
  badMagic: "shm_bad_magic",
  /** Written by another format version: the peer runs another Plea build. */
  badVersion: "shm_bad_version",
  /** Header length, flags or reserved fields are not what this version writes. */
  badHeader: "shm_bad_header",
  /** An entry's word count is out of range or the entry runs past the data section. */
  badEntry: "shm_bad_entry",
  /** A pad field is not zero. */
  badPadding: "shm_bad_padding",
  /** A mug field is above 31 bits. */
  badMug: "shm_bad_mug",
  /** An atom entry ends in a zero word, or holds a value that must be written direct. */
  atomNotCanonical: "shm_atom_not_canonical",
  /** A value carries the invalid tag 01. */
  badValue: "shm_bad_value",
  /** A value names an offset that is not an earlier entry of the tagged kind. */
  badReference: "shm_bad_reference",
  /** The root is not the last entry (or a direct root has a data section). */
  badRoot: "shm_bad_root",
  /** The bytes changed between the two passes over them (the peer is still writing). */
  changed: "shm_changed",
} as const;

export type ShmFormatErrorCodeValue = (typeof ShmFormatErrorCode)[keyof typeof ShmFormatErrorCode];

export class ShmFormatError extends PleaError {
  /** Byte offset from the start of the buffer where the problem was found. */
  readonly offset: number;

  constructor(code: ShmFormatErrorCodeValue, offset: number, message: string) {
    super(code, `Shared-memory noun is invalid at byte ${offset}: ${message}`);
    this.offset = offset;
  }
}
