import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuBetween, cpuSnapshot } from "../lib/cpu.js";
import { backlog, type ScenarioConfig, startJunctionIn } from "../lib/junction.js";
import { type LoadResult, runLoad } from "../lib/load.js";
import { FLOW_MAPPING_JSONATA, FLOW_MAPPING_JSONATA_INLINE, flowOrderBody } from "../lib/mapping.js";
import { type NodeRedVariant, startNodeRed } from "../lib/node-red.js";
import {
  type RunningPeer,
  resetWarehouse,
  startWarehouse,
  type WarehouseStats,
  warehouseStats,
} from "../lib/peers.js";
import { type Child, sleep, terminate } from "../lib/process.js";
import { peakRssMb } from "../lib/rss.js";
import { median, ratio } from "../lib/stats.js";
import { type Latency, row, type Suite, type SuiteSettings } from "../lib/suite.js";
import { combineLoads, windowOrder, windowSeconds } from "../lib/windows.js";
import { INTAKE_WAIT, SUSTAINED_DEPTH, UNBOUNDED_DEPTH } from "../scenarios/scenario.js";

/**
 * webhook → channel → map (the 15-field JSONata) → HTTP sink to the warehouse. BENCH_FLOW_INLINE=1
 * gives Junction the variant written without `$split` (Node-RED keeps the mapping as written); both
 * now run inline, compiled to JS by src/engine/jsonata-compiler.
 */
export function flowConfig(warehouseUrl: string): ScenarioConfig {
  const mapping = process.env.BENCH_FLOW_INLINE === "1" ? FLOW_MAPPING_JSONATA_INLINE : FLOW_MAPPING_JSONATA;
  return {
    systems: {
      shop: { owner: "bench", owns: ["order"] },
      warehouse: { owner: "bench", needs: ["order"] },
    },
    connections: {
      "warehouse-api": { http: { baseUrl: warehouseUrl, connections: 64 }, system: "warehouse" },
    },
    channels: { orders: { queue: { maxDepth: SUSTAINED_DEPTH } } },
    routes: {
      "orders-in": {
        from: { webhook: { path: "/orders", system: "shop" } },
        to: [{ channel: "orders" }],
        concurrency: 64,
        maxDepth: UNBOUNDED_DEPTH,
        intakeWait: INTAKE_WAIT,
      },
      "orders-to-warehouse": {
        from: { channel: "orders" },
        steps: [{ map: { jsonata: mapping } }],
        to: [
          {
            http: {
              connection: "warehouse-api",
              method: "POST",
              path: "/shipments",
              idempotencyKey: "{{ $message.id }}",
            },
          },
        ],
        concurrency: 64,
        maxDepth: UNBOUNDED_DEPTH,
      },
    },
  };
}

type FlowContender = "junction" | `node-red-${NodeRedVariant}`;

const ORDER_OF_ROUNDS: FlowContender[] = ["node-red-change", "node-red-function", "junction"];

/** Offered requests per second for the fixed-rate latency phase (BENCH_FLOW_RATE, default 100). */
function flowRate(): number {
  const rate = Number(process.env.BENCH_FLOW_RATE ?? 100);
  return Number.isFinite(rate) && rate > 0 ? rate : 100;
}

