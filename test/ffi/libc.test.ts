/**
 * The libc layer: errno through __errno_location, MAP_FAILED as a bigint, struct stat's layout,
 * and SysError's codes and messages. These pin facts of docs/platform.md that a Bun or glibc
 * upgrade could change.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, openSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closeFd,
  fstatSize,
  MAP_SHARED,
  mmap,
  MUNMAP_ADDRESS,
  O_RDONLY,
  PAGE_BYTES,
  PROT_READ,
  shmOpen,
  shmUnlink,
} from "../../src/ffi/libc.ts";
import { PleaError } from "../../src/error.ts";
import { Errno, errnoName, SysError } from "../../src/ffi/index.ts";
import { sysErrorFromNode } from "../../src/ffi/sys-error.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("libc", () => {
  test("a failing call throws a SysError with the errno read right after it", () => {
    let error: unknown;
    try {
      closeFd(-1, "Cannot close descriptor -1");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SysError);
    expect(error).toBeInstanceOf(PleaError);
    const sys = error as SysError;
    expect(sys.call).toBe("close");
    expect(sys.errno).toBe(Errno.EBADF);
    expect(sys.code).toBe("EBADF");
    expect(sys.message).toStartWith("Cannot close descriptor -1: close failed with EBADF (errno 9).");
  });

  test("mmap reports MAP_FAILED (a bigint from bun:ffi) as a SysError", () => {
    expect(() => mmap(PAGE_BYTES, PROT_READ, MAP_SHARED, -1, "Cannot map")).toThrow(
      expect.objectContaining({ call: "mmap", code: "EBADF" }),
    );
  });

  test("shm_open of a missing name is ENOENT and shm_unlink of one returns false", () => {
    const name = `/plea-missing-${process.pid}`;
    expect(() => shmOpen(name, O_RDONLY, 0, "Cannot open")).toThrow(expect.objectContaining({ code: "ENOENT", errno: 2 }));
    expect(shmUnlink(name, "Cannot remove")).toBe(false);
  });

  test("fstat reads st_size at the offset this architecture uses", () => {
    const path = join(tmpdir(), `plea-fstat-${process.pid}`);
    writeFileSync(path, new Uint8Array(12345));
    const fd = openSync(path, "r");
    try {
      expect(fstatSize(fd, "Cannot stat")).toBe(12345);
    } finally {
      closeSync(fd);
      unlinkSync(path);
    }
  });

  test("the page size and munmap's address are known", () => {
    expect(PAGE_BYTES % 4096).toBe(0);
    expect(typeof MUNMAP_ADDRESS).toBe("number");
    expect(MUNMAP_ADDRESS).toBeGreaterThan(0);
  });
});

describe("SysError", () => {
  test("names errnos from the table and the platform, and invents none", () => {
    expect(errnoName(28)).toBe("ENOSPC");
    expect(errnoName(17)).toBe("EEXIST");
    expect(errnoName(24)).toBe("EMFILE");
    expect(errnoName(32)).toBe("EPIPE"); // not in Plea's table: from node:os
    expect(errnoName(9999)).toBe("E9999");
  });

  test("every message tells the operator what to do, with no trailing period", () => {
    for (const [name, errno] of Object.entries(Errno)) {
      const error = new SysError("fallocate", errno, `Cannot create segment "/plea-x"`);
      expect(error.code).toBe(name);
      expect(error.message).toMatch(new RegExp(`^Cannot create segment "/plea-x": fallocate failed with ${name} \\(errno ${errno}\\)\\. [A-Z].+[^.]$`));
    }
    expect(new SysError("fallocate", Errno.ENOSPC, "x").message).toContain("--shm-size");
    expect(new SysError("shm_open", Errno.EMFILE, "x").message).toContain("ulimit -n");
    // An errno Plea has no advice for ends with the finding, not with a stray period.
    expect(new SysError("close", 9999, "Cannot close descriptor 3").message).toBe("Cannot close descriptor 3: close failed with E9999 (errno 9999)");
  });

  test("a node:fs error becomes a SysError with the errno number", () => {
    let cause: unknown;
    try {
      openSync("/nonexistent/plea", "r");
    } catch (e) {
      cause = e;
    }
    const error = sysErrorFromNode("open", "Cannot open", cause) as SysError;
    expect(error).toBeInstanceOf(SysError);
    expect(error.errno).toBe(Errno.ENOENT);
    expect(error.cause).toBe(cause);
    const plain = new Error("not a system error");
    expect(sysErrorFromNode("open", "x", plain)).toBe(plain);
  });
});
