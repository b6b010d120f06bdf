import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scenario } from "../scenarios/scenario.js";
import { type CpuSnapshot, type CpuWindow, cpuBetween, cpuSnapshot } from "./cpu.js";
import { backlog, type ChannelStat, channelStats, startJunctionIn } from "./junction.js";
import { type LoadResult, runLoad } from "./load.js";
import { ORDER_BODY } from "./order.js";
import {
  type RunningPeer,
  startCeiling,
  startWarehouse,
  type WarehouseStats,
  warehouseStats,
} from "./peers.js";
import { type Child, sleep, terminate } from "./process.js";
import { peakRssMb } from "./rss.js";
import { combineCpu, combineLoads, windowOrder, windowSeconds } from "./windows.js";

export type Contender = "junction" | "ceiling";

export interface RoundOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  drainSeconds: number;
  keep: boolean;
  /** Extra node flags for Junction (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Where --cpu-prof should write, when profiling. */
  dir?: string;
}

export interface Delivery {
  /** 2xx answers given during warm-up and measurement. */
  accepted: number;
  /** Shipments the warehouse received (all, and distinct idempotency keys). */
  delivered: number;
  distinct: number;
  /** Shipments received during the measured window, per second. */
  deliveredPerSecond: number;
  /** Junction: messages waiting or in flight when the load stopped, and after the drain wait. */
  backlogAtEnd: number;
  backlogAfterDrain: number;
  drainMs: number;
  /** Every accepted request reached the warehouse. */
  complete: boolean;
}

export interface RoundResult {
  scenario: string;
  contender: Contender;
  round: number;
  readyMs: number;
  warmup: LoadResult | null;
  load: LoadResult;
  peakRssMb: number | null;
  /** Cores used during the measured window by each process, the load generator and the rest of the machine. */
  cpu: CpuWindow;
  /**
   * The contender's CPU time from the start of the warm-up to the end of the drain wait, per accepted
   * (2xx) message: the whole cost of a message, intake and delivery, whatever the contention.
   */
  cpuMsPerMessage: number | null;
  delivery: Delivery | null;
  channels: ChannelStat[] | null;
  /** Junction log lines at level error or above. */
  errorLogLines: number;
  exit: { code: number | null; signal: string | null; killed: boolean; ms: number };
  dir: string | null;
}

/** A contender started for a round: its processes, where load goes, what to ask about its backlog. */
interface Running {
  contender: Contender;
  child: Child;
  warehouse: RunningPeer | undefined;
  url: string;
  adminUrl: string | undefined;
  readyMs: number;
  dir: string;
  /** Process ids by label, for the CPU windows. */
  pids: Record<string, number>;
  /** CPU from the start of the warm-up, for the cost per message. */
  cpuAtStart: CpuSnapshot;
  warmup: LoadResult | null;
}

/** Start the warehouse (if the scenario has one) and the contender in `dir`; both join `children`. */
async function start(
  scenario: Scenario,
  contender: Contender,
  dir: string,
  options: RoundOptions,
  children: Child[],
): Promise<Omit<Running, "cpuAtStart" | "warmup">> {
  const warehouse = scenario.downstream ? await startWarehouse(join(dir, "warehouse.log")) : undefined;
  if (warehouse) children.push(warehouse.child);
  const started = Date.now();
  let child: Child;
  let target: string;
  let adminUrl: string | undefined;
  let readyMs: number;
  if (contender === "junction") {
    const junction = await startJunctionIn(
      dir,
      scenario.junction(warehouse ? { warehouseUrl: warehouse.url } : {}),
      options.nodeArgs,
    );
    children.push(junction.child);
    child = junction.child;
    target = junction.httpUrl;
    adminUrl = junction.adminUrl;
    readyMs = junction.readyMs;
  } else {
    const ceiling = await startCeiling(scenario.ceilingMode, join(dir, "ceiling.log"), warehouse?.url);
    children.push(ceiling.child);
    child = ceiling.child;
    target = ceiling.url;
    readyMs = Date.now() - started;
  }
  const pids: Record<string, number> = { [contender]: child.pid };
  if (warehouse) pids.warehouse = warehouse.child.pid;
  return {
    contender,
    child,
    warehouse,
    url: `${target}${scenario.path}`,
    adminUrl,
    readyMs,
    dir,
    pids,
  };
}

