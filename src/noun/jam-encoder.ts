/**
 * The jam encoder: vere's jam as a resumable state machine, shared by `jam` (one growing buffer)
 * and `jamToSink` (one reused chunk).
 *
 * The walk is vere's (docs/nouns.md, "jam"): pre-order,
 * head first, on an explicit stack. Each noun met is looked up in the dictionary of nouns
 * already written (structural equality):
 * - unseen atom: `0` + mat(a); recorded at the offset of its tag.
 * - unseen cell: `1 0`, then head, then tail; recorded.
 * - seen cell: `1 1` + mat(offset).
 * - seen atom: re-encoded when met0(a) <= met0(offset) (ties re-encode), else a backref; a
 *   re-encoding does not move the recorded offset.
 * An atom with met0(a) <= met0(offset) when first written is therefore never worth a backref,
 * so it is not recorded at all: most small atoms of a large noun cost no dictionary entry.
 *
 * `run` stops when the buffer has too little room for the next token, or part way through a
 * large atom's bytes, and continues where it stopped on the next call: memory stays at the
 * buffer, the dictionary and the walk's stack, whatever the size of the atoms (a file-backed
 * atom streams from its file in JAM_FILE_READ_BYTES reads).
 */
import { closeSync } from "node:fs";
import { assert } from "../error.ts";
import { BigAtom, metBitsOfNumber as metNumber } from "./atom.ts";
import { BitCounter } from "./bit-counter.ts";
import type { BitWriter } from "./bit-writer.ts";
import { Cell } from "./cell.ts";
import { FileAtomError, NounErrorCode } from "./errors.ts";
import { FileAtom } from "./file-atom.ts";
import { JamDictionary } from "./jam-dictionary.ts";
import { jamHashAtom, jamHashNumber, jamHash } from "./jam-hash.ts";
import type { Noun } from "./noun.ts";

/** Free words needed before one token: a tag, mat header and up to 53 value bits (<= 67 bits). */
export const JAM_TOKEN_WORDS_MAX = 4;
/** Bytes of a file-backed atom read per step into the encoder's scratch buffer. */
export const JAM_FILE_READ_BYTES = 1 << 20;
/** Largest byte length whose atom may be a direct (number) atom. */
const DIRECT_ATOM_BYTES_MAX = 7;
const EMPTY_BYTES = new Uint8Array(0);

/** Where the encoder writes: the bits themselves, or only their count (jam-length.ts). */
export type JamOutput = BitWriter | BitCounter;

/**
 * Most dictionary decisions a plan records: 32 Mi entries (256 MiB). A noun with more cells and
 * large atoms than that is jammed the second time with a dictionary of its own.
 */
export const JAM_PLAN_ENTRIES_MAX = 32 * 1024 * 1024;

/**
 * The dictionary's answers of one jam of a noun, in the order the walk asked: for each cell and
 * large atom, the offset of its earlier copy, or -1. A second jam of the same noun that replays
 * them writes the same bits without hashing or probing anything (jam-length.ts says when).
 */
export class JamPlan {
  entries = new Float64Array(1024);
  count = 0;

  push(seen: number): boolean {
    if (this.count === this.entries.length) {
      if (this.count >= JAM_PLAN_ENTRIES_MAX) return false;
      const grown = new Float64Array(Math.min(JAM_PLAN_ENTRIES_MAX, this.count * 2));
      grown.set(this.entries);
      this.entries = grown;
    }
    this.entries[this.count++] = seen;
    return true;
  }
}

/** One atom a jam with refs wrote as a placeholder (docs/nouns.md, "Jam with refs"). */
export interface JamRef<R> {
  /** Bit offset in the jam of the placeholder's tag bit: where the atom's encoding would start. */
  readonly bitOffset: number;
  /** What `refOf` returned for the atom. */
  readonly ref: R;
}

/**
 * Jam with refs (a Plea extension, not vere's jam): every big atom for which `refOf` returns a
 * ref is written as atom 0 (two bits) and listed in `table` with its offset, in order of offset.
 * The atom's bytes are never read (only its length, mug and, for the dictionary's hash, a
 * source's `readRange` samples). A later equal atom backrefs to the placeholder as jam would to
 * the atom, so cue with the table's atoms substituted (CueDecoderOptions.substitute) returns
 * the same noun. `refOf` must answer the same for equal atoms within one jam, and the same in a
 * length pass as in the jam that follows it. The encoder appends to `table`: give each jam its own.
 */
export interface JamRefs<R> {
  refOf(a: BigAtom): R | undefined;
  readonly table: JamRef<R>[];
}

