import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scenario } from "../scenarios/scenario.js";
import { type CpuWindow, cpuBetween, cpuSnapshot } from "./cpu.js";
import {
  backlog,
  type ChannelStat,
  channelStats,
  startJunction,
  validateConfig,
  writeConfig,
} from "./junction.js";
import { type LoadResult, runLoad } from "./load.js";
import { ORDER_BODY } from "./order.js";
import { startCeiling, startWarehouse, type WarehouseStats, warehouseStats } from "./peers.js";
import { freePort } from "./ports.js";
import { type Child, sleep, terminate } from "./process.js";
import { peakRssMb } from "./rss.js";

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
    const warehouse = scenario.downstream ? await startWarehouse(join(dir, "warehouse.log")) : undefined;
    if (warehouse) children.push(warehouse.child);

    let target: string;
    let child: Child;
    let adminUrl: string | undefined;
    let readyMs: number;
    const started = Date.now();
    if (contender === "junction") {
      const ports = { http: await freePort(), admin: await freePort() };
      const config = writeConfig(
        dir,
        scenario.junction(warehouse ? { warehouseUrl: warehouse.url } : {}),
        ports,
      );
      validateConfig(config);
      const junction = await startJunction({
        config,
        ports,
        logFile: join(dir, "junction.log"),
        ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
      });
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

    const load = (seconds: number) =>
      runLoad({
        url: `${target}${scenario.path}`,
        seconds,
        connections: options.connections,
        body: ORDER_BODY,
      });
    const pids: Record<string, number> = { [contender]: child.pid };
    if (warehouse) pids.warehouse = warehouse.child.pid;
    const roundCpuBefore = cpuSnapshot(pids);
    const warmup = options.warmupSeconds > 0 ? await load(options.warmupSeconds) : null;
    const before: WarehouseStats | null = warehouse ? await warehouseStats(warehouse.url) : null;
    const cpuBefore = cpuSnapshot(pids);
    const measured = await load(options.seconds);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot(pids));
    const after: WarehouseStats | null = warehouse ? await warehouseStats(warehouse.url) : null;

    let delivery: Delivery | null = null;
    if (warehouse && before && after) {
      const accepted = (warmup?.ok ?? 0) + measured.ok;
      const backlogAtEnd = adminUrl ? await backlog(adminUrl) : 0;
      const drainStarted = Date.now();
      let stats = after;
      let remaining = backlogAtEnd;
      let lastProgress = Date.now();
      while (Date.now() - drainStarted < options.drainSeconds * 1000) {
        if (stats.distinct >= accepted && remaining === 0) break;
        if (Date.now() - lastProgress > 10_000) break; // stuck: report what is left
        await sleep(200);
        const next = await warehouseStats(warehouse.url);
        if (next.total !== stats.total) lastProgress = Date.now();
        stats = next;
        remaining = adminUrl ? await backlog(adminUrl) : 0;
      }
      delivery = {
        accepted,
        delivered: stats.total,
        distinct: stats.distinct,
        deliveredPerSecond: (after.distinct - before.distinct) / measured.seconds,
        backlogAtEnd,
        backlogAfterDrain: remaining,
        drainMs: Date.now() - drainStarted,
        complete: stats.distinct >= accepted,
      };
    }

    const roundCpu = cpuBetween(roundCpuBefore, cpuSnapshot(pids));
    const contenderCpuSeconds = (roundCpu.cores[contender] ?? Number.NaN) * roundCpu.seconds;
    const accepted = (warmup?.ok ?? 0) + measured.ok;
    const channels = adminUrl ? await channelStats(adminUrl) : null;
    const rss = peakRssMb(child.pid);
    const exit = await terminate(child, 30_000);
    if (warehouse) await terminate(warehouse.child, 10_000);
    const errorLogLines = contender === "junction" ? countErrorLines(join(dir, "junction.log")) : 0;
    failed = contender === "junction" && (exit.code !== 0 || exit.killed);
    return {
      scenario: scenario.name,
      contender,
      round,
      readyMs,
      warmup,
      load: measured,
      peakRssMb: rss,
      cpu,
      cpuMsPerMessage:
        Number.isFinite(contenderCpuSeconds) && accepted > 0 ? (contenderCpuSeconds * 1000) / accepted : null,
      delivery,
      channels,
      errorLogLines,
      exit: { ...exit, signal: exit.signal ?? null },
      dir: failed || options.keep || options.dir ? dir : null,
    };
  } finally {
    for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
    if (!failed && !options.keep && !options.dir) rmSync(dir, { recursive: true, force: true });
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