function load(running: { url: string }, seconds: number, connections: number) {
  return runLoad({ url: running.url, seconds, connections, body: ORDER_BODY });
}

/** Start, then warm up (its answers count as accepted). */
async function startAndWarm(
  scenario: Scenario,
  contender: Contender,
  dir: string,
  options: RoundOptions,
  children: Child[],
): Promise<Running> {
  const started = await start(scenario, contender, dir, options, children);
  const cpuAtStart = cpuSnapshot(started.pids);
  const warmup =
    options.warmupSeconds > 0 ? await load(started, options.warmupSeconds, options.connections) : null;
  return { ...started, cpuAtStart, warmup };
}

/** One measured window, then (with a warehouse) the wait until everything accepted so far arrived. */
interface Window {
  load: LoadResult;
  cpu: CpuWindow;
  /** Distinct shipments the warehouse received during the window. */
  deliveredInWindow: number;
  backlogAtEnd: number;
  backlogAfterDrain: number;
  drainMs: number;
  stats: WarehouseStats | null;
}

async function measure(
  running: Running,
  seconds: number,
  accepted: () => number,
  options: RoundOptions,
): Promise<Window> {
  const { warehouse, adminUrl } = running;
  const before = warehouse ? await warehouseStats(warehouse.url) : null;
  const cpuBefore = cpuSnapshot(running.pids);
  const measured = await load(running, seconds, options.connections);
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(running.pids));
  const after = warehouse ? await warehouseStats(warehouse.url) : null;
  if (!warehouse || !before || !after)
    return {
      load: measured,
      cpu,
      deliveredInWindow: 0,
      backlogAtEnd: 0,
      backlogAfterDrain: 0,
      drainMs: 0,
      stats: null,
    };
  const total = accepted() + measured.ok;
  const backlogAtEnd = adminUrl ? await backlog(adminUrl) : 0;
  const drainStarted = Date.now();
  let stats = after;
  let remaining = backlogAtEnd;
  let lastProgress = Date.now();
  while (Date.now() - drainStarted < options.drainSeconds * 1000) {
    if (stats.distinct >= total && remaining === 0) break;
    if (Date.now() - lastProgress > 10_000) break; // stuck: report what is left
    await sleep(200);
    const next = await warehouseStats(warehouse.url);
    if (next.total !== stats.total) lastProgress = Date.now();
    stats = next;
    remaining = adminUrl ? await backlog(adminUrl) : 0;
  }
  return {
    load: measured,
    cpu,
    deliveredInWindow: after.distinct - before.distinct,
    backlogAtEnd,
    backlogAfterDrain: remaining,
    drainMs: Date.now() - drainStarted,
    stats,
  };
}

