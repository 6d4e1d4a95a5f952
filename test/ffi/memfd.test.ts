/**
 * memfd segments (src/ffi/memfd.ts): sealed against shrinking and growing at creation, opened by a
 * peer through /proc/<pid>/fd/<fd> only after its seals and size are checked, and never a SIGBUS
 * for either process when a peer tries to truncate one (the hole named segments leave open,
 * pinned by shm-lifetime.test.ts).
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PleaError } from "../../src/error.ts";
import { FfiErrorCode } from "../../src/ffi/errors.ts";
import {
  checkPeerMemfd,
  createMemfd,
  createSegment,
  listMemfdSegments,
  MEMFD_SEALS,
  type Memfd,
  memfdPath,
  nextSegmentName,
  openPeerMemfd,
  processStartTime,
  sealNames,
  segmentPath,
  SysError,
} from "../../src/ffi/index.ts";
import { addSeals, closeFd, fallocate, ftruncate, F_SEAL_EXEC, F_SEAL_SHRINK, F_SEAL_WRITE, getSeals, memfdCreate, MFD_ALLOW_SEALING, MFD_CLOEXEC } from "../../src/ffi/libc.ts";
import { FIXTURE, firstMismatch, pattern, TEST_NAMESPACE, trackSegments } from "./shm-test-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const MIB = 1024 * 1024;

const memfds: Memfd[] = [];
const rawFds: number[] = [];
const track = trackSegments();
afterEach(() => {
  for (const m of memfds.splice(0)) m.close();
  for (const fd of rawFds.splice(0)) closeFd(fd, "test cleanup");
});

function memfd(label: string, length: number): Memfd {
  const m = createMemfd(label, length);
  memfds.push(m);
  return m;
}

function raw(fd: number): number {
  rawFds.push(fd);
  return fd;
}

/** The error `f` throws. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

const self = { pid: process.pid, startTime: processStartTime(process.pid) as number };

describe("creating a memfd segment", () => {
  test("every page is reserved and it is sealed against shrinking, growing and further seals", () => {
    const m = memfd(`plea-${TEST_NAMESPACE}-seals`, 2 * MIB);
    // F_SEAL_EXEC too where the kernel has MFD_NOEXEC_SEAL (6.3 and later).
    expect(getSeals(m.fd, "test") & ~F_SEAL_EXEC).toBe(MEMFD_SEALS);
    expect(sealNames(MEMFD_SEALS)).toBe("seal, shrink, grow");
    // The kernel refuses each change the seals forbid, to this process as to any other.
    for (const size of [0, MIB, 4 * MIB]) {
      const e = thrown(() => ftruncate(m.fd, size, "test"));
      expect(e).toBeInstanceOf(SysError);
      expect((e as SysError).code).toBe("EPERM");
    }
    expect((thrown(() => fallocate(m.fd, 4 * MIB, "test")) as SysError).code).toBe("EPERM");
    expect((thrown(() => addSeals(m.fd, F_SEAL_WRITE, "test")) as SysError).code).toBe("EPERM");
    using s = m.map("write");
    expect(s.kind).toBe("memfd");
    expect(s.length).toBe(2 * MIB);
    expect(s.windows[0][2 * MIB - 1]).toBe(0);
  });

  test("more than the machine has available is ENOMEM before anything is made, and no descriptor leaks", () => {
    const before = openFds();
    const e = thrown(() => createMemfd(`plea-${TEST_NAMESPACE}-huge`, 2 ** 40));
    expect(e).toBeInstanceOf(SysError);
    expect((e as SysError).code).toBe("ENOMEM");
    expect((e as SysError).message).toContain("MemAvailable");
    expect(openFds()).toBe(before);
  });

  test("labels and lengths are checked before any call", () => {
    expect((thrown(() => createMemfd("a/b", 1)) as PleaError).code).toBe(FfiErrorCode.segment.nameInvalid);
    expect((thrown(() => createMemfd("x".repeat(250), 1)) as PleaError).code).toBe(FfiErrorCode.segment.nameInvalid);
    expect((thrown(() => createMemfd("ok", -1)) as PleaError).code).toBe(FfiErrorCode.segment.lengthInvalid);
    expect((thrown(() => createMemfd("ok", 2 ** 40 + 1)) as PleaError).code).toBe(FfiErrorCode.segment.lengthInvalid);
  });

  test("closing the descriptor keeps mappings valid, maps nothing more, and is idempotent; a memfd mapping has no name to unlink", () => {
    const m = memfd(`plea-${TEST_NAMESPACE}-close`, MIB);
    const w = track(m.map("write"));
    w.write(0, pattern(0, MIB, 3));
    const r = track(m.map("read"));
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(firstMismatch(r.windows[0], 0, 3)).toBe(-1);
    expect((thrown(() => m.map("read")) as PleaError).code).toBe(FfiErrorCode.segment.closed);
    expect(r.unlink()).toBe(false);
  });
});

describe("opening a peer's memfd through /proc", () => {
  test("a write mapping through /proc/<pid>/fd shares the bytes with the creator's own mappings", () => {
    const m = memfd(`plea-${TEST_NAMESPACE}-peer`, MIB);
    const peer = track(openPeerMemfd(self.pid, m.fd, { mode: "write", length: MIB, startTime: self.startTime }));
    peer.write(0, pattern(0, MIB, 9));
    const mine = track(m.map("read"));
    expect(firstMismatch(mine.windows[0], 0, 9)).toBe(-1);
  });

  test("a memfd without F_SEAL_SHRINK is refused before anything is mapped, whatever other seals it has", () => {
    const cases: Array<[string, number, number]> = [
      ["sealable, no seals", MFD_CLOEXEC | MFD_ALLOW_SEALING, 0],
      ["not sealable (F_SEAL_SEAL only)", MFD_CLOEXEC, 0],
      ["sealed against writing only", MFD_CLOEXEC | MFD_ALLOW_SEALING, F_SEAL_WRITE],
    ];
    for (const [what, flags, seals] of cases) {
      const fd = raw(memfdCreate(`plea-${TEST_NAMESPACE}-unsealed`, flags, "test"));
      ftruncate(fd, MIB, "test");
      if (seals) addSeals(fd, seals, "test");
      const e = thrown(() => openPeerMemfd(self.pid, fd, { mode: "write", length: MIB }));
      expect(e, what).toBeInstanceOf(PleaError);
      expect((e as PleaError).code, what).toBe(FfiErrorCode.segment.unsealed);
      expect((e as Error).message, what).toContain("not sealed against shrinking");
    }
  });

  test("a memfd sealed against shrinking but also against writing cannot be filled", () => {
    const fd = raw(memfdCreate(`plea-${TEST_NAMESPACE}-ro`, MFD_CLOEXEC | MFD_ALLOW_SEALING, "test"));
    ftruncate(fd, MIB, "test");
    addSeals(fd, F_SEAL_SHRINK | F_SEAL_WRITE, "test");
    const e = thrown(() => openPeerMemfd(self.pid, fd, { mode: "write", length: MIB }));
    expect((e as PleaError).code).toBe(FfiErrorCode.segment.unsealed);
    expect((e as Error).message).toContain("sealed against writing");
    // Reading it is fine: nothing can shrink it.
    track(openPeerMemfd(self.pid, fd, { mode: "read", length: MIB })).close();
  });

  test("a descriptor that is no memfd (a file on disk, a named segment in /dev/shm) is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "plea-memfd-"));
    try {
      writeFileSync(join(dir, "f"), new Uint8Array(MIB));
      const file = raw(openSync(join(dir, "f"), "r+"));
      const e = thrown(() => openPeerMemfd(self.pid, file, { mode: "write", length: MIB }));
      expect((e as PleaError).code).toBe(FfiErrorCode.segment.unsealed);
      expect((e as Error).message).toContain("not a memfd");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A tmpfs file carries F_SEAL_SEAL only: a named segment cannot pass for a sealed memfd.
    const name = nextSegmentName(TEST_NAMESPACE);
    const named = track(createSegment(name, MIB));
    const fd = raw(openSync(segmentPath(name), "r+"));
    const e = thrown(() => openPeerMemfd(self.pid, fd, { mode: "write", length: MIB }));
    expect((e as PleaError).code).toBe(FfiErrorCode.segment.unsealed);
    named.unlink();
  });

  test("a memfd shorter than announced, a descriptor that is not there, and a pid that is not the creator any more are refused", () => {
    const m = memfd(`plea-${TEST_NAMESPACE}-short`, MIB);
    expect((thrown(() => openPeerMemfd(self.pid, m.fd, { mode: "write", length: MIB + 1 })) as PleaError).code).toBe(FfiErrorCode.segment.tooSmall);
    const missing = thrown(() => openPeerMemfd(self.pid, 999_999, { mode: "write", length: MIB }));
    expect((missing as SysError).code).toBe("ENOENT");
    expect((missing as Error).message).toContain(memfdPath(self.pid, 999_999));
    const reused = thrown(() => openPeerMemfd(self.pid, m.fd, { mode: "write", length: MIB, startTime: self.startTime + 1 }));
    expect((reused as PleaError).code).toBe(FfiErrorCode.segment.peerGone);
    expect(() => checkPeerMemfd(m.fd, "the test's memfd", { mode: "write", length: MIB, pid: self.pid, startTime: self.startTime })).not.toThrow();
  });

  test("listMemfdSegments finds a process's memfds of one namespace only, with their sizes", () => {
    const a = memfd(`plea-${TEST_NAMESPACE}-1-2-3`, MIB);
    memfd(`plea-other${TEST_NAMESPACE.slice(5)}-1-2-4`, MIB);
    const found = listMemfdSegments(self.pid, TEST_NAMESPACE);
    expect(found.filter((f) => f.name.startsWith(`memfd:plea-${TEST_NAMESPACE}-1-`))).toEqual([{ name: `memfd:plea-${TEST_NAMESPACE}-1-2-3`, pid: self.pid, fd: a.fd, bytes: MIB }]);
    a.close();
    expect(listMemfdSegments(self.pid, TEST_NAMESPACE).some((f) => f.fd === a.fd && f.name.endsWith("-1-2-3"))).toBe(false);
    expect(listMemfdSegments(2 ** 22 + 1, TEST_NAMESPACE)).toEqual([]);
  });
});

describe("a peer that tries to shrink a sealed segment", () => {
  test("gets EPERM for every truncation, and neither the holder nor the peer takes SIGBUS: both read every byte afterwards", async () => {
    const length = 4 * MIB;
    const seed = 21;
    const holder = Bun.spawn([process.execPath, FIXTURE, "memfd-hold", String(length), String(seed)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    try {
      const lines = holder.stdout.getReader();
      let out = "";
      while (!/fd \d+\n/.test(out)) {
        const { value, done } = await lines.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const fd = Number(/fd (\d+)\n/.exec(out)?.[1]);
      expect(Number.isInteger(fd)).toBe(true);

      const peer = Bun.spawn([process.execPath, FIXTURE, "memfd-shrink", String(holder.pid), String(fd), String(length), String(seed)], { stdout: "pipe", stderr: "pipe" });
      const [peerOut, peerErr] = await Promise.all([new Response(peer.stdout).text(), new Response(peer.stderr).text()]);
      expect(await peer.exited).toBe(0);
      expect(peer.signalCode).toBeNull();
      expect(peerErr).toBe("");
      expect(peerOut).toBe(`shrink to 0: EPERM\nshrink to ${length / 2}: EPERM\ngrow to ${length * 2}: EPERM\nread ${length} bytes through a peer mapping\n`);

      holder.stdin.write("go\n");
      await holder.stdin.end();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(await holder.exited).toBe(0);
      expect(holder.signalCode).toBeNull();
      expect(await new Response(holder.stderr).text()).toBe("");
      expect(out).toBe(`fd ${fd}\nread ${length} bytes after the peer's attempts\n`);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });
});
