/**
 * The noun part's error codes, and its three errors that carry data: `CueError` (the bit where a
 * jam goes wrong), `ShmFormatError` (the byte where a flat noun goes wrong, docs/shm-format.md,
 * "Hostile input") and `FileAtomError` (the file behind a file-backed atom).
 */
import { PleaError, type CodeOf } from "../error.ts";

export const NounErrorCode = {
  /** `cue`, `cueFromChunks`, `CueDecoder`: bytes that are not the jam of a noun. */
  cue: {
    /** The input ended before the noun did (vere would read zeros past the end; we do not). */
    truncated: "cue_truncated",
    /** A length prefix with 64 or more leading zeros (vere's limit). */
    lengthPrefixTooLong: "cue_length_prefix_too_long",
    /** An atom longer than the input could hold or than ATOM_BYTES_MAX. */
    atomTooLong: "cue_atom_too_long",
    /** A backreference to an offset where no noun starts, or to a cell not finished yet. */
    backrefUnknown: "cue_backref_unknown",
    /** The root itself is a backreference: there is nothing to refer to. */
    backrefTopLevel: "cue_backref_top_level",
    /**
     * Jam with refs: an offset of the ref table where the jam holds no atom-0 placeholder, or
     * that decoding never reached (the jam or its table is damaged).
     */
    refUnmatched: "cue_ref_unmatched",
  },
  /** `readShm`: a buffer that is not a valid flat noun (docs/shm-format.md, "Hostile input"). */
  flat: {
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
  },
  /** File-backed atoms (file-atom.ts): the file behind one, read only when its bytes land. */
  fileAtom: {
    /** The file's size or mtime changed since the atom was made: commit again once it settles. */
    changed: "file_changed",
    /** The file is larger than one atom holds (ATOM_BYTES_MAX). */
    tooLarge: "file_too_large",
    /** The file cannot be opened, read or stat'ed (gone, or its permissions changed). */
    unreadable: "file_unreadable",
  },
} as const;

export type NounErrorCode = CodeOf<typeof NounErrorCode>;

/** Bytes that are not the jam of a noun; the message says what is wrong and at which bit. */
export class CueError extends PleaError<CodeOf<typeof NounErrorCode.cue>> {
  /** @param bit the bit offset in the input where the offending token starts */
  constructor(code: CodeOf<typeof NounErrorCode.cue>, readonly bit: number, message: string) {
    super(code, message);
  }
}

/**
 * A buffer that is not a valid flat noun. It comes from another process, so every rule is a
 * check, and every failure names the byte offset (from the start of the buffer) where it was found.
 */
export class ShmFormatError extends PleaError<CodeOf<typeof NounErrorCode.flat>> {
  /**
   * @param offset the byte offset from the start of the buffer where the problem was found
   * @param detail what is wrong there, lower case: it follows "...is invalid at byte N: "
   */
  constructor(code: CodeOf<typeof NounErrorCode.flat>, readonly offset: number, detail: string) {
    super(code, `Shared-memory noun is invalid at byte ${offset}: ${detail}`);
  }
}

/** A file-backed atom's file could not be read, or changed under a commit. */
export class FileAtomError extends PleaError<CodeOf<typeof NounErrorCode.fileAtom>> {
  /** @param path the file, as the atom names it */
  constructor(code: CodeOf<typeof NounErrorCode.fileAtom>, readonly path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
