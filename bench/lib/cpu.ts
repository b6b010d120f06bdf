import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * CPU accounting for one measured window, from /proc: how many cores each of our processes used,
 * how many the load generator (this process) used, and how many went to everything else on the
 * machine (other work competing with the bench: a high value marks a noisy round).
 */
export interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number } | null;
  processes: Record<string, number | null>;
  self: NodeJS.CpuUsage;
}

export interface CpuWindow {
  seconds: number;
  /** Cores used, per process label (1.0 = one core busy for the whole window). */
  cores: Record<string, number | null>;
  loadGeneratorCores: number;
  /** Busy cores on the machine not used by the bench's processes; null without /proc. */
  otherCores: number | null;
  machineCores: number | null;
}

let ticksPerSecond: number | undefined;
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - fields[3] - fields[4], total };
  } catch {
    return null;
  }
}

/** utime + stime of a process (all its threads), in clock ticks. */
function processTicks(pid: number): number | null {
  return statTicks(`/proc/${pid}/stat`);
}

/** utime + stime from a `/proc/.../stat` file (a process's, or one thread's under `task/`), in clock ticks. */
export function statTicks(file: string): number | null {
  try {
    const stat = readFileSync(file, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the whole line
  } catch {
    return null;
  }
}

export function cpuSnapshot(processes: Record<string, number>): CpuSnapshot {
  return {
    at: performance.now(),
    machine: machineTicks(),
    processes: Object.fromEntries(
      Object.entries(processes).map(([label, pid]) => [label, processTicks(pid)]),
    ),
    self: process.cpuUsage(),
  };
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuWindow {
  const seconds = (after.at - before.at) / 1000;
  const hz = clockTicks();
  const cores: Record<string, number | null> = {};
  let ours = 0;
  for (const [label, start] of Object.entries(before.processes)) {
    const end = after.processes[label];
    cores[label] = start === null || end === null || end === undefined ? null : (end - start) / hz / seconds;
    ours += cores[label] ?? 0;
  }
  const selfMicros = after.self.user + after.self.system - (before.self.user + before.self.system);
  const loadGeneratorCores = selfMicros / 1e6 / seconds;
  ours += loadGeneratorCores;
  let otherCores: number | null = null;
  let machineCores: number | null = null;
  if (before.machine && after.machine) {
    const total = after.machine.total - before.machine.total;
    const busy = after.machine.busy - before.machine.busy;
    // /proc/stat counts ticks summed over all cores: total ticks / window = number of cores.
    machineCores = total / hz / seconds;
    otherCores = Math.max(0, busy / hz / seconds - ours);
  }
  return { seconds, cores, loadGeneratorCores, otherCores, machineCores };
}
