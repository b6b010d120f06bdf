/**
 * Embedded queue, Junction's side: the SQLite store's own API (commit appends, claim, commit acks),
 * at-least-once: a message counts as processed once its ack is committed. STORE = database path.
 */
import { createMessage } from "../../src/api/message.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { latency, now, payload, peakRssMb, report, settings } from "./queue-common.js";

const store = new SqliteStore({ path: process.env.STORE ?? ":memory:", durability: "process" });
const QUEUE = "bench";
store.declareChannel({ name: QUEUE, kind: "queue", retentionMs: 0 });
store.subscribe(QUEUE, QUEUE);

const append = (index: number) => ({
  channel: QUEUE,
  message: createMessage({ source: "bench", type: "order", data: payload(index) }),
  partitionKey: null,
});

let wake: (() => void) | undefined;
store.onReady(() => wake?.());

/** Claim up to `concurrency` at a time, "process" (read the payload), ack each; until `total` are acked. */
async function consume(total: number, latencies?: number[]): Promise<void> {
  let done = 0;
  while (done < total) {
    const deliveries = await store.claim(QUEUE, settings.concurrency, 30_000);
    if (deliveries.length === 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 5);
      });
      continue;
    }
    await Promise.all(
      deliveries.map(async (delivery) => {
        const data = delivery.message.data as { enqueuedAt: number };
        await store.commit({ acks: [delivery.deliveryId] });
        latencies?.push(now() - data.enqueuedAt);
      }),
    );
    done += deliveries.length;
  }
}

/** Enqueue `total` messages in commits of `batchSize`. */
async function enqueueBatched(total: number): Promise<void> {
  for (let index = 0; index < total; index += settings.batchSize) {
    const appends = [];
    for (let i = index; i < Math.min(total, index + settings.batchSize); i++) appends.push(append(i));
    await store.commit({ appends });
  }
}

// 0. warm-up, not measured
await enqueueBatched(settings.warmup);
await consume(settings.warmup);

// 1. batched enqueue, 2. process what was enqueued
let started = now();
await enqueueBatched(settings.batched);
const batchedEnqueuePerSecond = settings.batched / ((now() - started) / 1000);
started = now();
await consume(settings.batched);
const batchedProcessPerSecond = settings.batched / ((now() - started) / 1000);

// 3. one-by-one enqueue by `concurrency` producers while the consumer runs
const latencies: number[] = [];
started = now();
let next = 0;
const producer = async () => {
  while (next < settings.streamed) await store.commit({ appends: [append(next++)] });
};
await Promise.all([
  consume(settings.streamed, latencies),
  ...Array.from({ length: settings.concurrency }, producer),
]);
const streamedPerSecond = settings.streamed / ((now() - started) / 1000);
await store.close();
report({
  batchedEnqueuePerSecond,
  batchedProcessPerSecond,
  streamedPerSecond,
  streamedLatency: latency(latencies),
  peakRssMb: peakRssMb(),
});
