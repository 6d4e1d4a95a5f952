import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { combinedFigures, descendantsOf, parseKbField, parseShmMappings, parseSmapsRollup, parseStat } from "../../bench/lib/memory-sampler.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

// Captured from this machine (Linux 6.x), trimmed to the lines that matter plus neighbours.
const ROLLUP = `00200000-7ffc9dbc0000 ---p 00000000 00:00 0                              [rollup]
Rss:               27672 kB
Pss:               26080 kB
Pss_Dirty:          2420 kB
Pss_Anon:           2420 kB
Pss_File:          23660 kB
Pss_Shmem:           512 kB
Shared_Clean:       1944 kB
Private_Dirty:      2420 kB
Swap:                  0 kB
SwapPss:               0 kB
`;

const MAPS = `00200000-00201000 r--p 00000000 fe:00 1234   /work/main/node_modules/bun/bin/bun.exe
7f0000000000-7f0040000000 rw-s 00000000 00:1a 77   /dev/shm/plea-ab12cd34-4242-119560-0
7f0040000000-7f0080000000 rw-p 00000000 00:1a 78   /dev/shm/plea-ab12cd34-4243-119561-3 (deleted)
7f0080000000-7f0080001000 rw-s 00000000 00:1a 79   /dev/shm/other-segment
7f0090000000-7f0090001000 rw-p 00000000 00:00 0 
7ffc9db9f000-7ffc9dbc0000 rw-p 00000000 00:00 0                          [stack]
`;

describe("parseSmapsRollup", () => {
  test("reads Rss, Pss and its anonymous, file and shmem parts in bytes", () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({
      rss: 27672 * 1024,
      pss: 26080 * 1024,
      pssAnon: 2420 * 1024,
      pssFile: 23660 * 1024,
      pssShmem: 512 * 1024,
    });
  });

  test("does not mistake Pss_Dirty or SwapPss for Pss", () => {
    const text = "SwapPss: 9 kB\nPss_Dirty: 7 kB\nPss: 5 kB\n";
    expect(parseSmapsRollup(text)?.pss).toBe(5 * 1024);
  });

  test("returns undefined for the empty rollup of a zombie", () => {
    expect(parseSmapsRollup("")).toBeUndefined();
    expect(parseSmapsRollup("00200000-7ffc9dbc0000 ---p 00000000 00:00 0 [rollup]\n")).toBeUndefined();
  });

  test("reads fields missing on older kernels as zero", () => {
    expect(parseSmapsRollup("Rss: 10 kB\nPss: 8 kB\n")).toEqual({ rss: 10240, pss: 8192, pssAnon: 0, pssFile: 0, pssShmem: 0 });
  });
});

describe("parseKbField", () => {
  test("reads Shmem from /proc/meminfo without matching ShmemHugePages", () => {
    const meminfo = "MemTotal:       24576000 kB\nShmemHugePages:        0 kB\nShmem:              8896 kB\nShmemPmdMapped:        0 kB\n";
    expect(parseKbField(meminfo, "Shmem")).toBe(8896 * 1024);
  });

  test("reads VmHWM from /proc/PID/status and is undefined when absent", () => {
    expect(parseKbField("VmPeak:\t  100 kB\nVmHWM:\t    2048 kB\n", "VmHWM")).toBe(2048 * 1024);
    expect(parseKbField("Name:\tbun\n", "VmHWM")).toBeUndefined();
  });
});

describe("parseShmMappings", () => {
  test("finds the plea-* objects a process maps, including unlinked ones, and nothing else", () => {
    expect([...parseShmMappings(MAPS)].sort()).toEqual(["plea-ab12cd34-4242-119560-0", "plea-ab12cd34-4243-119561-3"]);
  });

  test("honours another shm directory", () => {
    const maps = "7f00-7f01 rw-s 00000000 00:1a 77   /tmp/shm-test/plea-x-1-2-3\n7f01-7f02 rw-s 0 00:1a 78 /dev/shm/plea-y-1-2-3\n";
    expect([...parseShmMappings(maps, "/tmp/shm-test/")]).toEqual(["plea-x-1-2-3"]);
  });

  test("returns an empty set for a process that maps no segment", () => {
    expect(parseShmMappings("").size).toBe(0);
  });
});

describe("parseStat", () => {
  test("reads pid, parent pid and state", () => {
    const stat = "18036 (cat) R 17985 17985 11242 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 119560 3133440 385";
    expect(parseStat(stat)).toEqual({ pid: 18036, ppid: 17985, state: "R" });
  });

  test("copes with a command name holding spaces and parentheses", () => {
    expect(parseStat("77 (a) b (c)) S 12 77 77 0")).toEqual({ pid: 77, ppid: 12, state: "S" });
  });

  test("returns undefined for a truncated line", () => {
    expect(parseStat("77 (bun")).toBeUndefined();
  });
});

describe("descendantsOf", () => {
  test("lists children before grandchildren and leaves other trees out", () => {
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 10],
      [13, 11],
      [20, 1],
      [21, 20],
    ]);
    expect(descendantsOf(10, parents)).toEqual([11, 12, 13]);
    expect(descendantsOf(13, parents)).toEqual([]);
  });
});

describe("combinedFigures", () => {
  const MiB = 1024 * 1024;
  const proc = (pss: number, anon: number, file: number, shmem: number) => ({ rss: pss, pss, pssAnon: anon, pssFile: file, pssShmem: shmem });

  test("(a) counts a segment both processes map once, through Pss, plus segments nobody maps", () => {
    // A 1 GiB segment mapped by both: each process's Pss holds half of it.
    const urth = proc(20 * MiB + 512 * MiB, 10 * MiB, 10 * MiB, 512 * MiB);
    const mars = proc(30 * MiB + 512 * MiB, 20 * MiB, 10 * MiB, 512 * MiB);
    expect(combinedFigures([urth, mars], 64 * MiB, 0).a).toBe(50 * MiB + 1024 * MiB + 64 * MiB);
  });

  test("(b) counts private Pss plus the growth of the machine's Shmem, never a fall", () => {
    const urth = proc(40 * MiB, 10 * MiB, 10 * MiB, 20 * MiB);
    const mars = proc(50 * MiB, 20 * MiB, 10 * MiB, 20 * MiB);
    expect(combinedFigures([urth, mars], 0, 1024 * MiB).b).toBe(50 * MiB + 1024 * MiB);
    expect(combinedFigures([urth, mars], 0, -5 * MiB).b).toBe(50 * MiB);
  });

  test("is zero for no processes and no segments", () => {
    expect(combinedFigures([], 0, 0)).toEqual({ a: 0, b: 0 });
  });
});
