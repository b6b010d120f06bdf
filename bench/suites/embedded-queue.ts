import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJsonChild } from "../lib/child-json.js";
import { median, ratio } from "../lib/stats.js";
import { row, type Suite } from "../lib/suite.js";
import type { QueueResult } from "../peers/queue-common.js";

type QueueContender = "junction" | "bullmq";

interface QueueRound extends QueueResult {
  contender: QueueContender;
  round: number;
}

const BATCHED_TARGET = 100_000;

/**
 * The warm-up enqueues and processes at least this many messages: enough to fill the SQLite page
 * cache (better-sqlite3's default, 16 MB; about 16,000 of these messages). Until it is full, every
 * page a commit writes is a fresh allocation with its page faults, about 16 µs a 4 KB page on the
 * bench's host: 1,000 rows took 6.5–7 ms to commit instead of 2.0 (SQLite alone, a scratch loop), a
 * start-up cost that a running service has long paid. With 10,000 the batched phase began with the
 * cache two-thirds full: 92–98 k/s against 118–123 k/s after 20,000 (the peer alone, 3 pairs).
 * BullMQ's rates do not move with it (20.1–20.5 k/s batched after either).
 */
const WARMUP_MESSAGES = 20_000;

/**
 * Embedded queue: Junction's SQLite store (commit appends / claim / commit acks) against BullMQ on
 * the local Redis, each in its own process, alternating. After a warm-up (a batch enqueued and
 * processed, not measured), three phases per run: batched enqueue, processing that backlog, and
 * one-by-one enqueue (64 producers) while a consumer with 64 in flight processes and acknowledges.
 */
export const embeddedQueueSuite: Suite = {
  name: "embedded-queue",
  description:
    "enqueue + process with at-least-once ack: Junction's SQLite store API against BullMQ 6.7 on Redis 127.0.0.1:6379",
  async run(settings) {
    const env = {
      WARMUP: String(Math.max(WARMUP_MESSAGES, Math.round(settings.warmupSeconds * 5000))),
      BATCHED: String(Math.max(1000, Math.round(settings.seconds * 5000))),
      STREAMED: String(Math.max(1000, Math.round(settings.seconds * 2000))),
      BATCH_SIZE: "1000",
      CONCURRENCY: "64",
    };
    const rounds: QueueRound[] = [];
    const failures: string[] = [];
    for (let index = 1; index <= settings.rounds; index++) {
      for (const contender of ["bullmq", "junction"] as const) {
        const dir = mkdtempSync(join(tmpdir(), "junction-bench-queue-"));
        const label = `   round ${index}/${settings.rounds} ${contender.padEnd(8)}`;
        try {
          const result = await runJsonChild<QueueResult>({
            name: `queue-${contender}`,
            script: contender === "junction" ? "queue-junction.ts" : "queue-bullmq.ts",
            env: {
              ...env,
              STORE: join(dir, "store.db"),
              PREFIX: `junction-bench-${process.pid}-${Date.now()}`,
            },
            logFile: join(dir, `${contender}.log`),
            timeoutMs: 180_000,
            ...(contender === "junction" && settings.nodeArgs ? { nodeArgs: settings.nodeArgs } : {}),
          });
          rounds.push({ contender, round: index, ...result });
          settings.log(
            `${label} batched enqueue ${Math.round(result.batchedEnqueuePerSecond)}/s, process ${Math.round(result.batchedProcessPerSecond)}/s, enqueue+process ${Math.round(result.streamedPerSecond)}/s (p50 ${result.streamedLatency.p50?.toFixed(1)} ms, p99 ${result.streamedLatency.p99?.toFixed(1)} ms), peak RSS ${Math.round(result.peakRssMb ?? 0)} MB`,
          );
          if (!settings.keep) rmSync(dir, { recursive: true, force: true });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push(`round ${index} ${contender}: ${message} (kept ${dir})`);
          settings.log(`${label} FAILED: ${message}`);
        }
      }
    }
    const m = (contender: QueueContender, pick: (r: QueueRound) => number | null) =>
      median(rounds.filter((r) => r.contender === contender).map(pick));
    const streamed = ratio(
      m("junction", (r) => r.streamedPerSecond),
      m("bullmq", (r) => r.streamedPerSecond),
    );
    const batched = m("junction", (r) => r.batchedEnqueuePerSecond);
    return {
      rows: [
        row({
          scenario: "embedded queue: enqueue + process",
          measure: "acked msg/s",
          junction: m("junction", (r) => r.streamedPerSecond),
          peerName: "BullMQ",
          peer: m("bullmq", (r) => r.streamedPerSecond),
          ratio: streamed,
          junctionLatency: {
            p50: m("junction", (r) => r.streamedLatency.p50),
            p99: m("junction", (r) => r.streamedLatency.p99),
          },
          peerLatency: {
            p50: m("bullmq", (r) => r.streamedLatency.p50),
            p99: m("bullmq", (r) => r.streamedLatency.p99),
          },
          junctionRssMb: m("junction", (r) => r.peakRssMb),
          peerRssMb: m("bullmq", (r) => r.peakRssMb),
          target: "≥ 5×",
          met: streamed === null ? null : streamed >= 5,
        }),
        row({
          scenario: "embedded queue: batched enqueue",
          measure: "enqueued msg/s",
          junction: batched,
          peerName: "BullMQ addBulk",
          peer: m("bullmq", (r) => r.batchedEnqueuePerSecond),
          ratio: ratio(
            batched,
            m("bullmq", (r) => r.batchedEnqueuePerSecond),
          ),
          target: "J ≥ 100,000/s",
          met: batched === null ? null : batched >= BATCHED_TARGET,
        }),
        row({
          scenario: "embedded queue: process backlog",
          measure: "acked msg/s",
          junction: m("junction", (r) => r.batchedProcessPerSecond),
          peerName: "BullMQ",
          peer: m("bullmq", (r) => r.batchedProcessPerSecond),
          ratio: ratio(
            m("junction", (r) => r.batchedProcessPerSecond),
            m("bullmq", (r) => r.batchedProcessPerSecond),
          ),
        }),
      ],
      rounds,
      failures,
    };
  },
};
