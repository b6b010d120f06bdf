import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJsonChild } from "../lib/child-json.js";
import { cpuBetween, cpuSnapshot } from "../lib/cpu.js";
import { backlog, type ScenarioConfig, startJunctionIn } from "../lib/junction.js";
import { startWarehouse, warehouseStats } from "../lib/peers.js";
import { type Child, sleep, terminate } from "../lib/process.js";
import { peakRssMb, rssBreakdownMb } from "../lib/rss.js";
import { row, type Suite } from "../lib/suite.js";
import { UNBOUNDED_DEPTH } from "../scenarios/scenario.js";

const RSS_TARGET_MB = 250;
const READY_TARGET_MS = 5000;

/** The backlog's channel `orders` (filled by bench/peers/backlog-build.ts) drained to the warehouse. */
export function backlogConfig(warehouseUrl: string): ScenarioConfig {
  return {
    systems: { warehouse: { owner: "bench", needs: ["order"] } },
    connections: {
      "warehouse-api": { http: { baseUrl: warehouseUrl, connections: 64 }, system: "warehouse" },
    },
    channels: { orders: { queue: { maxDepth: UNBOUNDED_DEPTH } } },
    routes: {
      drain: {
        from: { channel: "orders" },
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
      },
    },
  };
}

interface BacklogBuild {
  seconds: number;
  perSecond: number;
  bodyBytes: number;
}

/**
 * Backlog and recovery: BENCH_BACKLOG messages (default 1,000,000) of about 500 bytes queued in a
 * store by batched commits, then `junction run` started on it with a route draining the channel to
 * the warehouse: time from process start to /readyz 200, peak RSS, and the drain rate over a bounded
 * window (max(10 s, 2 × BENCH_SECONDS)); the backlog need not empty. The targets are absolute; the
 * same configuration started on an empty store first is the baseline that shows what the backlog adds.
 */
export const backlogSuite: Suite = {
  name: "backlog",
  description:
    "1,000,000 (BENCH_BACKLOG) queued messages of ~500 bytes, then `junction run` on the store: restart-to-ready, peak RSS, drain rate to an HTTP sink",
  async run(settings) {
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-backlog-"));
    const children: Child[] = [];
    const failures: string[] = [];
    let keep = settings.keep;
    try {
      const store = join(dir, "store.db");
      settings.log(`   building ${settings.backlog} messages in ${store} …`);
      const build = await runJsonChild<BacklogBuild>({
        name: "backlog-build",
        script: "backlog-build.ts",
        env: { STORE: store, COUNT: String(settings.backlog) },
        logFile: join(dir, "build.log"),
        timeoutMs: 600_000,
      });
      const storeMb = statSync(store).size / 2 ** 20;
      settings.log(
        `   built in ${build.seconds.toFixed(1)} s (${Math.round(build.perSecond)} msg/s, ${build.bodyBytes}-byte messages, store ${Math.round(storeMb)} MB)`,
      );
      const warehouse = await startWarehouse(join(dir, "warehouse.log"));
      children.push(warehouse.child);
      // Baseline: the same configuration on an empty store, so the backlog's share of the start shows.
      const emptyDir = join(dir, "empty");
      mkdirSync(emptyDir);
      const empty = await startJunctionIn(emptyDir, backlogConfig(warehouse.url));
      const emptyRssMb = peakRssMb(empty.child.pid);
      await terminate(empty.child, 30_000);
      settings.log(
        `   empty store: ready in ${empty.readyMs} ms, peak RSS ${Math.round(emptyRssMb ?? 0)} MB`,
      );
      const junction = await startJunctionIn(dir, backlogConfig(warehouse.url), settings.nodeArgs);
      children.push(junction.child);
      const readyMs = junction.readyMs;
      const rssAtReady = peakRssMb(junction.child.pid);
      const before = await warehouseStats(warehouse.url);
      const atReady = await backlog(junction.adminUrl);
      const cpuBefore = cpuSnapshot({ junction: junction.child.pid });
      const windowMs = Math.max(10, settings.seconds * 2) * 1000;
      const started = performance.now();
      let left = atReady;
      while (performance.now() - started < windowMs && left > 0) {
        await sleep(500);
        left = await backlog(junction.adminUrl);
      }
      const seconds = (performance.now() - started) / 1000;
      const after = await warehouseStats(warehouse.url);
      const cpu = cpuBetween(cpuBefore, cpuSnapshot({ junction: junction.child.pid }));
      const rss = peakRssMb(junction.child.pid);
      const rssNow = rssBreakdownMb(junction.child.pid);
      const exit = await terminate(junction.child, 30_000);
      if (exit.code !== 0 || exit.killed) {
        failures.push(`junction exited ${exit.code ?? exit.signal} after SIGTERM (kept ${dir})`);
        keep = true;
      }
      const drained = after.distinct - before.distinct;
      const drainPerSecond = drained / seconds;
      settings.log(
        `   ready in ${readyMs} ms with ${atReady} queued, drained ${drained} in ${seconds.toFixed(1)} s (${Math.round(drainPerSecond)}/s, ${cpu.cores.junction?.toFixed(2)} cores, others ${cpu.otherCores?.toFixed(2)}), ${left} left, peak RSS ${Math.round(rssAtReady ?? 0)} MB at ready and ${Math.round(rss ?? 0)} MB at the end (now: heap and other anonymous ${Math.round(rssNow?.anon ?? 0)} MB, files ${Math.round(rssNow?.file ?? 0)} MB, shared ${Math.round(rssNow?.shmem ?? 0)} MB), exit ${exit.code ?? exit.signal}`,
      );
      const result = {
        messages: settings.backlog,
        build,
        storeMb,
        readyMs,
        emptyStoreReadyMs: empty.readyMs,
        emptyStoreRssMb: emptyRssMb,
        backlogAtReady: atReady,
        drained,
        drainSeconds: seconds,
        drainPerSecond,
        backlogAfterWindow: left,
        cores: cpu.cores.junction,
        otherCores: cpu.otherCores,
        peakRssMb: rss,
        peakRssAtReadyMb: rssAtReady,
        rssAtEndMb: rssNow,
        exit,
      };
      const scenario = `backlog ${settings.backlog.toLocaleString("en")}`;
      return {
        rows: [
          row({
            scenario: `${scenario}: peak RSS`,
            measure: "MB",
            junction: rss,
            peerName: "same config, empty store",
            peer: emptyRssMb,
            junctionRssMb: rss,
            peerRssMb: emptyRssMb,
            target: `< ${RSS_TARGET_MB} MB`,
            met: rss === null ? null : rss < RSS_TARGET_MB,
          }),
          row({
            scenario: `${scenario}: restart to ready`,
            measure: "ms",
            junction: readyMs,
            peerName: "same config, empty store",
            peer: empty.readyMs,
            target: `< ${READY_TARGET_MS} ms`,
            met: readyMs < READY_TARGET_MS,
          }),
          row({ scenario: `${scenario}: drain to HTTP sink`, measure: "msg/s", junction: drainPerSecond }),
          row({
            scenario: `${scenario}: build (batched commits)`,
            measure: "msg/s",
            junction: build.perSecond,
          }),
        ],
        rounds: [result],
        failures,
      };
    } finally {
      for (const child of children) if (!child.hasExited()) await terminate(child, 5_000);
      if (!keep) rmSync(dir, { recursive: true, force: true });
      else settings.log(`   kept ${dir}`);
    }
  },
};
