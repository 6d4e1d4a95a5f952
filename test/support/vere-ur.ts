/**
 * vere's own jam, cue and mug (urbit/vere's `pkg/ur`), built at run time and bound through
 * `bun:ffi`: the peer Plea's codec is checked against (test/noun/vere-peer.test.ts) and measured
 * against (bench/noun.ts). See docs/nouns.md, "Against vere's C".
 *
 * The peer is not Plea's code and is not in the repository: its sources are found in the
 * directory named by PLEA_VERE_UR (by default the shared folder's peers/vere-ur beside the
 * repository, `VERE_UR_DIR_DEFAULT` below) and
 * compiled with the machine's C compiler (CC, default `cc`) in a temporary directory, once per
 * process, with the flags its README gives; the directory is removed as soon as the build is
 * loaded. Where there is no compiler or no peer directory, `vereUr()` returns the reason
 * instead, for the caller to print and skip; a build that fails with both present is an error,
 * not a skip.
 *
 * Same discipline as src/ffi/libc.ts: every result that can signal failure is checked, and a
 * failure throws an Error naming the call. vere's C aborts the process on out-of-memory and is
 * not safe on hostile input (docs/nouns.md): only well-formed jams, or bytes already known to be
 * harmless, may be cued in process. Hostile bytes go to the driver (vere-ur-driver.ts).
 */
import { dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BigAtom, Cell, type Noun } from "../../src/noun/index.ts";

const { u8, u32, u64, ptr: pointer } = FFIType;

/** The environment variable naming the peer's directory. */
export const VERE_UR_ENV = "PLEA_VERE_UR";
/** The repository's root (this file is test/support/vere-ur.ts). */
const REPO_ROOT = resolve(import.meta.dir, "..", "..");
/** Where the peer is when PLEA_VERE_UR is not set: beside the repository. */
const VERE_UR_DIR_DEFAULT = resolve(REPO_ROOT, "..", "shared", "peers", "vere-ur");
/** The peer's library sources (its README), without its own tests.c. */
const VERE_UR_SOURCES = ["bitstream.c", "hashcons.c", "serial.c", "murmur3.c"];
/** The flags the peer's README builds its shared library with (`-shared` is the link step). */
const VERE_UR_CFLAGS = ["-O3", "-fPIC"];
/** The fuzz driver's source (test/support/vere-ur-driver.c). */
const DRIVER_SOURCE = join(import.meta.dir, "vere-ur-driver.c");

/** `ur_cue_res_e`: what vere's `ur_cue` returns. */
export const UrCue = { good: 0, back: 1, gone: 2, meme: 3 } as const;
export const UR_CUE_NAMES = ["ur_cue_good", "ur_cue_back", "ur_cue_gone", "ur_cue_meme"] as const;

/** A noun reference in a vere root (`ur_nref`): tag in the top 2 bits, so always a bigint. */
export type Nref = bigint;
/** A vere noun arena (`ur_root_t *`). */
export type Root = Pointer;

/** Top two bits of an `ur_nref`: 0 a direct atom (the value itself), 1 an indirect atom, 2 a cell. */
export const NREF_TAG_SHIFT = 62n;
export const NREF_INDEX_MASK = (1n << 62n) - 1n;

const symbols = {
  ur_root_init: { args: [], returns: pointer },
  ur_root_free: { args: [pointer], returns: FFIType.void },
  ur_coin64: { args: [pointer, u64], returns: u64 },
  ur_coin_bytes: { args: [pointer, u64, pointer], returns: u64 },
  ur_cons: { args: [pointer, u64, u64], returns: u64 },
  ur_jam: { args: [pointer, u64, pointer, pointer], returns: u64 },
  ur_cue: { args: [pointer, u64, pointer, pointer], returns: u32 },
  ur_cue_test: { args: [u64, pointer], returns: u8 },
  ur_nref_mug: { args: [pointer, u64], returns: u32 },
  // Exported by hashcons.c but not declared in its header (the peer's README).
  ur_mug_bytes: { args: [pointer, u64], returns: u32 },
} as const;

const libcSymbols = { free: { args: [pointer], returns: FFIType.void } } as const;

