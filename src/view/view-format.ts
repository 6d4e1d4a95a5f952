/**
 * The read view's format (docs/read-view.md): three LMDB tables in the event log's environment,
 * written by mars in the same transaction as each event's record, read by anyone read-only.
 *
 *   VIEW_FILES  key: desk ‖ for each path element: 0x00 0x01 ‖ element bytes (0x00 as 0x00 0xFF)
 *               value: a sealed file entry (below)
 *   VIEW_DESKS  key: desk (a @tas: UTF-8, no 0x00)   value: a sealed [files bytes]
 *   VIEW_HEAD   key: "head"                           value: a sealed [eve mug]
 *
 * The key's element encoding makes LMDB's bytewise key order the kernel's listing order (path
 * element by element, each bytewise, a path before the paths under it: docs/kernel.md, "Peeks"),
 * whatever bytes an element holds: the separator 0x00 0x01 sorts below every byte an element can
 * continue with, and an escaped 0x00 (0x00 0xFF) above the separator, as FoundationDB's tuple
 * layer encodes byte strings. The files under a path are then one key range (`spurRange`).
 *
 * Every value is sealed (integers little-endian):
 *
 *   0   u8   VIEW_VALUE_VERSION
 *   1   u8   kind: 1 inline file, 2 blob file, 3 desk totals, 4 head
 *   2   u16  file: bytes of the mime type field; others: 0
 *   4   u32  CRC-32 of bytes [8, end)
 *   8   ...  body
 *
 *   file body   u32 mug of the data atom, u32+u32 len (the file's length, low and high words),
 *               the mime type (per element: u16 length, bytes), then
 *               inline: the atom's bytes (little-endian, no trailing zero; none for 0)
 *               blob:   the blob's 32-byte SHA-256 (its name), u32+u32 its byte length
 *   desk body   u32+u32 files, u32+u32 bytes, u32 flags (bit 0: a path of the desk was too long
 *               for a key, so the view does not list every file: `VIEW_KEY_BYTES_MAX`)
 *   head body   u32+u32 eve, u32 mug
 *
 * Bytes from the disk get checks, not asserts: a value that fails one is a `view_damaged` error
 * naming the entry.
 */
import { PleaError } from "../error.ts";
import { BLOB_ATOM_BYTES_MAX, BLOB_DIGEST_BYTES, blobDigestOf, blobNameOf, crc32 } from "../blob/index.ts";
import { ViewErrorCode } from "./errors.ts";

/**
 * Named databases the log's environment may hold, set on every open (a per-handle limit, not on
 * disk): the log's five tables and the view's three, with room to grow.
 */
export const LMDB_TABLES_MAX = 16;

/** The log's tables a view reader reads too (docs/event-log.md, "On-disk layout"). */
export const LOG_TABLE_EVENTS = "EVENTS";
export const LOG_TABLE_INFO = "INFO";

/** LMDB tables of the view. */
export const VIEW_TABLE_FILES = "VIEW_FILES";
export const VIEW_TABLE_DESKS = "VIEW_DESKS";
export const VIEW_TABLE_HEAD = "VIEW_HEAD";
/** The one key of VIEW_HEAD. */
export const VIEW_HEAD_KEY = "head";

/** Version of the value format this build writes and reads. */
export const VIEW_VALUE_VERSION = 1;

export const ViewKind = { inline: 1, blob: 2, desk: 3, head: 4 } as const;

/** Bytes of a sealed value's header (version, kind, type bytes, CRC). */
export const VIEW_SEAL_BYTES = 8;
/** Bytes of a file body before its mime type: mug, len. */
const FILE_FIXED_BYTES = 12;
/** Bytes of a blob file's tail: name and byte length. */
const BLOB_TAIL_BYTES = BLOB_DIGEST_BYTES + 8;
const DESK_BODY_BYTES = 20;
const DESK_FLAG_INCOMPLETE = 1;
const HEAD_BODY_BYTES = 12;
const TWO_32 = 4294967296;

/**
 * Largest mime type field: 4 KiB (a u16 can say 64 KiB). urth sends `/text/plain`; the bound keeps
 * a hostile type from making every entry large, and a damaged length from reading far.
 */
export const VIEW_TYPE_BYTES_MAX = 4096;

/**
 * Largest key the `lmdb` package takes with its default page size: 1978 bytes (its README). A
 * file whose key would be longer (a path of about 2 KB; Linux allows 4 KB) is kept out of the view
 * and its desk is marked `incomplete` until the desk is cleared or the view rebuilt: a reader then
 * asks mars for that desk's listings and files (docs/read-view.md, "Limits").
 */
export const VIEW_KEY_BYTES_MAX = 1978;

