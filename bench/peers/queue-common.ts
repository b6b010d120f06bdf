/** Shared by the embedded-queue contenders: settings from the environment, latency clock, result line. */
import { readFileSync } from "node:fs";
import { ORDER } from "../lib/order.js";

export const settings = {
  /**
   * Messages enqueued in batches and processed before anything is measured, so that the phases time
   * warm code (the JIT, the client's connections, the store's first pages) as a running service has.
   */
  warmup: Number(process.env.WARMUP ?? 20_000),
  /** Messages enqueued in batches (phase 1) and then processed (phase 2). */
  batched: Number(process.env.BATCHED ?? 50_000),
  batchSize: Number(process.env.BATCH_SIZE ?? 1000),
  /** Messages enqueued one by one by CONCURRENCY producers while a consumer processes them (phase 3). */
  streamed: Number(process.env.STREAMED ?? 20_000),
  concurrency: Number(process.env.CONCURRENCY ?? 64),
};

export const now = () => performance.timeOrigin + performance.now();

/**
 * The payload of every queued message: the bench order plus its index and enqueue time. Not
 * `{ ...ORDER, index, enqueuedAt }`: Node 20's V8 builds that on a slow path (3 µs, and 0.8 µs more
 * to serialize it), which both contenders paid inside their measured enqueue
 * (bench/tools/object-spread.ts).
 */
export function payload(index: number) {
  return Object.assign({}, ORDER, { index, enqueuedAt: now() });
}

export function peakRssMb(): number | null {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) / 1024 : null;
}

export function latency(values: number[]) {
  const sorted = values.sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0
      ? null
      : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: at(50), p99: at(99) };
}

export interface QueueResult {
  batchedEnqueuePerSecond: number;
  batchedProcessPerSecond: number;
  /** Enqueue one by one and process at the same time: messages acknowledged per second. */
  streamedPerSecond: number;
  /** Enqueue call → acknowledged, ms. */
  streamedLatency: { p50: number | null; p99: number | null };
  peakRssMb: number | null;
}

export function report(result: QueueResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