/** vere's codec, bound. Roots must be freed with `rootFree`. */
export interface VereUr {
  /** The directory the peer was built from. */
  readonly dir: string;
  /** The compiler's first line of `--version`. */
  readonly compiler: string;
  rootInit(): Root;
  rootFree(root: Root): void;
  /** The reference of a Plea noun rebuilt in `root` (iterative; shared objects built once). */
  build(root: Root, noun: Noun): Nref;
  cons(root: Root, head: Nref, tail: Nref): Nref;
  /** `ur_jam`: the jam's bytes, copied out of vere's buffer, which is then freed. */
  jam(root: Root, ref: Nref): Uint8Array;
  /** `ur_jam` without copying the result out: for timing (the buffer is freed). Returns its length. */
  jamDiscard(root: Root, ref: Nref): number;
  /** `ur_cue` into `root`: the result code and, when `ur_cue_good`, the reference. */
  cue(root: Root, bytes: Uint8Array): { code: number; ref: Nref };
  /** `ur_cue_test`: validates without building. */
  cueTest(bytes: Uint8Array): boolean;
  /** `ur_nref_mug`. */
  mug(root: Root, ref: Nref): number;
  /** `ur_mug_bytes`: the mug of an atom given its minimal bytes. */
  mugBytes(bytes: Uint8Array): number;
}

export type Built<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Where the peer's sources are: PLEA_VERE_UR, or beside the repository. */
export function vereUrDir(): string {
  const fromEnv = process.env[VERE_UR_ENV];
  return fromEnv !== undefined && fromEnv !== "" ? resolve(fromEnv) : VERE_UR_DIR_DEFAULT;
}

interface Build {
  dir: string;
  compiler: string;
  ur: UrSymbols;
  /** The driver executable's bytes: written out by whoever runs it, the build is gone by then. */
  driver: Uint8Array;
}

let build: Built<Build> | undefined;
let bound: Built<VereUr> | undefined;

/**
 * Builds the peer once per process: its sources compiled once with the README's flags, linked
 * into the shared library (loaded here) and into the fuzz driver (kept in memory), after which
 * the temporary directory is removed at once: `bun test` runs no exit handlers, and a loaded
 * library no longer needs its file. Returns the reason when it cannot be built here.
 */