interface FlowRound {
  contender: FlowContender;
  round: number;
  /** Load windows the measured load came in (1: one window, the contender running alone). */
  windows: number;
  readyMs: number;
  load: LoadResult;
  accepted: number;
  /** Distinct shipments that reached the warehouse during the measured windows, per second. */
  deliveredPerSecond: number;
  /** Send timestamp in the payload → arrival at the warehouse (median of the windows' percentiles). */
  endToEnd: Latency;
  /** What the contender's own latency is end to end: Junction's receiver figure, Node-RED's request latency. */
  latency: Latency;
  /** The same, at a fixed offered rate (FLOW_RATE) every contender can keep up with. */
  fixedRate: { rate: number; seconds: number; arrivedWhenLoadEnded: number; latency: Latency };
  backlogAtEnd: number;
  deliveredAfterDrain: number;
  allDelivered: boolean;
  cores: number | null;
  /** The contender's CPU time in the measured windows per message delivered in them. */
  cpuMsPerMessage: number | null;
  otherCores: number | null;
  peakRssMb: number | null;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

/** A contender started for a round, with its own warehouse (recording latency), warmed up. */
interface RunningFlow {
  contender: FlowContender;
  dir: string;
  child: Child;
  warehouse: RunningPeer;
  target: string;
  adminUrl: string | undefined;
  readyMs: number;
  warmup: LoadResult | null;
}

/** One measured load window and the drain after it. */
interface FlowWindow {
  load: LoadResult;
  delivered: number;
  endToEnd: Latency;
  /** The contender's CPU seconds in the window, and the window's wall seconds. */
  cpuSeconds: number | null;
  seconds: number;
  otherCores: number | null;
  backlogAtEnd: number;
  /** Distinct shipments at the warehouse once the drain after the window ended. */
  distinctAfterDrain: number;
}

function flowLoad(target: string, seconds: number, settings: SuiteSettings, rate?: number) {
  return runLoad({
    url: `${target}/orders`,
    seconds,
    connections: settings.connections,
    body: flowOrderBody(Date.now()),
    bodyFor: () => flowOrderBody(Date.now()),
    ...(rate ? { rate } : {}),
  });
}

async function startFlow(
  contender: FlowContender,
  dir: string,
  settings: SuiteSettings,
  children: Child[],
): Promise<RunningFlow> {
  const warehouse = await startWarehouse(join(dir, "warehouse.log"), { latency: true });
  children.push(warehouse.child);
  let child: Child;
  let target: string;
  let adminUrl: string | undefined;
  let readyMs: number;
  if (contender === "junction") {
    const junction = await startJunctionIn(dir, flowConfig(warehouse.url), settings.nodeArgs);
    ({ child, readyMs, adminUrl } = junction);
    target = junction.httpUrl;
  } else {
    const red = await startNodeRed(
      dir,
      contender === "node-red-change" ? "change" : "function",
      warehouse.url,
    );
    ({ child, readyMs } = red);
    target = red.url;
  }
  children.push(child);
  const warmup = settings.warmupSeconds > 0 ? await flowLoad(target, settings.warmupSeconds, settings) : null;
  return { contender, dir, child, warehouse, target, adminUrl, readyMs, warmup };
}

/**
 * A measured window: latency recorded from a reset, load, then (Junction answers before it delivers)
 * a bounded wait until everything accepted so far reached the warehouse.
 */
async function flowWindow(
  running: RunningFlow,
  seconds: number,
  acceptedBefore: number,
  settings: SuiteSettings,
): Promise<FlowWindow> {
  const { warehouse } = running;
  await resetWarehouse(warehouse.url);
  const before = await warehouseStats(warehouse.url);
  const pids = { contender: running.child.pid, warehouse: warehouse.child.pid };
  const cpuBefore = cpuSnapshot(pids);
  const measured = await flowLoad(running.target, seconds, settings);
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(pids));
  const after = await warehouseStats(warehouse.url);
  const accepted = acceptedBefore + measured.ok;
  const backlogAtEnd = running.adminUrl ? await backlog(running.adminUrl) : 0;
  let last: WarehouseStats = after;
  const drainStarted = Date.now();
  while (Date.now() - drainStarted < settings.drainSeconds * 1000 && last.distinct < accepted) {
    await sleep(200);
    last = await warehouseStats(warehouse.url);
  }
  const endToEnd = { p50: after.latency?.p50 ?? null, p99: after.latency?.p99 ?? null };
  return {
    load: measured,
    delivered: after.distinct - before.distinct,
    endToEnd,
    cpuSeconds: cpu.cores.contender == null ? null : cpu.cores.contender * cpu.seconds,
    seconds: cpu.seconds,
    otherCores: cpu.otherCores,
    backlogAtEnd,
    distinctAfterDrain: last.distinct,
  };
}

/**
 * Latency at a fixed offered rate: with as-fast-as-answered load Junction (202 after the commit)
 * queues what it cannot deliver yet while Node-RED (answer after the warehouse) holds the load
 * generator back, so the windows' latencies compare unlike things.
 */
async function fixedRatePhase(
  running: RunningFlow,
  settings: SuiteSettings,
): Promise<FlowRound["fixedRate"]> {
  const { warehouse } = running;
  await resetWarehouse(warehouse.url);
  const seconds = Math.max(3, settings.seconds / 2);
  const fixed = await flowLoad(running.target, seconds, settings, flowRate());
  const arrivedWhenLoadEnded = (await warehouseStats(warehouse.url)).received ?? 0;
  const settle = Date.now();
  let stats = await warehouseStats(warehouse.url);
  while (Date.now() - settle < 5000 && (stats.received ?? 0) < fixed.ok) {
    await sleep(100);
    stats = await warehouseStats(warehouse.url);
  }
  const latency =
    running.contender === "junction"
      ? { p50: stats.latency?.p50 ?? null, p99: stats.latency?.p99 ?? null }
      : { p50: fixed.latencyMs.p50, p99: fixed.latencyMs.p99 };
  return { rate: flowRate(), seconds, arrivedWhenLoadEnded, latency };
}

