/**
 * How urth chooses the kind of segment (src/urth/shm-kind.ts): `--shm-kind` or PLEA_SHM_KIND
 * force one; `auto` probes at spawn whether urth can open a sealed memfd its child holds as
 * descriptor 3, and falls back to named segments, saying why, when it cannot.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd } from "../../src/ffi/libc.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { FfiErrorCode } from "../../src/ffi/errors.ts";
import { processStartTime, probePeerMemfd, SysError } from "../../src/ffi/index.ts";
import { forcedShmKind, parseShmKindChoice, SHM_KIND_ENV, SHM_PROBE_FD, ShmProbe, shmKindChoiceFromEnv } from "../../src/urth/shm-kind.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const children: Bun.Subprocess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGKILL");
    await c.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A child that holds `fd` as its descriptor 3 and waits on its stdin (a stand-in for mars). */
function holder(fd: number | "none"): Bun.Subprocess<"pipe", "ignore", "ignore"> {
  const child = Bun.spawn(["cat"], { stdio: ["pipe", "ignore", "ignore", ...(fd === "none" ? [] : [fd])] }) as Bun.Subprocess<"pipe", "ignore", "ignore">;
  children.push(child);
  return child;
}

describe("choosing the kind", () => {
  test("--shm-kind and PLEA_SHM_KIND take auto, memfd or named; anything else is refused with the choices", () => {
    expect(parseShmKindChoice("memfd", "--shm-kind")).toBe("memfd");
    expect(parseShmKindChoice(" Named ", "--shm-kind")).toBe("named");
    expect(() => parseShmKindChoice("posix", "--shm-kind")).toThrow(PleaError);
    expect(isPleaError((() => { try { parseShmKindChoice("posix", "--shm-kind"); } catch (e) { return e; } })(), UrthErrorCode.shmKind.invalid)).toBe(true);
    expect(() => parseShmKindChoice("posix", "--shm-kind")).toThrow('--shm-kind takes auto, memfd, named; got "posix"');
    expect(shmKindChoiceFromEnv({})).toBe("auto");
    expect(shmKindChoiceFromEnv({ [SHM_KIND_ENV]: "" })).toBe("auto");
    expect(shmKindChoiceFromEnv({ [SHM_KIND_ENV]: "named" })).toBe("named");
    expect(() => shmKindChoiceFromEnv({ [SHM_KIND_ENV]: "yes" })).toThrow(SHM_KIND_ENV);
    expect(forcedShmKind("named", "--shm-kind")).toEqual({ kind: "named", choice: "named", reason: "forced by --shm-kind" });
  });
});

describe("the probe", () => {
  test("urth can open the empty sealed memfd it handed a child as descriptor 3: memfd, and urth's own copy is closed", async () => {
    const probe = ShmProbe.prepare();
    expect(probe.fd).toBeNumber();
    const child = holder(probe.fd!);
    const decision = probe.decide(child.pid, processStartTime(child.pid) as number);
    expect(decision).toEqual({ kind: "memfd", choice: "auto", reason: `urth opened a sealed memfd of mars's through /proc/${child.pid}/fd/${SHM_PROBE_FD}` });
    expect(probe.fd).toBeUndefined();
    // The child still holds it, exactly as mars does: open, empty, sealed.
    expect(() => probePeerMemfd(child.pid, SHM_PROBE_FD)).not.toThrow();
  });

  test("a child that is gone, or whose start time is not the one recorded, makes the probe choose named segments and say why", async () => {
    const gone = ShmProbe.prepare();
    const child = holder(gone.fd!);
    const startTime = processStartTime(child.pid) as number;
    child.stdin.end();
    await child.exited;
    const d = gone.decide(child.pid, startTime);
    expect(d.kind).toBe("named");
    expect(d.reason).toMatch(/^urth cannot open a memfd of mars's: .*; named segments in \/dev\/shm instead$/);

    const reused = ShmProbe.prepare();
    const other = holder(reused.fd!);
    const r = reused.decide(other.pid, (processStartTime(other.pid) as number) + 1);
    expect(r.kind).toBe("named");
    expect(r.reason).toContain("is no longer the one that created the memfd");
  });

  test("a descriptor that is no sealed memfd (a file) or is not there at all is refused by the probe's check", () => {
    const dir = mkdtempSync(join(tmpdir(), "plea-probe-"));
    dirs.push(dir);
    writeFileSync(join(dir, "f"), "x");
    const file = openSync(join(dir, "f"), "r+");
    const withFile = holder(file);
    closeFd(file, "test");
    const e = (() => {
      try {
        probePeerMemfd(withFile.pid, SHM_PROBE_FD);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(PleaError);
    expect((e as PleaError).code).toBe(FfiErrorCode.segment.unsealed);

    // A descriptor number nothing holds (a child may have something at 3 of its own).
    const without = holder("none");
    const missing = (() => {
      try {
        probePeerMemfd(without.pid, 999_999);
      } catch (err) {
        return err;
      }
    })();
    expect(missing).toBeInstanceOf(SysError);
    expect((missing as SysError).code).toBe("ENOENT");
  });
});
