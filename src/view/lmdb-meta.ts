/**
 * Checks LMDB's data file before LMDB maps it (docs/event-log.md, "Start-up recovery"). Shared:
 * mars's log runs it before it opens the log, and a read-only reader of the read view
 * (view-reader.ts) before it maps the same file.
 *
 * LMDB has no checksums and reads its pages in place through a memory map: a damaged meta page
 * can make it pick an older transaction without a word (a silent rollback), follow a wild page
 * number (SIGSEGV), or read a page the file no longer holds (SIGBUS). None of those can be caught
 * once the file is mapped, so the two meta pages are read here with plain reads and checked
 * first. The layout is that of the LMDB the `lmdb` package (3.x) builds, `MDB_page_header` and
 * `MDB_meta` in its mdb.c
 * (https://github.com/kriszyp/lmdb-js/blob/master/dependencies/lmdb/libraries/liblmdb/mdb.c),
 * confirmed on a data.mdb this code wrote:
 *
 *   page header (24 bytes)               meta (from byte 24 of the page)
 *   0   u64  page number (0 or 1)        24  u32  magic 0xBEEFC0DE
 *   8   u64  txnid (unused on a meta)    28  u32  data version (low 16 bits: 2)
 *   16  u16  pad                         32  u64  fixed-map address (unused)
 *   18  u16  flags (P_META = 0x08)       40  u64  map size
 *   20  u32  lower/upper                 48  48   free-space DB: u32 page size, u16 flags, u16
 *                                                 depth, u64 branch, leaf, overflow pages,
 *                                                 entries, root
 *                                        96  48   main DB, same layout
 *                                        144 u64  last page used
 *                                        152 u64  txnid of the commit that wrote this meta
 *
 * Meta page 0 is at byte 0, meta page 1 at byte `page size`. A commit writes the meta page of
 * parity `txnid & 1`, so a healthy file holds two consecutive txnids (or two zeros: created,
 * never committed); LMDB uses the one with the larger txnid. Plea's log only ever appends, so
 * every page up to the last one used has been written (measured: the file length equalled
 * (last page + 1) x page size after each of 3,000 commits of mixed sizes).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * Makes the error for a damaged file: `finding` says what is wrong ("meta page 1 has magic ..."),
 * `file` is the data file. The log throws its own LogError, the view reader its own code.
 */
export type LmdbDamaged = (file: string, finding: string, cause?: unknown) => Error;

/** `MDB_MAGIC`. */
export const LMDB_MAGIC = 0xbeefc0de;

/** `MDB_DATA_VERSION` of the LMDB the `lmdb` package builds (its low 16 bits in the file). */
export const LMDB_DATA_VERSION = 2;

/** Smallest and largest page size LMDB uses (the OS page size; `MAX_PAGESIZE` is 64 KiB). */
export const LMDB_PAGE_BYTES_MIN = 4096;
export const LMDB_PAGE_BYTES_MAX = 65536;

/** Bytes of a meta page that are read and checked: the header and `MDB_meta` up to its txnid. */
export const LMDB_META_READ_BYTES = 160;

/** A map size above this cannot be mapped (x86-64 and arm64 user address space: 2^47). */
export const LMDB_MAP_BYTES_MAX = 2 ** 47;

/** `P_META` in a page header's flags. */
const PAGE_FLAG_META = 0x08;

/** Offsets inside a meta page (see the table above). */
const OFFSET_PAGE_NUMBER = 0;
const OFFSET_FLAGS = 18;
const OFFSET_MAGIC = 24;
const OFFSET_VERSION = 28;
const OFFSET_MAP_BYTES = 40;
const OFFSET_PAGE_BYTES = 48;
const OFFSET_FREE_ROOT = 48 + 40;
const OFFSET_MAIN_ROOT = 96 + 40;
const OFFSET_LAST_PAGE = 144;
const OFFSET_TXNID = 152;

/** What the checked file says, from the meta page LMDB will use. */
export interface LmdbHead {
  readonly fileBytes: number;
  readonly pageBytes: number;
  /** Which meta page LMDB will use (the one with the larger txnid; page 0 on a tie, as LMDB). */
  readonly metaPage: 0 | 1;
  readonly txnid: number;
  readonly lastPage: number;
}

/**
 * Reads and checks data.mdb's meta pages. Throws `damaged(...)` naming what is wrong.
 * The size is taken after the meta pages are read, so a writer that extends the file meanwhile
 * (pages first, then the meta page) never makes a healthy file look short.
 */
