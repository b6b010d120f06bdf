import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuBetween, cpuSnapshot } from "../lib/cpu.js";
import { backlog, type ScenarioConfig, startJunction, validateConfig, writeConfig } from "../lib/junction.js";
import { type LoadResult, runLoad } from "../lib/load.js";
import { FLOW_MAPPING_JSONATA, FLOW_MAPPING_JSONATA_INLINE, flowOrderBody } from "../lib/mapping.js";
import { type NodeRedVariant, startNodeRed } from "../lib/node-red.js";
import { resetWarehouse, startWarehouse, type WarehouseStats, warehouseStats } from "../lib/peers.js";
import { freePort } from "../lib/ports.js";
import { type Child, sleep, terminate } from "../lib/process.js";
import { peakRssMb } from "../lib/rss.js";
import { median, ratio } from "../lib/stats.js";
import { type Latency, row, type Suite, type SuiteSettings } from "../lib/suite.js";
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

/** Offered requests per second for the fixed-rate latency phase (BENCH_FLOW_RATE, default 100). */
function flowRate(): number {
  const rate = Number(process.env.BENCH_FLOW_RATE ?? 100);
  return Number.isFinite(rate) && rate > 0 ? rate : 100;
}

interface FlowRound {
  contender: FlowContender;
  round: number;
  readyMs: number;
  load: LoadResult;
  accepted: number;
  /** Distinct shipments that reached the warehouse during the measured window, per second. */
  deliveredPerSecond: number;
  /** Send timestamp in the payload → arrival at the warehouse, during the measured window. */
  endToEnd: Latency;
  /** What the contender's own latency is end to end: Junction's receiver figure, Node-RED's request latency. */
  latency: Latency;
  /** The same, at a fixed offered rate (FLOW_RATE) every contender can keep up with. */
  fixedRate: { rate: number; seconds: number; arrivedWhenLoadEnded: number; latency: Latency };
  backlogAtEnd: number;
  deliveredAfterDrain: number;
  allDelivered: boolean;
  cores: number | null;
  /** The contender's CPU time in the measured window per delivered message. */
  cpuMsPerMessage: number | null;
  otherCores: number | null;
  peakRssMb: number | null;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

async function flowRound(
  contender: FlowContender,
  round: number,
  settings: SuiteSettings,
): Promise<FlowRound> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-flow-"));
  const children: Child[] = [];
  let failed = true;
  try {
    const warehouse = await startWarehouse(join(dir, "warehouse.log"), { latency: true });
    children.push(warehouse.child);
    let child: Child;
    let target: string;
    let adminUrl: string | undefined;
    let readyMs: number;
    if (contender === "junction") {
      const ports = { http: await freePort(), admin: await freePort() };
      const config = writeConfig(dir, flowConfig(warehouse.url), ports);
      validateConfig(config);
      const junction = await startJunction({
        config,
        ports,
        logFile: join(dir, "junction.log"),
        ...(settings.nodeArgs ? { nodeArgs: settings.nodeArgs } : {}),
      });
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
    const load = (seconds: number) =>
      runLoad({
        url: `${target}/orders`,
        seconds,
        connections: settings.connections,
        body: flowOrderBody(Date.now()),
        bodyFor: () => flowOrderBody(Date.now()),
      });
    const warmup = settings.warmupSeconds > 0 ? await load(settings.warmupSeconds) : null;
    const before = await warehouseStats(warehouse.url);
    await resetWarehouse(warehouse.url);
    const cpuBefore = cpuSnapshot({ contender: child.pid, warehouse: warehouse.child.pid });
    const measured = await load(settings.seconds);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot({ contender: child.pid, warehouse: warehouse.child.pid }));
    const after = await warehouseStats(warehouse.url);
    const accepted = (warmup?.ok ?? 0) + measured.ok;
    const backlogAtEnd = adminUrl ? await backlog(adminUrl) : 0;
    // Junction answers before it delivers: wait (bounded) for the rest to reach the warehouse.
    let last: WarehouseStats = after;
    const drainStarted = Date.now();
    while (Date.now() - drainStarted < settings.drainSeconds * 1000 && last.distinct < accepted) {
      await sleep(200);
      last = await warehouseStats(warehouse.url);
    }
    const endToEnd = { p50: after.latency?.p50 ?? null, p99: after.latency?.p99 ?? null };
    // Latency at a fixed offered rate: with as-fast-as-answered load Junction (202 after the commit)
    // queues what it cannot deliver yet while Node-RED (answer after the warehouse) holds the load
    // generator back, so the latencies above compare unlike things.
    await resetWarehouse(warehouse.url);
    const fixedSeconds = Math.max(3, settings.seconds / 2);
    const fixed = await runLoad({
      url: `${target}/orders`,
      seconds: fixedSeconds,
      connections: settings.connections,
      rate: flowRate(),
      body: flowOrderBody(Date.now()),
      bodyFor: () => flowOrderBody(Date.now()),
    });
    const fixedArrived = (await warehouseStats(warehouse.url)).received ?? 0;
    const settle = Date.now();
    let fixedStats = await warehouseStats(warehouse.url);
    while (Date.now() - settle < 5000 && (fixedStats.received ?? 0) < fixed.ok) {
      await sleep(100);
      fixedStats = await warehouseStats(warehouse.url);
    }
    const fixedLatency =
      contender === "junction"
        ? { p50: fixedStats.latency?.p50 ?? null, p99: fixedStats.latency?.p99 ?? null }
        : { p50: fixed.latencyMs.p50, p99: fixed.latencyMs.p99 };
    const rss = peakRssMb(child.pid);
    const exit = await terminate(child, 30_000);
    failed = contender === "junction" && (exit.code !== 0 || exit.killed);
    return {
      contender,
      round,
      readyMs,
      load: measured,
      accepted,
      deliveredPerSecond: (after.distinct - before.distinct) / measured.seconds,
      endToEnd,
      latency:
        contender === "junction" ? endToEnd : { p50: measured.latencyMs.p50, p99: measured.latencyMs.p99 },
      fixedRate: {
        rate: flowRate(),
        seconds: fixedSeconds,
        arrivedWhenLoadEnded: fixedArrived,
        latency: fixedLatency,
      },
      backlogAtEnd,
      deliveredAfterDrain: last.distinct,
      allDelivered: last.distinct >= accepted,
      cores: cpu.cores.contender ?? null,
      cpuMsPerMessage:
        cpu.cores.contender == null || after.distinct === before.distinct
          ? null
          : (cpu.cores.contender * cpu.seconds * 1000) / (after.distinct - before.distinct),
      otherCores: cpu.otherCores,
      peakRssMb: rss,
      exit: { code: exit.code, signal: exit.signal ?? null, killed: exit.killed },
    };
  } finally {
    for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
    if (!failed && !settings.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const ORDER_OF_ROUNDS: FlowContender[] = ["node-red-change", "node-red-function", "junction"];

/**
 * The JSONata flow against Node-RED, two variants of it (change node with the same JSONata,
 * function node in JS), in alternating rounds. Throughput is what reached the warehouse per second
 * during the measured window, for all three.
 */
export const jsonataFlowSuite: Suite = {
  name: "jsonata-flow",
  description:
    "webhook → channel → map (15-field JSONata) → HTTP sink, against Node-RED 4.1.8 (change node with the same JSONata; function node in JS), delivered/s at the warehouse",
  async run(settings) {
    const rounds: FlowRound[] = [];
    const failures: string[] = [];
    for (let index = 1; index <= settings.rounds; index++) {
      for (const contender of ORDER_OF_ROUNDS) {
        const label = `   round ${index}/${settings.rounds} ${contender.padEnd(17)}`;
        try {
          const result = await flowRound(contender, index, settings);
          rounds.push(result);
          settings.log(
            `${label} ${Math.round(result.load.okPerSecond)} req/s accepted, ${Math.round(result.deliveredPerSecond)}/s delivered, end-to-end p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms (at ${result.fixedRate.rate} req/s offered: p50 ${result.fixedRate.latency.p50} ms p99 ${result.fixedRate.latency.p99} ms), backlog ${result.backlogAtEnd}, all delivered ${result.allDelivered ? "yes" : "NO"}, ${result.cores?.toFixed(2)} cores (${result.cpuMsPerMessage?.toFixed(3)} ms CPU/delivered msg, others ${result.otherCores?.toFixed(2)}), peak RSS ${Math.round(result.peakRssMb ?? 0)} MB${result.load.non2xx || result.load.errors ? `, non-2xx ${result.load.non2xx}, errors ${result.load.errors}` : ""}`,
          );
          if (contender === "junction" && (result.exit.code !== 0 || result.exit.killed))
            failures.push(`round ${index} junction exited ${result.exit.code ?? result.exit.signal}`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push(`round ${index} ${contender}: ${message}`);
          settings.log(`${label} FAILED: ${message}`);
        }
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
