/** What the numbers were measured on, recorded beside them. */
import { readFileSync, statfsSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { parseKbField } from "./memory-sampler.ts";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memTotalBytes: number;
  kernel: string;
  bun: string;
  shmTotalBytes: number;
  /** 1, 5 and 15 minute load averages when the benchmark started. */
  loadAtStart: number[];
}

export function machineInfo(shmDir: string): MachineInfo {
  const list = cpus();
  const shm = statfsSync(shmDir);
  return {
    cpu: list[0]?.model ?? "unknown",
    cores: list.length,
    memTotalBytes: totalmem(),
    kernel: release(),
    bun: Bun.version,
    shmTotalBytes: shm.blocks * shm.bsize,
    loadAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export interface Room {
  memAvailableBytes: number;
  shmFreeBytes: number;
  diskFreeBytes: number;
}

/** Free memory (MemAvailable), free space in the shm directory and on the disk under `dir`. */
export function room(shmDir: string, dir: string): Room {
  const meminfo = readFileSync("/proc/meminfo", "latin1");
  const shm = statfsSync(shmDir);
  const disk = statfsSync(dir);
  return {
    memAvailableBytes: parseKbField(meminfo, "MemAvailable") ?? 0,
    shmFreeBytes: shm.bavail * shm.bsize,
    diskFreeBytes: disk.bavail * disk.bsize,
  };
}

export function currentLoad(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}
