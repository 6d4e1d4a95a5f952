/**
 * How urth gets at a segment mars made, by each way considered (docs/shm-segments.md, "How urth
 * opens mars's memfd"): the cost of one open with the checks urth makes before mapping, measured
 * against a child process that holds the segment, as mars does.
 *
 *   npx bun bench/segment-open.ts [--iterations 2000] [--size 1m]
 *
 * - named: shm_open(O_RDWR) of a named segment + fstat + close (what urth did for every plea);
 * - memfd via /proc: open("/proc/<pid>/fd/<n>", O_RDWR) + F_GET_SEALS + fstat + close, and the
 *   creator's start time read from /proc/<pid>/stat (what urth does now);
 * - memfd via pidfd: pidfd_open + pidfd_getfd (through libc's syscall) + F_GET_SEALS + fstat +
 *   close both (needs PTRACE_MODE_ATTACH: Yama and Docker's seccomp profile refuse it, see the doc);
 * - and, for scale, the whole open + map + first write of `--size` + unmap by /proc and by name,
 *   and mars's side: creating the segment (named: shm_open + ftruncate + fallocate; memfd:
 *   memfd_create + ftruncate + fallocate + F_ADD_SEALS).
 *
 * SCM_RIGHTS over a Unix socket is not measured: Bun has no API for it, so it would take a socket
 * pair handed to mars, sendmsg/recvmsg and their control-message layouts through bun:ffi, for a
 * cost of the same order (a few system calls) as the two measured here.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, fstatSync, openSync } from "node:fs";
import { parseArgs } from "node:util";
import { createMemfd, createSegment, namespaceForPier, nextSegmentName, openPeerMemfd, openSegment, processStartTime } from "../src/ffi/index.ts";
import { closeFd, getSeals, O_RDWR, shmOpen } from "../src/ffi/libc.ts";
import { parseSize } from "./lib/format.ts";

const { i64 } = FFIType;
/** pidfd_open and pidfd_getfd: the same numbers on x86-64 and arm64 (the unified syscall table). */
const SYS_PIDFD_OPEN = 434;
const SYS_PIDFD_GETFD = 438;
const sys = dlopen("libc.so.6", { syscall: { args: [i64, i64, i64, i64], returns: i64 } }).symbols;

const { values } = parseArgs({ options: { iterations: { type: "string" }, size: { type: "string" }, help: { type: "boolean" } }, strict: true });
if (values.help) {
  console.log("usage: npx bun bench/segment-open.ts [--iterations 2000] [--size 1m]");
  process.exit(0);
}
const iterations = Number(values.iterations ?? 2000);
const size = parseSize(values.size ?? "1m");
const namespace = namespaceForPier(`/plea-bench-open/${process.pid}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median microseconds of `f` over `n` runs, after n/10 unmeasured ones. */
function time(n: number, f: () => void): number {
  for (let i = 0; i < Math.ceil(n / 10); i++) f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    t.push((performance.now() - t0) * 1000);
  }
  return median(t);
}

const rows: Array<[string, number]> = [];
const memfd = createMemfd(`plea-${namespace}-bench`, size);
const name = nextSegmentName(namespace);
const named = createSegment(name, size);
// The holder plays mars: it has the memfd as descriptor 3 and waits on its stdin.
const holder = Bun.spawn(["cat"], { stdio: ["pipe", "ignore", "ignore", memfd.fd] });
try {
  const pid = holder.pid;
  const startTime = processStartTime(pid) as number;
  rows.push([
    "named: shm_open + fstat + close",
    time(iterations, () => {
      const fd = shmOpen(name, O_RDWR, 0, "bench");
      fstatSync(fd);
      closeFd(fd, "bench");
    }),
  ]);
  rows.push([
    "memfd via /proc/<pid>/fd: open + F_GET_SEALS + fstat + close + start time",
    time(iterations, () => {
      const fd = openSync(`/proc/${pid}/fd/3`, "r+");
      getSeals(fd, "bench");
      fstatSync(fd);
      closeSync(fd);
      if (processStartTime(pid) !== startTime) throw new Error("the holder is gone");
    }),
  ]);
  rows.push([
    "memfd via pidfd_open + pidfd_getfd + F_GET_SEALS + fstat + close",
    time(iterations, () => {
      const pidfd = Number(sys.syscall(SYS_PIDFD_OPEN, pid, 0, 0));
      if (pidfd < 0) throw new Error("pidfd_open failed");
      const fd = Number(sys.syscall(SYS_PIDFD_GETFD, pidfd, 3, 0));
      if (fd < 0) throw new Error("pidfd_getfd failed (ptrace attach refused?)");
      getSeals(fd, "bench");
      fstatSync(fd);
      closeFd(fd, "bench");
      closeFd(pidfd, "bench");
    }),
  ]);
  const fill = new Uint8Array(size).fill(7);
  const few = Math.max(5, Math.ceil(iterations / 100));
  rows.push([
    `named: openSegment + first write of ${values.size ?? "1m"} + close`,
    time(few, () => {
      const s = openSegment(name, { mode: "write", length: size });
      s.write(0, fill);
      s.close();
    }),
  ]);
  rows.push([
    `memfd: openPeerMemfd + first write of ${values.size ?? "1m"} + close`,
    time(few, () => {
      const s = openPeerMemfd(pid, 3, { mode: "write", length: size, startTime });
      s.write(0, fill);
      s.close();
    }),
  ]);
  rows.push([
    `named: createSegment of ${values.size ?? "1m"} (shm_open, ftruncate, fallocate, mmap) + unlink`,
    time(few, () => {
      const s = createSegment(nextSegmentName(namespace), size);
      s.unlink();
      s.close();
    }),
  ]);
  rows.push([
    `memfd: createMemfd of ${values.size ?? "1m"} (memfd_create, ftruncate, fallocate, seals) + close`,
    time(few, () => createMemfd(`plea-${namespace}-bench`, size).close()),
  ]);
} finally {
  holder.kill("SIGKILL");
  await holder.exited;
  memfd.close();
  named.unlink();
  named.close();
}

console.log(`| what (median of ${iterations} opens; ${Math.max(5, Math.ceil(iterations / 100))} of the rest) | microseconds |\n|---|---:|`);
for (const [what, us] of rows) console.log(`| ${what} | ${us.toFixed(1)} |`);