/** Read the peak RSS, channel stats and CPU, stop the processes, and make the round's result. */
async function finish(
  scenario: Scenario,
  running: Running,
  round: number,
  windows: Window[],
  options: RoundOptions,
) {
  const measured = combineLoads(windows.map((window) => window.load));
  const accepted = (running.warmup?.ok ?? 0) + measured.ok;
  const last = windows[windows.length - 1];
  let delivery: Delivery | null = null;
  if (running.warehouse && last.stats) {
    delivery = {
      accepted,
      delivered: last.stats.total,
      distinct: last.stats.distinct,
      deliveredPerSecond:
        windows.reduce((sum, window) => sum + window.deliveredInWindow, 0) / measured.seconds,
      backlogAtEnd: Math.max(...windows.map((window) => window.backlogAtEnd)),
      backlogAfterDrain: last.backlogAfterDrain,
      drainMs: windows.reduce((sum, window) => sum + window.drainMs, 0),
      complete: last.stats.distinct >= accepted,
    };
  }
  const roundCpu = cpuBetween(running.cpuAtStart, cpuSnapshot(running.pids));
  const contenderCpuSeconds = (roundCpu.cores[running.contender] ?? Number.NaN) * roundCpu.seconds;
  const channels = running.adminUrl ? await channelStats(running.adminUrl) : null;
  const rss = peakRssMb(running.child.pid);
  const exit = await terminate(running.child, 30_000);
  if (running.warehouse) await terminate(running.warehouse.child, 10_000);
  const errorLogLines =
    running.contender === "junction" ? countErrorLines(join(running.dir, "junction.log")) : 0;
  const failed = running.contender === "junction" && (exit.code !== 0 || exit.killed);
  const result: RoundResult = {
    scenario: scenario.name,
    contender: running.contender,
    round,
    readyMs: running.readyMs,
    warmup: running.warmup,
    load: measured,
    peakRssMb: rss,
    cpu: combineCpu(windows.map((window) => window.cpu)),
    cpuMsPerMessage:
      Number.isFinite(contenderCpuSeconds) && accepted > 0 ? (contenderCpuSeconds * 1000) / accepted : null,
    delivery,
    channels,
    errorLogLines,
    exit: { ...exit, signal: exit.signal ?? null },
    dir: failed || options.keep || options.dir ? running.dir : null,
  };
  return { result, failed };
}

/**
 * One round: fresh processes (warehouse if the scenario has one, then the contender) in a fresh
 * directory under the OS temp dir, warm-up, measured load, drain wait, peak RSS, SIGTERM.
 */
export async function runRound(
  scenario: Scenario,
  contender: Contender,
  round: number,
  options: RoundOptions,
): Promise<RoundResult> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "junction-bench-"));
  const children: Child[] = [];
  let failed = true;
  try {
    const running = await startAndWarm(scenario, contender, dir, options, children);
    const window = await measure(running, options.seconds, () => running.warmup?.ok ?? 0, options);
    const finished = await finish(scenario, running, round, [window], options);
    failed = finished.failed;
    return finished.result;
  } finally {
    for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
    if (!failed && !options.keep && !options.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One round of both contenders at once, for drift that a pair of whole rounds does not cancel: both
 * run side by side (each with its own warehouse), and the load alternates between them in `slices`
 * windows of `seconds / slices` each, the first contender changing every slice; between windows the
 * end-to-end backlog drains. A contender's figures sum (throughput) or take the median (latency) over
 * its windows; its CPU cost per message runs from its warm-up to its last drain.
 */
export async function runInterleavedRound(
  scenario: Scenario,
  round: number,
  slices: number,
  options: RoundOptions,
): Promise<RoundResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-"));
  const children: Child[] = [];
  let failed = true;
  try {
    const contenders = ["ceiling", "junction"] as const;
    const running: Running[] = [];
    for (const contender of contenders) {
      const own = join(dir, contender);
      mkdirSync(own);
      running.push(await startAndWarm(scenario, contender, own, options, children));
    }
    const windows: Window[][] = running.map(() => []);
    const sliceSeconds = windowSeconds(options.seconds, slices);
    for (let slice = 0; slice < slices; slice++) {
      for (const index of windowOrder(slice, running.length)) {
        const accepted = () =>
          (running[index].warmup?.ok ?? 0) + windows[index].reduce((sum, window) => sum + window.load.ok, 0);
        windows[index].push(await measure(running[index], sliceSeconds, accepted, options));
      }
    }
    const finished = [];
    for (let index = 0; index < running.length; index++)
      finished.push(await finish(scenario, running[index], round, windows[index], options));
    failed = finished.some((one) => one.failed);
    return finished.map((one) => one.result);
  } finally {
    for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
    if (!failed && !options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** pino levels: 50 error, 60 fatal. */
function countErrorLines(file: string): number {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => /"level":(5|6)0\b/.test(line)).length;
  } catch {
    return 0;
  }
}