/** A file as the view holds it. */
export interface ViewFile {
  /** The mime type's elements (`["text", "plain"]`). */
  readonly type: string[];
  /** The file's length in bytes (the atom drops trailing zeros; `len` restores them). */
  readonly len: number;
  /** The mug of the file's data atom. */
  readonly mug: number;
  /** The atom's bytes, for a file under the blob threshold. */
  readonly inline?: Uint8Array;
  /** The blob that holds the atom's bytes (docs/blob-store.md), for a large file. */
  readonly blob?: { readonly name: string; readonly byteLength: number };
}

/** What a file entry is made from: bytes, not nouns (the caller resolves the atom). */
export interface ViewFileInput {
  readonly type: readonly Uint8Array[];
  readonly len: number;
  readonly mug: number;
  readonly inline?: Uint8Array;
  readonly blob?: { readonly name: string; readonly byteLength: number };
}

export interface DeskTotals {
  readonly files: number;
  readonly bytes: number;
}

/** A desk's entry: its totals, and whether the view lists all of its files. */
export interface DeskEntry extends DeskTotals {
  /** A path of the desk was too long for a key: the view does not hold every file. */
  readonly incomplete: boolean;
}

export interface ViewHead {
  readonly eve: number;
  readonly mug: number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// Keys ---------------------------------------------------------------------------------------

/** Bytes of a desk's name: a @tas, so ASCII without 0x00. */
export function deskKey(desk: string): Buffer {
  return Buffer.from(utf8.encode(desk));
}

/** The key of file `path` (its elements' bytes) in `desk`. */
export function fileKey(desk: string, path: readonly Uint8Array[]): Buffer {
  const d = utf8.encode(desk);
  let n = d.length;
  for (const e of path) {
    n += 2 + e.length;
    for (let i = 0; i < e.length; i++) if (e[i] === 0) n++;
  }
  const out = Buffer.alloc(n);
  out.set(d, 0);
  let at = d.length;
  for (const e of path) {
    out[at++] = 0;
    out[at++] = 1;
    for (let i = 0; i < e.length; i++) {
      out[at++] = e[i];
      if (e[i] === 0) out[at++] = 0xff;
    }
  }
  return out;
}

/**
 * The key range [start, end) of the files at or under `spur` in `desk`: the file `spur` itself and
 * every key that continues it with a separator (0x00 0x01); nothing that merely shares its bytes.
 */
export function spurRange(desk: string, spur: readonly Uint8Array[]): { start: Buffer; end: Buffer } {
  const prefix = fileKey(desk, spur);
  const end = Buffer.alloc(prefix.length + 2);
  end.set(prefix, 0);
  end[prefix.length] = 0;
  end[prefix.length + 1] = 2;
  // An empty spur: every file of the desk starts with desk ‖ 0x00 0x01.
  if (spur.length === 0) {
    const start = Buffer.alloc(prefix.length + 2);
    start.set(prefix, 0);
    start[prefix.length + 1] = 1;
    return { start, end };
  }
  return { start: prefix, end };
}

/** A file key's path elements, checked against `desk` (a damaged key is `view_damaged`). */
export function pathOfFileKey(key: Uint8Array, desk: string, where: string): Uint8Array[] {
  const d = utf8.encode(desk);
  const bad = (finding: string) => damaged(where, `the key of a file of desk %${desk} ${finding}`);
  if (key.length < d.length + 2) throw bad("is too short");
  for (let i = 0; i < d.length; i++) if (key[i] !== d[i]) throw bad("names another desk");
  const out: Uint8Array[] = [];
  let at = d.length;
  while (at < key.length) {
    if (key[at] !== 0 || key[at + 1] !== 1) throw bad(`has no separator at byte ${at}`);
    at += 2;
    const bytes: number[] = [];
    while (at < key.length && !(key[at] === 0 && key[at + 1] === 1)) {
      if (key[at] === 0) {
        if (key[at + 1] !== 0xff) throw bad(`has a bare 0x00 at byte ${at}`);
        bytes.push(0);
        at += 2;
        continue;
      }
      bytes.push(key[at]);
      at++;
    }
    out.push(new Uint8Array(bytes));
  }
  if (out.length === 0) throw bad("holds no path");
  return out;
}

/** An element's bytes as text, as urth reads a path's atoms (`cordToString`: UTF-8). */
export function elementText(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** An element's bytes from text, as `cord` makes them (UTF-8; an atom has no trailing zeros). */
export function elementBytes(text: string): Uint8Array {
  const b = utf8.encode(text);
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, n);
}

// Values -------------------------------------------------------------------------------------

function seal(kind: number, aux: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(VIEW_SEAL_BYTES + body.length);
  out.set(body, VIEW_SEAL_BYTES);
  return sealIn(out, kind, aux);
}

/** Fills in the header of `out`, whose body [VIEW_SEAL_BYTES, end) is written. */
function sealIn(out: Buffer, kind: number, aux: number): Buffer {
  out[0] = VIEW_VALUE_VERSION;
  out[1] = kind;
  out.writeUInt16LE(aux, 2);
  out.writeUInt32LE(crc32(out.subarray(VIEW_SEAL_BYTES)), 4);
  return out;
}

/** Checks a sealed value's header and CRC; returns its kind, aux field and body. */
function unseal(value: Uint8Array, where: string): { kind: number; aux: number; body: Uint8Array } {
  if (value.length < VIEW_SEAL_BYTES) throw damaged(where, `it is ${value.length} bytes, shorter than its ${VIEW_SEAL_BYTES}-byte header`);
  if (value[0] !== VIEW_VALUE_VERSION) throw damaged(where, `it says format version ${value[0]}; this build reads version ${VIEW_VALUE_VERSION}`);
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  const body = value.subarray(VIEW_SEAL_BYTES);
  if (crc32(body) !== view.getUint32(4, true)) throw damaged(where, "its checksum is wrong");
  return { kind: value[1], aux: view.getUint16(2, true), body };
}

/**
 * Hands out the buffer a value is encoded into: `Buffer.allocUnsafe` by default, or
 * `scratchBytes()`, one buffer used again for every value.
 */
export type ValueBytes = (n: number) => Buffer;

/**
 * One growing buffer, handed out again on each call: for values that are `put` inside an LMDB
 * write transaction, which copies them into the transaction at once (the `lmdb` package's README,
 * `transaction`: puts "are immediately written to the transaction"). A 100,000-file commit then
 * allocates no 100 MB of values: separate buffers cost about 0.45 s of garbage collection and
 * page faults there, and 350 MiB more of mars's peak (bench/commit.ts, docs/read-view.md "Cost").
 */
export function scratchBytes(): ValueBytes {
  let buffer = Buffer.allocUnsafe(64 * 1024);
  return (n) => {
    if (n > buffer.length) buffer = Buffer.allocUnsafe(Math.max(n, buffer.length * 2));
    return buffer.subarray(0, n);
  };
}

/** Whether a mime type (its elements' bytes) fits a file entry: VIEW_TYPE_BYTES_MAX, u16 elements. */
export function viewTypeFits(type: readonly Uint8Array[]): boolean {
  let typeBytes = 0;
  for (const e of type) {
    if (e.length > 0xffff) return false;
    typeBytes += 2 + e.length;
  }
  return typeBytes <= VIEW_TYPE_BYTES_MAX;
}

export function encodeViewFile(f: ViewFileInput, bytes: ValueBytes = Buffer.allocUnsafe): Buffer {
  let typeBytes = 0;
  for (const e of f.type) {
    if (e.length > 0xffff) throw usage(`A mime type element of ${e.length} bytes does not fit the view`);
    typeBytes += 2 + e.length;
  }
  if (typeBytes > VIEW_TYPE_BYTES_MAX) throw usage(`A mime type of ${typeBytes} bytes is over the view's ${VIEW_TYPE_BYTES_MAX}`);
  if (!Number.isSafeInteger(f.len) || f.len < 0) throw usage(`A file length of ${f.len} does not fit the view`);
  const tail = f.blob !== undefined ? BLOB_TAIL_BYTES : (f.inline?.length ?? 0);
  // Every byte is written, so the buffer need not be zero-filled first.
  const out = bytes(VIEW_SEAL_BYTES + FILE_FIXED_BYTES + typeBytes + tail);
  let at = VIEW_SEAL_BYTES;
  out.writeUInt32LE(f.mug >>> 0, at);
  out.writeUInt32LE(f.len % TWO_32 >>> 0, at + 4);
  out.writeUInt32LE(Math.floor(f.len / TWO_32), at + 8);
  at += FILE_FIXED_BYTES;
  for (const e of f.type) {
    out.writeUInt16LE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  if (f.blob !== undefined) {
    out.set(blobDigestOf(f.blob.name), at);
    out.writeUInt32LE(f.blob.byteLength % TWO_32 >>> 0, at + BLOB_DIGEST_BYTES);
    out.writeUInt32LE(Math.floor(f.blob.byteLength / TWO_32), at + BLOB_DIGEST_BYTES + 4);
    return sealIn(out, ViewKind.blob, typeBytes);
  }
  if (f.inline !== undefined) out.set(f.inline, at);
  return sealIn(out, ViewKind.inline, typeBytes);
}

/** A checked file entry; `where` names it in the error. `inline` is a view of `value`. */
export function decodeViewFile(value: Uint8Array, where: string): ViewFile {
  const { kind, aux: typeBytes, body } = unseal(value, where);
  if (kind !== ViewKind.inline && kind !== ViewKind.blob) throw damaged(where, `it is of kind ${kind}, not a file's`);
  if (typeBytes > VIEW_TYPE_BYTES_MAX) throw damaged(where, `its mime type is ${typeBytes} bytes, over ${VIEW_TYPE_BYTES_MAX}`);
  if (body.length < FILE_FIXED_BYTES + typeBytes) throw damaged(where, `its body is ${body.length} bytes, too short for its header`);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const mug = view.getUint32(0, true);
  const len = u64(view, 4);
  if (!Number.isSafeInteger(len)) throw damaged(where, `its length ${len} is out of range`);
  const type: string[] = [];
  const typeEnd = FILE_FIXED_BYTES + typeBytes;
  for (let at = FILE_FIXED_BYTES; at < typeEnd; ) {
    if (at + 2 > typeEnd) throw damaged(where, "its mime type ends inside an element's length");
    const n = view.getUint16(at, true);
    if (at + 2 + n > typeEnd) throw damaged(where, "its mime type ends inside an element");
    type.push(elementText(body.subarray(at + 2, at + 2 + n)));
    at += 2 + n;
  }
  const rest = body.subarray(typeEnd);
  if (kind === ViewKind.inline) {
    if (rest.length > 0 && rest[rest.length - 1] === 0) throw damaged(where, "its atom's bytes end in a zero byte");
    if (rest.length > len) throw damaged(where, `its atom holds ${rest.length} bytes, more than the file's ${len}`);
    return { type, len, mug, inline: rest };
  }
  if (rest.length !== BLOB_TAIL_BYTES) throw damaged(where, `its blob reference is ${rest.length} bytes, not ${BLOB_TAIL_BYTES}`);
  const byteLength = u64(view, typeEnd + BLOB_DIGEST_BYTES);
  if (byteLength < 1 || byteLength > BLOB_ATOM_BYTES_MAX || byteLength > len) throw damaged(where, `its blob's byte length ${byteLength} does not fit the file's ${len}`);
  return { type, len, mug, blob: { name: blobNameOf(rest.subarray(0, BLOB_DIGEST_BYTES)), byteLength } };
}

export function encodeDeskEntry(t: DeskEntry): Buffer {
  const body = new Uint8Array(DESK_BODY_BYTES);
  const view = new DataView(body.buffer);
  setU64(view, 0, t.files);
  setU64(view, 8, t.bytes);
  view.setUint32(16, t.incomplete ? DESK_FLAG_INCOMPLETE : 0, true);
  return seal(ViewKind.desk, 0, body);
}

export function decodeDeskEntry(value: Uint8Array, where: string): DeskEntry {
  const { kind, body } = unseal(value, where);
  if (kind !== ViewKind.desk || body.length !== DESK_BODY_BYTES) throw damaged(where, `it is not a desk's totals (kind ${kind}, ${body.length} bytes)`);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const files = u64(view, 0);
  const bytes = u64(view, 8);
  if (!Number.isSafeInteger(files) || !Number.isSafeInteger(bytes)) throw damaged(where, "its totals are out of range");
  const flags = view.getUint32(16, true);
  if ((flags & ~DESK_FLAG_INCOMPLETE) !== 0) throw damaged(where, `its flags 0x${flags.toString(16)} are not ones this build writes`);
  return { files, bytes, incomplete: flags !== 0 };
}

export function encodeViewHead(h: ViewHead): Buffer {
  const body = new Uint8Array(HEAD_BODY_BYTES);
  const view = new DataView(body.buffer);
  setU64(view, 0, h.eve);
  view.setUint32(8, h.mug >>> 0, true);
  return seal(ViewKind.head, 0, body);
}

export function decodeViewHead(value: Uint8Array, where: string): ViewHead {
  const { kind, body } = unseal(value, where);
  if (kind !== ViewKind.head || body.length !== HEAD_BODY_BYTES) throw damaged(where, `it is not the view's head (kind ${kind}, ${body.length} bytes)`);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const eve = u64(view, 0);
  if (!Number.isSafeInteger(eve)) throw damaged(where, `its event ${eve} is out of range`);
  return { eve, mug: view.getUint32(8, true) };
}

function u64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
}

function setU64(view: DataView, at: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw usage(`${n} does not fit the view's u64 fields`);
  view.setUint32(at, n % TWO_32 >>> 0, true);
  view.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

/** What an operator can do about a damaged view. */
export const VIEW_DAMAGED_ADVICE =
  "The committed files are safe in the event log, which has its own checks; the view is a copy for fast reads. The disk may be failing: check it, and restore the pier from a backup";

function damaged(where: string, finding: string): PleaError {
  return new PleaError(ViewErrorCode.damaged, `The read view's ${where} is damaged: ${finding}. ${VIEW_DAMAGED_ADVICE}`);
}

function usage(message: string): PleaError {
  return new PleaError(ViewErrorCode.usage, message);
}