/** The round's figures from its windows; stops the contender. */
async function finishFlow(
  running: RunningFlow,
  round: number,
  windows: FlowWindow[],
  fixedRate: FlowRound["fixedRate"],
): Promise<FlowRound> {
  const sum = (pick: (window: FlowWindow) => number) => windows.reduce((total, w) => total + pick(w), 0);
  const load = combineLoads(windows.map((window) => window.load));
  const accepted = (running.warmup?.ok ?? 0) + load.ok;
  const delivered = sum((window) => window.delivered);
  const seconds = sum((window) => window.seconds);
  const cpuSeconds = windows.some((window) => window.cpuSeconds === null)
    ? null
    : sum((window) => window.cpuSeconds ?? 0);
  const endToEnd = {
    p50: median(windows.map((window) => window.endToEnd.p50)),
    p99: median(windows.map((window) => window.endToEnd.p99)),
  };
  const distinctAfterDrain = windows[windows.length - 1].distinctAfterDrain;
  const rss = peakRssMb(running.child.pid);
  const exit = await terminate(running.child, 30_000);
  await terminate(running.warehouse.child, 10_000);
  return {
    contender: running.contender,
    round,
    windows: windows.length,
    readyMs: running.readyMs,
    load,
    accepted,
    deliveredPerSecond: delivered / load.seconds,
    endToEnd,
    latency:
      running.contender === "junction" ? endToEnd : { p50: load.latencyMs.p50, p99: load.latencyMs.p99 },
    fixedRate,
    backlogAtEnd: Math.max(...windows.map((window) => window.backlogAtEnd)),
    deliveredAfterDrain: distinctAfterDrain,
    allDelivered: distinctAfterDrain >= accepted,
    cores: cpuSeconds === null || seconds === 0 ? null : cpuSeconds / seconds,
    cpuMsPerMessage: cpuSeconds === null || delivered === 0 ? null : (cpuSeconds * 1000) / delivered,
    otherCores: median(windows.map((window) => window.otherCores)),
    peakRssMb: rss,
    exit: { code: exit.code, signal: exit.signal ?? null, killed: exit.killed },
  };
}

/**
 * One round of all three contenders, side by side (each with its own warehouse): after their warm-ups
 * the load goes to one at a time in `slices` windows each, the one that goes first turning every
 * slice, so drift of the machine within the round falls on all three alike. Then each one's
 * fixed-rate phase. With `slices` 1, each contender runs alone, one after the other, as before.
 */
async function flowRound(round: number, settings: SuiteSettings): Promise<FlowRound[]> {
  const slices = Math.max(1, settings.slices ?? 1);
  if (slices === 1) {
    const results: FlowRound[] = [];
    for (const contender of ORDER_OF_ROUNDS)
      results.push(...(await runFlows([contender], round, 1, settings)));
    return results;
  }
  return runFlows(ORDER_OF_ROUNDS, round, slices, settings);
}

