/**
 * The pier's segment namespace (src/pier/segment-namespace.ts): random, made once with mode 0600
 * whatever the umask, the same for every process and every name of the pier, and refused when
 * damaged.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { legacyNamespaceForPier, parseSegmentName, segmentName } from "../../src/ffi/index.ts";
import {
  legacySegmentNamespaces,
  segmentNamespace,
  segmentNamespacePath,
} from "../../src/pier/segment-namespace.ts";
import { PierErrorCode } from "../../src/pier/errors.ts";
import { PleaError } from "../../src/error.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPier(): string {
  const dir = mkdtempSync(join(tmpdir(), "plea-namespace-test-"));
  dirs.push(dir);
  const pier = join(dir, "pier");
  mkdirSync(pier);
  return pier;
}

describe("segmentNamespace", () => {
  test("is made once, 32 random hex digits in a 0600 file (under umask 000), and read back after", () => {
    const pier = tempPier();
    expect(segmentNamespace(pier, { create: false })).toBeUndefined();
    const old = process.umask(0);
    let ns: string;
    try {
      ns = segmentNamespace(pier);
    } finally {
      process.umask(old);
    }
    expect(ns).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(segmentNamespacePath(pier)).mode & 0o777).toBe(0o600);
    expect(statSync(join(pier, ".urb")).mode & 0o777).toBe(0o700);
    expect(readFileSync(segmentNamespacePath(pier), "latin1")).toBe(`${ns}\n`);
    expect(segmentNamespace(pier)).toBe(ns);
    expect(segmentNamespace(pier, { create: false })).toBe(ns);
    // Not derived from the path: another pier, or the same path made again, gets another one.
    expect(ns).not.toContain(legacyNamespaceForPier(pier));
    expect(segmentNamespace(tempPier())).not.toBe(ns);
    rmSync(join(pier, ".urb"), { recursive: true });
    expect(segmentNamespace(pier)).not.toBe(ns);
    // A segment name in it is still a Plea segment name.
    expect(parseSegmentName(segmentName(ns, 7))).toMatchObject({ namespace: ns, pid: process.pid, seq: 7 });
  });

  test("is the same through a symlink to the pier", () => {
    const pier = tempPier();
    const link = join(pier, "..", "link");
    symlinkSync(pier, link);
    expect(segmentNamespace(link)).toBe(segmentNamespace(pier));
  });

  test("processes that make it at the same moment agree on one", async () => {
    const pier = tempPier();
    const module = join(import.meta.dir, "../../src/pier/segment-namespace.ts");
    const script = `const { segmentNamespace } = await import(${JSON.stringify(module)}); console.log(segmentNamespace(${JSON.stringify(pier)}));`;
    const children = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" }));
    const outputs = await Promise.all(children.map(async (c) => ({ code: await c.exited, out: (await new Response(c.stdout).text()).trim(), err: await new Response(c.stderr).text() })));
    for (const o of outputs) expect(o).toMatchObject({ code: 0, err: "" });
    expect(new Set(outputs.map((o) => o.out))).toEqual(new Set([segmentNamespace(pier)]));
    // No temporary file is left beside it.
    expect(readFileSync(segmentNamespacePath(pier), "latin1")).toMatch(/^[0-9a-f]{32}\n$/);
    expect(readdirSync(join(pier, ".urb")).filter((n) => n.startsWith("shm-namespace"))).toEqual(["shm-namespace"]);
  });

  test("a damaged file is refused with what to do, and left as it is", () => {
    const pier = tempPier();
    segmentNamespace(pier);
    writeFileSync(segmentNamespacePath(pier), "../../etc\n");
    let error: unknown;
    try {
      segmentNamespace(pier);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PleaError);
    expect(error).toMatchObject({ code: PierErrorCode.namespaceInvalid });
    expect((error as Error).message).toContain("remove the file, and start urth again");
    expect(readFileSync(segmentNamespacePath(pier), "latin1")).toBe("../../etc\n");
  });
});

describe("legacySegmentNamespaces", () => {
  test("hash the pier's path as given and its real path", () => {
    const pier = tempPier();
    const link = join(pier, "..", "link");
    symlinkSync(pier, link);
    expect(legacySegmentNamespaces(pier)).toEqual([legacyNamespaceForPier(pier)]);
    expect(legacySegmentNamespaces(link)).toEqual([legacyNamespaceForPier(link), legacyNamespaceForPier(pier)]);
  });
});
