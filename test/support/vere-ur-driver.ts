/**
 * vere's side of the differential cue fuzz, in child processes (vere-ur-driver.c): vere's C reads
 * past the end of hostile input and aborts when an allocation fails, so a crash must end a child,
 * not the test. A crash is recorded against the input that caused it and a new driver carries on
 * from the next one.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atom, atomFromBytes, Cell, type Noun } from "../../src/noun/index.ts";
import { NREF_INDEX_MASK, NREF_TAG_SHIFT, UR_CUE_NAMES, UrCue, vereUrDriver } from "./vere-ur.ts";

/**
 * Address space a driver may use (RLIMIT_AS). A claimed length read as zeros past the end of the
 * input makes vere allocate that much; beyond this cap the allocation fails and vere aborts, which
 * is recorded as a crash instead of taking the machine's memory.
 */
export const DRIVER_ADDRESS_SPACE_MIB = 64;
/** A driver that has not finished by then is killed (a hang would be a finding, not a wait). */
const DRIVER_TIMEOUT_MS = 60_000;

/** What vere did with one input. */
export type VereCue =
  | { kind: "accepted"; cueTest: boolean; noun: Noun; mug: number; nonCanonicalAtoms: number; emptyAtoms: number }
  | { kind: "refused"; cueTest: boolean; code: string }
  | { kind: "crashed"; cueTest: boolean | undefined; during: "ur_cue_test" | "ur_cue"; how: string };

/** Runs vere's `ur_cue_test` and `ur_cue` over every input, one driver process per crash. */
export function vereCueAll(inputs: readonly Uint8Array[], addressSpaceMib = DRIVER_ADDRESS_SPACE_MIB): VereCue[] {
  const image = vereUrDriver();
  if (!image.ok) throw new Error(image.reason);
  const dir = mkdtempSync(join(tmpdir(), "plea-vere-fuzz-"));
  try {
    const exe = join(dir, "vere-ur-driver");
    writeFileSync(exe, image.value);
    chmodSync(exe, 0o700);
    const file = join(dir, "inputs");
    writeFileSync(file, frame(inputs));
    const results: VereCue[] = [];
    while (results.length < inputs.length) {
      const first = results.length;
      const r = Bun.spawnSync([exe, file, String(first), String(addressSpaceMib)], {
        stdout: "pipe",
        stderr: "pipe",
        timeout: DRIVER_TIMEOUT_MS,
      });
      const partial = parse(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length), results);
      // Bun leaves signalCode undefined (not null) when the child exited normally.
      const signal = r.signalCode ?? null;
      if (signal === null && r.exitCode === 0) {
        if (results.length !== inputs.length) throw new Error(`vere-ur-driver stopped after ${results.length} of ${inputs.length} inputs`);
        break;
      }
      if (signal === null && r.exitCode === 2) {
        throw new Error(`vere-ur-driver failed: ${r.stderr.toString().trim()}`);
      }
      const stderr = r.stderr.toString().trim().split("\n")[0] ?? "";
      const how = `${signal ?? `exit ${r.exitCode}`}${stderr !== "" ? `: ${stderr}` : ""}`;
      results.push({ kind: "crashed", cueTest: partial, during: partial === undefined ? "ur_cue_test" : "ur_cue", how });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function frame(inputs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(inputs.reduce((n, x) => n + 4 + x.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const x of inputs) {
    view.setUint32(at, x.length, true);
    out.set(x, at + 4);
    at += 4 + x.length;
  }
  return out;
}

/**
 * Appends the complete records in `out` to `results`. Returns ur_cue_test's answer for an input
 * whose record stops after it (ur_cue crashed on it), else undefined.
 */
function parse(out: Uint8Array, results: VereCue[]): boolean | undefined {
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  let at = 0;
  const need = (n: number) => at + n <= out.length;
  for (;;) {
    if (!need(5)) return undefined;
    const index = view.getUint32(at, true);
    if (index !== results.length) throw new Error(`vere-ur-driver answered input ${index}, expected ${results.length}`);
    const cueTest = out[at + 4] !== 0;
    at += 5;
    if (!need(1)) return cueTest;
    const code = out[at++];
    if (code !== UrCue.good) {
      results.push({ kind: "refused", cueTest, code: UR_CUE_NAMES[code] ?? `ur_cue result ${code}` });
      continue;
    }
    const mug = view.getUint32(at, true);
    const root = view.getBigUint64(at + 4, true);
    const atomCount = Number(view.getBigUint64(at + 12, true));
    const cellCount = Number(view.getBigUint64(at + 20, true));
    at += 28;
    const atoms: Noun[] = [];
    let nonCanonicalAtoms = 0;
    let emptyAtoms = 0;
    for (let i = 0; i < atomCount; i++) {
      const length = Number(view.getBigUint64(at, true));
      const bytes = out.slice(at + 8, at + 8 + length);
      at += 8 + length;
      // vere keeps an atom it cued from a length over 62 bits as an indirect atom even when its
      // value fits in 62 bits (a non-minimal length), and 0 so written as one with no bytes.
      const a = atomFromBytes(bytes);
      if (length === 0) emptyAtoms++;
      else if (length < 8 || (length === 8 && bytes[7] < 0x40)) nonCanonicalAtoms++;
      atoms.push(a);
    }
    const cells: Cell[] = [];
    const refToNoun = (ref: bigint): Noun => {
      const tag = ref >> NREF_TAG_SHIFT;
      const index = Number(ref & NREF_INDEX_MASK);
      if (tag === 0n) return ref <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ref) : atom(ref);
      const table: Noun[] = tag === 1n ? atoms : cells;
      if (index >= table.length) throw new Error(`vere-ur-driver sent reference ${ref} to an entry it did not send`);
      return table[index];
    };
    for (let i = 0; i < cellCount; i++) {
      const head = view.getBigUint64(at, true);
      const tail = view.getBigUint64(at + 8, true);
      at += 16;
      cells.push(new Cell(refToNoun(head), refToNoun(tail)));
    }
    results.push({ kind: "accepted", cueTest, noun: refToNoun(root), mug, nonCanonicalAtoms, emptyAtoms });
  }
}