/** A large atom whose bytes are being written. */
interface Body {
  atom: BigAtom | FileAtom;
  /** Bytes of the atom: the last (nonzero) one is written by bits, the others as bytes. */
  length: number;
  /** Next byte to write. */
  pos: number;
  /** Open descriptor of a file-backed atom, else -1. */
  fd: number;
  /** The last byte, as read for the header (whose length depends on it). */
  last: number;
}

export class JamEncoder {
  private readonly stack: Noun[];
  /** Cells and big atoms. */
  private readonly dictionary = new JamDictionary();
  /**
   * Direct atoms wider than their first offset, kept apart: few, so lookups stay in cache
   * instead of probing the large table of cells.
   */
  private readonly numbers = new JamDictionary();
  private body: Body | null = null;
  private scratch: Uint8Array | null = null;
  private readonly fileReadBytes: number;
  /** True once every bit of the noun is written (pending bits may still wait in the writer). */
  done = false;

  /** Records the dictionary's answers (`record`), or replays a recorded plan's (`replay`). */
  private record: JamPlan | undefined;
  private readonly replay: JamPlan | undefined;
  private replayed = 0;
  /** Jam with refs: placeholders for the atoms `refOf` names. */
  private readonly refs: JamRefs<unknown> | undefined;

  /**
   * `fileReadBytes` bounds the scratch buffer for file-backed atoms (at least 4). With `record`,
   * the dictionary's answers go into the plan (until it is full: then it is dropped and the
   * caller told by `plan`); with `replay`, they come from a plan recorded on this same noun.
   */
  constructor(root: Noun, fileReadBytes = JAM_FILE_READ_BYTES, options: { record?: boolean; replay?: JamPlan; refs?: JamRefs<unknown> } = {}) {
    this.stack = [root];
    this.fileReadBytes = Math.max(4, fileReadBytes);
    this.record = options.record ? new JamPlan() : undefined;
    this.replay = options.replay;
    this.refs = options.refs;
  }

  /** The recorded plan, once done (undefined if none was asked for or it outgrew its bound). */
  get plan(): JamPlan | undefined {
    return this.done ? this.record : undefined;
  }

  /** The dictionary's answer for a cell or large atom: replayed, or looked up (and recorded). */
  private seen(n: Cell | BigAtom | FileAtom, pos: number): number {
    const replay = this.replay;
    if (replay !== undefined) {
      assert(this.replayed < replay.count, "a jam plan replayed on another noun");
      return replay.entries[this.replayed++];
    }
    const seen = this.dictionary.findOrAdd(n instanceof Cell ? (n.jamHash !== 0 ? n.jamHash : jamHash(n)) : jamHashAtom(n), n, pos);
    if (this.record !== undefined && !this.record.push(seen)) this.record = undefined;
    return seen;
  }

  /** Bytes of the large atom in progress still to write (a hint for growing buffers). */
  get bodyBytesLeft(): number {
    return this.body === null ? 0 : this.body.length - this.body.pos;
  }

  /** Releases what a stopped encoder holds (an open file). Safe to call more than once. */
  close(): void {
    if (this.body !== null && this.body.fd >= 0) {
      closeSync(this.body.fd);
      this.body.fd = -1;
    }
  }

  /**
   * Writes into `w` until done, out of room, or `tokens` nouns were taken off the walk's stack
   * (a bound on the work of one call against a BitCounter, which never runs out of room: a
   * background length pass runs in steps, jam-length.ts `measureJamInSteps`).
   */
  run(w: JamOutput, tokens = Infinity): void {
    const stack = this.stack;
    const numbers = this.numbers;
    let left = tokens;
    while (true) {
      if (this.body !== null && !this.continueBody(w)) return;
      if (stack.length === 0) {
        this.done = true;
        return;
      }
      if (w.roomWords < JAM_TOKEN_WORDS_MAX || left-- <= 0) return;
      let n = stack.pop()!;
      const pos = w.position;
      if (n instanceof FileAtom && n.exactLength() <= DIRECT_ATOM_BYTES_MAX) n = n.materialize();
      if (typeof n === "number") {
        const bits = metNumber(n);
        if (numbers.size > 0 || bits > metNumber(pos)) {
          const h = jamHashNumber(n);
          const seen = numbers.find(h, n);
          if (seen >= 0) {
            writeBackref(w, seen);
            continue;
          }
          if (bits > metNumber(pos)) numbers.add(h, n, pos);
        }
        writeDirectAtom(w, n, bits);
      } else if (n instanceof Cell) {
        const seen = this.seen(n, pos);
        if (seen >= 0) {
          writeBackref(w, seen);
          continue;
        }
        w.writeBits(1, 2);
        stack.push(n.tail, n.head);
      } else {
        // A big atom: wider than any offset, so once seen it is always a backref.
        const seen = this.seen(n, pos);
        if (seen >= 0) {
          writeBackref(w, seen);
          continue;
        }
        const refs = this.refs;
        if (refs !== undefined && n instanceof BigAtom) {
          const ref = refs.refOf(n);
          if (ref !== undefined) {
            // The placeholder: atom 0, recorded in the dictionary at this offset (above).
            refs.table.push({ bitOffset: pos, ref });
            w.writeBits(2, 2);
            continue;
          }
        }
        this.startBody(w, n);
      }
    }
  }