async function runFlows(
  contenders: FlowContender[],
  round: number,
  slices: number,
  settings: SuiteSettings,
): Promise<FlowRound[]> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-flow-"));
  const children: Child[] = [];
  let failed = true;
  try {
    const running: RunningFlow[] = [];
    for (const contender of contenders) {
      const own = join(dir, contender);
      mkdirSync(own);
      running.push(await startFlow(contender, own, settings, children));
    }
    const windows: FlowWindow[][] = running.map(() => []);
    const sliceSeconds = windowSeconds(settings.seconds, slices);
    for (let slice = 0; slice < slices; slice++) {
      for (const index of windowOrder(slice, running.length)) {
        const accepted =
          (running[index].warmup?.ok ?? 0) +
          windows[index].reduce((total, window) => total + window.load.ok, 0);
        windows[index].push(await flowWindow(running[index], sliceSeconds, accepted, settings));
      }
    }
    const fixed = [];
    for (const one of running) fixed.push(await fixedRatePhase(one, settings));
    const results: FlowRound[] = [];
    for (let index = 0; index < running.length; index++)
      results.push(await finishFlow(running[index], round, windows[index], fixed[index]));
    failed = results.some(
      (result) => result.contender === "junction" && (result.exit.code !== 0 || result.exit.killed),
    );
    return results;
  } finally {
    for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
    if (!failed && !settings.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The JSONata flow against Node-RED, two variants of it (change node with the same JSONata,
 * function node in JS), in rounds of alternating load windows (flowRound). Throughput is what
 * reached the warehouse per second during the measured windows, for all three.
 */
export const jsonataFlowSuite: Suite = {
  name: "jsonata-flow",
  description:
    "webhook → channel → map (15-field JSONata) → HTTP sink, against Node-RED 4.1.8 (change node with the same JSONata; function node in JS), delivered/s at the warehouse",
  async run(settings) {
    const rounds: FlowRound[] = [];
    const failures: string[] = [];
    for (let index = 1; index <= settings.rounds; index++) {
      const label = (contender: string) => `   round ${index}/${settings.rounds} ${contender.padEnd(17)}`;
      try {
        for (const result of await flowRound(index, settings)) {
          rounds.push(result);
          settings.log(
            `${label(result.contender)} ${Math.round(result.load.okPerSecond)} req/s accepted, ${Math.round(result.deliveredPerSecond)}/s delivered, end-to-end p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms (at ${result.fixedRate.rate} req/s offered: p50 ${result.fixedRate.latency.p50} ms p99 ${result.fixedRate.latency.p99} ms), backlog ${result.backlogAtEnd}, all delivered ${result.allDelivered ? "yes" : "NO"}, ${result.cores?.toFixed(2)} cores (${result.cpuMsPerMessage?.toFixed(3)} ms CPU/delivered msg, others ${result.otherCores?.toFixed(2)}), peak RSS ${Math.round(result.peakRssMb ?? 0)} MB${result.load.non2xx || result.load.errors ? `, non-2xx ${result.load.non2xx}, errors ${result.load.errors}` : ""}${result.windows > 1 ? ` (${result.windows} windows)` : ""}`,
          );
          if (result.contender === "junction" && (result.exit.code !== 0 || result.exit.killed))
            failures.push(`round ${index} junction exited ${result.exit.code ?? result.exit.signal}`);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`round ${index}: ${message}`);
        settings.log(`${label("all")} FAILED: ${message}`);
      }
    }
    const side = (contender: FlowContender) => {
      const mine = rounds.filter((r) => r.contender === contender);
      return {
        delivered: median(mine.map((r) => r.deliveredPerSecond)),
        p50: median(mine.map((r) => r.latency.p50)),
        p99: median(mine.map((r) => r.latency.p99)),
        rss: median(mine.map((r) => r.peakRssMb)),
        fixedP50: median(mine.map((r) => r.fixedRate.latency.p50)),
        fixedP99: median(mine.map((r) => r.fixedRate.latency.p99)),
      };
    };
    const junction = side("junction");
    const fixedRows = (["change", "function"] as const).map((variant) => {
      const peer = side(`node-red-${variant}`);
      return row({
        scenario: `jsonata flow at ${flowRate()} req/s vs Node-RED ${variant}`,
        measure: "latency at fixed rate",
        peerName: `Node-RED ${variant} node`,
        junctionLatency: { p50: junction.fixedP50, p99: junction.fixedP99 },
        peerLatency: { p50: peer.fixedP50, p99: peer.fixedP99 },
        target: "lower p99",
        met: junction.fixedP99 === null || peer.fixedP99 === null ? null : junction.fixedP99 < peer.fixedP99,
      });
    });
    const rows = (["change", "function"] as const).map((variant) => {
      const peer = side(`node-red-${variant}`);
      const r = ratio(junction.delivered, peer.delivered);
      return row({
        scenario: `jsonata flow vs Node-RED ${variant}`,
        measure: "delivered msg/s",
        junction: junction.delivered,
        peerName: `Node-RED ${variant} node`,
        peer: peer.delivered,
        ratio: r,
        junctionLatency: { p50: junction.p50, p99: junction.p99 },
        peerLatency: { p50: peer.p50, p99: peer.p99 },
        junctionRssMb: junction.rss,
        peerRssMb: peer.rss,
        target: "≥ 4× and lower p99",
        met:
          r === null || junction.p99 === null || peer.p99 === null ? null : r >= 4 && junction.p99 < peer.p99,
      });
    });
    return { rows: [...rows, ...fixedRows], rounds, failures };
  },
};
