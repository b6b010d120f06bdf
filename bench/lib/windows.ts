/**
 * The arithmetic of alternating load windows (runInterleavedRound, the JSONata-flow suite): who goes
 * when, and how a contender's windows add up to one round's figures.
 */
import type { CpuWindow } from "./cpu.js";
import type { LoadResult } from "./load.js";

/** Seconds of each of `slices` windows sharing a round's `seconds` (at least 1; all of it for 1 slice). */
export function windowSeconds(seconds: number, slices: number): number {
  return Math.max(1, Math.round(seconds / slices));
}

/**
 * The order in which `contenders` (indexes) get their window in slice number `slice`: each once, the
 * first turning every slice, so over `contenders` slices each goes first, second, … once.
 */
export function windowOrder(slice: number, contenders: number): number[] {
  return Array.from({ length: contenders }, (_, turn) => (slice + turn) % contenders);
}

/** Load windows as one: counts summed, latency percentiles the median of the windows' (max the max). */
export function combineLoads(loads: LoadResult[]): LoadResult {
  if (loads.length === 1) return loads[0];
  const sum = (pick: (load: LoadResult) => number) => loads.reduce((total, load) => total + pick(load), 0);
  const mid = (pick: (load: LoadResult) => number) => {
    const sorted = loads.map(pick).sort((a, b) => a - b);
    const half = sorted.length >> 1;
    return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
  };
  const statusCodes: Record<string, number> = {};
  for (const load of loads)
    for (const [code, count] of Object.entries(load.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const seconds = sum((load) => load.seconds);
  const ok = sum((load) => load.ok);
  return {
    seconds,
    ok,
    okPerSecond: seconds > 0 ? ok / seconds : 0,
    non2xx: sum((load) => load.non2xx),
    errors: sum((load) => load.errors),
    timeouts: sum((load) => load.timeouts),
    statusCodes,
    latencyMs: {
      p50: mid((load) => load.latencyMs.p50),
      p90: mid((load) => load.latencyMs.p90),
      p99: mid((load) => load.latencyMs.p99),
      max: Math.max(...loads.map((load) => load.latencyMs.max)),
      mean: sum((load) => load.latencyMs.mean * load.seconds) / seconds,
    },
  };
}

/** CPU windows as one: cores weighted by each window's length. */
export function combineCpu(windows: CpuWindow[]): CpuWindow {
  if (windows.length === 1) return windows[0];
  const seconds = windows.reduce((total, window) => total + window.seconds, 0);
  const weighted = (pick: (window: CpuWindow) => number | null | undefined) =>
    windows.some((window) => pick(window) === null || pick(window) === undefined)
      ? null
      : windows.reduce((total, window) => total + (pick(window) as number) * window.seconds, 0) / seconds;
  const cores: Record<string, number | null> = {};
  for (const label of Object.keys(windows[0].cores)) cores[label] = weighted((window) => window.cores[label]);
  return {
    seconds,
    cores,
    loadGeneratorCores: weighted((window) => window.loadGeneratorCores) ?? 0,
    otherCores: weighted((window) => window.otherCores),
    machineCores: weighted((window) => window.machineCores),
  };
}