  private startBody(w: JamOutput, a: BigAtom | FileAtom): void {
    let length: number;
    let last: number;
    let fd = -1;
    if (a instanceof BigAtom) {
      length = a.bytes.length;
      last = a.bytes[length - 1];
    } else {
      length = a.exactLength();
      fd = a.open();
      this.body = { atom: a, length, pos: 0, fd, last: 0 }; // so close() finds the fd if a read throws
      const one = this.scratchFor(1);
      a.readInto(fd, length - 1, one.subarray(0, 1));
      last = one[0];
    }
    const bits = (length - 1) * 8 + (32 - Math.clz32(last));
    // tag 0, then mat: c zeros, a 1, the low c-1 bits of `bits`; c <= 36, so at most 3 words.
    const c = metNumber(bits);
    w.writeBits(0, 1);
    w.writeZeros(c);
    w.writeBits(1, 1);
    w.writeNumber(bits - 2 ** (c - 1), c - 1);
    this.body = { atom: a, length, pos: 0, fd, last };
  }

  /** Writes as much of the body as fits; true when the body is complete. */
  private continueBody(w: JamOutput): boolean {
    const body = this.body!;
    const a = body.atom;
    const whole = body.length - 1;
    if (w instanceof BitCounter && body.pos < whole) {
      // Counting: a file's bytes need not be read, only its length and last byte (below).
      w.writeBytes(EMPTY_BYTES, 0, whole - body.pos);
      body.pos = whole;
    }
    while (body.pos < whole) {
      const room = w.roomBytes;
      if (room === 0) return false;
      const n = Math.min(room, whole - body.pos);
      if (a instanceof BigAtom) {
        w.writeBytes(a.bytes, body.pos, n);
        body.pos += n;
      } else {
        const scratch = this.scratchFor(Math.min(n, this.fileReadBytes));
        const m = Math.min(n, scratch.length);
        a.readInto(body.fd, body.pos, scratch.subarray(0, m));
        w.writeBytes(scratch, 0, m);
        body.pos += m;
      }
    }
    if (w.roomWords < 1) return false;
    const last = body.last;
    if (a instanceof FileAtom) {
      const scratch = this.scratchFor(1);
      a.readInto(body.fd, whole, scratch.subarray(0, 1));
      // The bytes came from several reads: make sure they are one version of the file.
      a.checkUnchanged(body.fd);
      closeSync(body.fd);
      body.fd = -1;
      if (scratch[0] !== last) {
        throw new FileAtomError(NounErrorCode.fileAtom.changed, a.path, `"${a.path}" changed while it was being committed (its last byte changed); commit again once it is settled`);
      }
    }
    w.writeBits(last, 32 - Math.clz32(last));
    this.body = null;
    return true;
  }

  private scratchFor(n: number): Uint8Array {
    if (this.scratch === null || this.scratch.length < n) {
      this.scratch = new Uint8Array(Math.min(this.fileReadBytes, Math.max(n, 4096)));
    }
    return this.scratch;
  }
}

/** `0` + mat(n) for a direct atom of `bits` bits. At most 67 bits. */
function writeDirectAtom(w: JamOutput, n: number, bits: number): void {
  if (n === 0) {
    w.writeBits(2, 2); // tag 0, then mat(0) = a single 1
    return;
  }
  // tag 0 (bit 0), c zeros (bits 1..c), a 1 (bit c+1), the low c-1 bits of `bits`: 2c+1 <= 13 bits.
  const c = 32 - Math.clz32(bits);
  w.writeBits((1 << (c + 1)) | ((bits & ((1 << (c - 1)) - 1)) << (c + 2)), 2 * c + 1);
  w.writeNumber(n, bits);
}

/** `1 1` + mat(offset). At most 68 bits. */
function writeBackref(w: JamOutput, offset: number): void {
  if (offset === 0) {
    w.writeBits(7, 3);
    return;
  }
  const bits = metNumber(offset);
  const c = 32 - Math.clz32(bits);
  // tag 1 1 (bits 0-1), c zeros, a 1 (bit c+2), the low c-1 bits of `bits`: 2c+2 <= 14 bits.
  w.writeBits(3 | (1 << (c + 2)) | ((bits & ((1 << (c - 1)) - 1)) << (c + 3)), 2 * c + 2);
  w.writeNumber(offset, bits);
}
