/**
 * Embedded queue, BullMQ's side on the local Redis: Queue.addBulk / Queue.add and a Worker with the
 * same concurrency; a message counts as processed at the worker's `completed` event (its ack to
 * Redis). Every key is under a unique PREFIX, removed at the end.
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { latency, now, payload, peakRssMb, type QueueResult, report, settings } from "./queue-common.js";

const connection = {
  host: "127.0.0.1",
  port: Number(process.env.REDIS_PORT ?? 6379),
  maxRetriesPerRequest: null,
};
const prefix = process.env.PREFIX ?? `junction-bench-${process.pid}`;
const NAME = "bench";
const queue = new Queue(NAME, {
  connection,
  prefix,
  defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
});

let onDone: ((enqueuedAt: number) => void) | undefined;
const worker = new Worker(NAME, async (job) => (job.data as { enqueuedAt: number }).enqueuedAt, {
  connection,
  prefix,
  concurrency: settings.concurrency,
  autorun: false,
});
worker.on("completed", (_job, enqueuedAt: number) => onDone?.(enqueuedAt));

function consume(total: number, latencies?: number[]): Promise<void> {
  return new Promise((resolve) => {
    let done = 0;
    onDone = (enqueuedAt) => {
      latencies?.push(now() - enqueuedAt);
      if (++done === total) resolve();
    };
  });
}

let result: QueueResult | undefined;
try {
  await queue.waitUntilReady();
  /** Enqueue `total` jobs with addBulk, `batchSize` at a time. */
  const enqueueBatched = async (total: number) => {
    for (let index = 0; index < total; index += settings.batchSize) {
      const jobs = [];
      for (let i = index; i < Math.min(total, index + settings.batchSize); i++)
        jobs.push({ name: "order", data: payload(i) });
      await queue.addBulk(jobs);
    }
  };
  // 0. warm-up, not measured; the worker then pauses until phase 2
  await enqueueBatched(settings.warmup);
  const warmedUp = consume(settings.warmup);
  void worker.run();
  await warmedUp;
  await worker.pause();
  // 1. batched enqueue, 2. process what was enqueued
  let started = now();
  await enqueueBatched(settings.batched);
  const batchedEnqueuePerSecond = settings.batched / ((now() - started) / 1000);
  started = now();
  const batchedDone = consume(settings.batched);
  await worker.resume();
  await batchedDone;
  const batchedProcessPerSecond = settings.batched / ((now() - started) / 1000);

  // 3. one-by-one enqueue by `concurrency` producers while the worker runs
  const latencies: number[] = [];
  started = now();
  let next = 0;
  const producer = async () => {
    while (next < settings.streamed) await queue.add("order", payload(next++));
  };
  await Promise.all([
    consume(settings.streamed, latencies),
    ...Array.from({ length: settings.concurrency }, producer),
  ]);
  const streamedPerSecond = settings.streamed / ((now() - started) / 1000);
  result = {
    batchedEnqueuePerSecond,
    batchedProcessPerSecond,
    streamedPerSecond,
    streamedLatency: latency(latencies),
    peakRssMb: peakRssMb(),
  };
} finally {
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  // obliterate leaves the queue's meta, id and events keys: delete everything under the prefix
  const redis = new Redis({ ...connection, lazyConnect: true });
  await redis.connect();
  let cursor = "0";
  do {
    const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = nextCursor;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();
}
// reported only once the keys are gone: the bench stops this process as soon as it has the line
if (result) report(result);