function buildOnce(): Built<Build> {
  if (build !== undefined) return build;
  const dir = vereUrDir();
  const missing = [...VERE_UR_SOURCES, "ur.h", "serial.h"].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    return (build = { ok: false, reason: `vere's ur library not found in ${dir} (missing ${missing.join(", ")}); set ${VERE_UR_ENV} to its directory` });
  }
  const ccName = process.env.CC !== undefined && process.env.CC !== "" ? process.env.CC : "cc";
  const cc = Bun.which(ccName);
  if (cc === null) {
    return (build = { ok: false, reason: `no C compiler (${ccName}) on PATH to build vere's ur library; install one (e.g. gcc) or set CC` });
  }
  const version = Bun.spawnSync([cc, "--version"], { stdout: "pipe", stderr: "pipe" });
  const compiler = version.exitCode === 0 ? version.stdout.toString().split("\n")[0] : ccName;
  const tempDir = mkdtempSync(join(tmpdir(), "plea-vere-ur-"));
  try {
    // One compiler run for all sources; `-c` leaves each object in the working directory.
    run(cc, [...VERE_UR_CFLAGS, "-c", "-I", dir, ...VERE_UR_SOURCES.map((f) => join(dir, f))], "vere's ur sources", tempDir);
    const objects = VERE_UR_SOURCES.map((f) => join(tempDir, f.replace(/\.c$/, ".o")));
    const library = join(tempDir, "libvere-ur.so");
    run(cc, ["-shared", "-o", library, ...objects], "vere's ur library");
    const exe = join(tempDir, "vere-ur-driver");
    run(cc, ["-O2", "-I", dir, "-o", exe, DRIVER_SOURCE, ...objects], "the vere ur fuzz driver");
    const ur = dlopen(library, symbols).symbols;
    return (build = { ok: true, value: { dir, compiler, ur, driver: readFileSync(exe) } });
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Runs the compiler; a failure with compiler and sources present is an error, not a skip. */
function run(cc: string, args: string[], what: string, cwd?: string): void {
  const r = Bun.spawnSync([cc, ...args], { stdout: "pipe", stderr: "pipe", cwd });
  if (r.exitCode !== 0) {
    throw new Error(`Building ${what} failed (${cc} exited ${r.exitCode}): ${r.stderr.toString().trim().slice(0, 2000)}`);
  }
}

/** vere's codec, built and bound once per process, or the reason it cannot be here. */
export function vereUr(): Built<VereUr> {
  if (bound !== undefined) return bound;
  const b = buildOnce();
  if (!b.ok) return (bound = b);
  const libc = dlopen("libc.so.6", libcSymbols).symbols;
  return (bound = { ok: true, value: bind(b.value.ur, libc, b.value) });
}

/**
 * The fuzz driver (vere-ur-driver.c, linked with the peer's objects) as the bytes of an
 * executable, built once per process, or the reason it cannot be built here.
 */
export function vereUrDriver(): Built<Uint8Array> {
  const b = buildOnce();
  return b.ok ? { ok: true, value: b.value.driver } : b;
}

type UrSymbols = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
type LibcSymbols = ReturnType<typeof dlopen<typeof libcSymbols>>["symbols"];

const EMPTY = new Uint8Array(8);

/** A pointer to `bytes` (a null pointer for none: vere reads nothing of an empty input). */
function bytesPointer(bytes: Uint8Array): Pointer | null {
  return bytes.length === 0 ? null : ptr(bytes);
}

function bind(ur: UrSymbols, libc: LibcSymbols, b: Build): VereUr {
  // Out-parameters: a length and a pointer (ur_jam), or a reference (ur_cue).
  const out = new BigUint64Array(2);
  const outLen = ptr(out, 0);
  const outSecond = ptr(out, 8);

  function rootInit(): Root {
    const root = ur.ur_root_init();
    // vere aborts on out-of-memory rather than return NULL; check anyway.
    if (root === null || typeof root !== "number" || root === 0) throw new Error("ur_root_init returned NULL");
    return root;
  }

  function atomRef(root: Root, a: number | BigAtom): Nref {
    if (typeof a === "number") return ur.ur_coin64(root, a) as bigint;
    const bytes = a.bytes;
    // ur_coin_bytes builds atoms of up to 62 bits with an int shift that is undefined past 32
    // bits; ur_coin64 is exact for everything that fits in 8 bytes.
    if (bytes.length <= 8) {
      let v = 0n;
      for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
      return ur.ur_coin64(root, v) as bigint;
    }
    return ur.ur_coin_bytes(root, bytes.length, ptr(bytes)) as bigint;
  }

  function build(root: Root, noun: Noun): Nref {
    const done = new Map<Cell, Nref>();
    const refOf = (n: Noun): Nref | undefined => {
      if (n instanceof Cell) return done.get(n);
      if (typeof n === "number" || n instanceof BigAtom) return atomRef(root, n);
      throw new Error("vere's ur library is given in-memory nouns only (materialize file-backed atoms first)");
    };
    if (!(noun instanceof Cell)) return refOf(noun)!;
    const stack: Cell[] = [noun];
    while (stack.length > 0) {
      const c = stack[stack.length - 1];
      if (done.has(c)) {
        stack.pop();
        continue;
      }
      const h = refOf(c.head);
      const t = refOf(c.tail);
      if (h !== undefined && t !== undefined) {
        done.set(c, ur.ur_cons(root, h, t) as bigint);
        stack.pop();
        continue;
      }
      if (t === undefined) stack.push(c.tail as Cell);
      if (h === undefined) stack.push(c.head as Cell);
    }
    return done.get(noun)!;
  }

  /** Runs ur_jam; returns the buffer's address and length (the caller frees it). */
  function jamRaw(root: Root, ref: Nref): { address: Pointer; length: number } {
    out.fill(0n);
    const bits = ur.ur_jam(root, ref, outLen, outSecond) as bigint;
    const length = Number(out[0]);
    const address = Number(out[1]) as Pointer;
    if (bits === 0n || length === 0 || address === 0 || length !== Math.ceil(Number(bits) / 8)) {
      throw new Error(`ur_jam returned ${bits} bits in ${length} bytes at ${address}`);
    }
    return { address, length };
  }

  return {
    dir: b.dir,
    compiler: b.compiler,
    rootInit,
    rootFree: (root) => ur.ur_root_free(root),
    build,
    cons: (root, head, tail) => ur.ur_cons(root, head, tail) as bigint,
    jam(root, ref) {
      const { address, length } = jamRaw(root, ref);
      const bytes = new Uint8Array(toArrayBuffer(address, 0, length)).slice();
      libc.free(address);
      return bytes;
    },
    jamDiscard(root, ref) {
      const { address, length } = jamRaw(root, ref);
      libc.free(address);
      return length;
    },
    cue(root, bytes) {
      out.fill(0n);
      const code = ur.ur_cue(root, bytes.length, bytesPointer(bytes), outSecond);
      return { code, ref: out[1] };
    },
    cueTest: (bytes) => ur.ur_cue_test(bytes.length, bytesPointer(bytes)) !== 0,
    mug: (root, ref) => ur.ur_nref_mug(root, ref),
    mugBytes: (bytes) => ur.ur_mug_bytes(bytes.length === 0 ? ptr(EMPTY) : ptr(bytes), bytes.length),
  };
}