export function readLmdbHead(file: string, damaged: LmdbDamaged): LmdbHead {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (cause) {
    throw damaged(file, `it cannot be read (${(cause as Error).message})`, cause);
  }
  try {
    const page0 = new Uint8Array(LMDB_META_READ_BYTES);
    const page1 = new Uint8Array(LMDB_META_READ_BYTES);
    const got0 = readSync(fd, page0, 0, LMDB_META_READ_BYTES, 0);
    const pageBytes = got0 === LMDB_META_READ_BYTES ? u32(page0, OFFSET_PAGE_BYTES) : 0;
    const got1 = pageBytes >= LMDB_PAGE_BYTES_MIN && pageBytes <= LMDB_PAGE_BYTES_MAX ? readSync(fd, page1, 0, LMDB_META_READ_BYTES, pageBytes) : 0;
    const fileBytes = fstatSync(fd).size;
    return checkLmdbMeta(got0 === LMDB_META_READ_BYTES ? page0 : page0.subarray(0, got0), got1 === LMDB_META_READ_BYTES ? page1 : page1.subarray(0, got1), fileBytes, file, damaged);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks the first LMDB_META_READ_BYTES of both meta pages against each other and the file's
 * size (no I/O: the tests feed it bytes). Returns what LMDB will use; throws `onDamaged(...)` otherwise.
 */
export function checkLmdbMeta(page0: Uint8Array, page1: Uint8Array, fileBytes: number, file: string, onDamaged: LmdbDamaged): LmdbHead {
  const damaged = (what: string) => onDamaged(file, what);
  if (page0.length < LMDB_META_READ_BYTES) throw damaged(`it is ${fileBytes} bytes long, too short to hold LMDB's meta pages`);
  const pageBytes = u32(page0, OFFSET_PAGE_BYTES);
  const p0 = metaFields(page0);
  const problem0 = metaProblem(p0, 0, pageBytes);
  if (problem0) throw damaged(`meta page 0 ${problem0}`);
  if (page1.length < LMDB_META_READ_BYTES) throw damaged(`it is ${fileBytes} bytes long, too short to hold LMDB's meta page 1`);
  const p1 = metaFields(page1);
  const problem1 = metaProblem(p1, 1, pageBytes);
  if (problem1) throw damaged(`meta page 1 ${problem1}`);
  if (p0.pageBytes !== p1.pageBytes) throw damaged(`its meta pages disagree on the page size (${p0.pageBytes} and ${p1.pageBytes})`);
  const consecutive = Math.abs(p0.txnid - p1.txnid) === 1 || (p0.txnid === 0 && p1.txnid === 0);
  if (!consecutive) {
    throw damaged(`its meta pages hold transactions ${p0.txnid} and ${p1.txnid}, which LMDB never writes (one is always the other's successor)`);
  }
  for (const [i, m] of [p0, p1].entries()) {
    const needed = (m.lastPage + 1) * pageBytes;
    if (needed > fileBytes) throw damaged(`meta page ${i} uses pages up to ${m.lastPage}, ${needed} bytes, but the file is ${fileBytes} bytes (truncated)`);
  }
  const metaPage = p0.txnid >= p1.txnid ? 0 : 1;
  const m = metaPage === 0 ? p0 : p1;
  return { fileBytes, pageBytes, metaPage, txnid: m.txnid, lastPage: m.lastPage };
}

interface MetaFields {
  pageNumber: number;
  flags: number;
  magic: number;
  version: number;
  mapBytes: number;
  pageBytes: number;
  freeRoot: number | undefined;
  mainRoot: number | undefined;
  lastPage: number;
  txnid: number;
}

function metaFields(b: Uint8Array): MetaFields {
  return {
    pageNumber: u64(b, OFFSET_PAGE_NUMBER),
    flags: b[OFFSET_FLAGS] | (b[OFFSET_FLAGS + 1] << 8),
    magic: u32(b, OFFSET_MAGIC),
    version: u32(b, OFFSET_VERSION) & 0xffff,
    mapBytes: u64(b, OFFSET_MAP_BYTES),
    pageBytes: u32(b, OFFSET_PAGE_BYTES),
    freeRoot: root(b, OFFSET_FREE_ROOT),
    mainRoot: root(b, OFFSET_MAIN_ROOT),
    lastPage: u64(b, OFFSET_LAST_PAGE),
    txnid: u64(b, OFFSET_TXNID),
  };
}

/** Why meta page `index` cannot be trusted, or undefined. */
function metaProblem(m: MetaFields, index: 0 | 1, pageBytes: number): string | undefined {
  if (m.magic !== LMDB_MAGIC) return `has magic 0x${m.magic.toString(16)}, not LMDB's 0x${LMDB_MAGIC.toString(16)}`;
  if ((m.flags & PAGE_FLAG_META) === 0 || m.pageNumber !== index) return `is not marked as meta page ${index} (page number ${m.pageNumber}, flags 0x${m.flags.toString(16)})`;
  if (m.version !== LMDB_DATA_VERSION) return `says LMDB data version ${m.version}; this build reads version ${LMDB_DATA_VERSION}`;
  if (m.pageBytes < LMDB_PAGE_BYTES_MIN || m.pageBytes > LMDB_PAGE_BYTES_MAX || (m.pageBytes & (m.pageBytes - 1)) !== 0 || m.pageBytes !== pageBytes) {
    return `has page size ${m.pageBytes}`;
  }
  if (m.mapBytes > LMDB_MAP_BYTES_MAX) return `has map size ${m.mapBytes}, beyond any address space`;
  if (!Number.isSafeInteger(m.txnid)) return `has transaction id ${m.txnid}`;
  if (m.lastPage < 1 || !Number.isSafeInteger(m.lastPage)) return `has last page ${m.lastPage}`;
  for (const [name, r] of [["free-space", m.freeRoot], ["main", m.mainRoot]] as const) {
    if (r !== undefined && (r < 2 || r > m.lastPage)) return `has its ${name} tree's root at page ${r}, outside pages 2..${m.lastPage}`;
  }
  return undefined;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** A little-endian u64 as a number: exact below 2^53, which every sane field is (callers check). */
function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 2 ** 32;
}

/** A tree's root page, or undefined for `P_INVALID` (all ones: an empty tree). */
function root(b: Uint8Array, at: number): number | undefined {
  return u32(b, at) === 0xffffffff && u32(b, at + 4) === 0xffffffff ? undefined : u64(b, at);
}
