import type { Readable } from "node:stream";
import type { ConsumeOptions, ConsumerOptions, Message as KafkaMessage } from "@platformatic/kafka";
import type { Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ConfigError, ShuttingDownError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { resolveFormat } from "../../formats/payload.js";
import { clientOptions, loadKafka } from "./client.js";
import type { KafkaSourceConfig } from "./config.js";
import { classifyKafkaError, isAuthenticationError, recordToInit } from "./mapping.js";

type Record = KafkaMessage<Buffer, Buffer, Buffer, Buffer>;

/** What the source needs of a consumer's stream: a readable of records that can be closed. */
export type RecordStream = Readable & { close(): Promise<void> };

/** What the source needs of a consumer (the real one, or a stand-in in tests). */
export interface ConsumerLike {
  consume(options: ConsumeOptions<Buffer, Buffer, Buffer, Buffer>): Promise<RecordStream>;
  close(force: boolean, callback: (error?: Error | null) => void): void;
}

export type ConsumerFactory = (
  options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>,
) => ConsumerLike | Promise<ConsumerLike>;

const createConsumer: ConsumerFactory = async (options) => {
  const { Consumer } = await loadKafka();
  return new Consumer<Buffer, Buffer, Buffer, Buffer>(options) as unknown as ConsumerLike;
};

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A consumer-group member. Records are stored in batches (per partition, in order); the partition's
 * offset goes into the store in the same commit as the messages (a checkpoint), and is committed to
 * Kafka only after that. A record whose offset the store already has (redelivered after a crash
 * between the two commits) is skipped, so a restart neither loses nor repeats messages. A record
 * the format cannot decode becomes a dead letter with its raw bytes, and its offset is committed.
 */
export class KafkaSource implements Source {
  #consumer: ConsumerLike | undefined;
  #stream: RecordStream | undefined;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #startedOnce = false;

  constructor(
    private readonly config: KafkaSourceConfig,
    private readonly consumerFactory: ConsumerFactory = createConsumer,
  ) {}

  get #batchSize(): number {
    return this.config.batchSize ?? 100;
  }

  async start(context: SourceContext): Promise<void> {
    const who = `kafka source (route ${context.owner})`;
    const options = clientOptions(this.config, who);
    const groupId = this.config.groupId ?? context.owner;
    this.#abort = new AbortController();
    let consumer: ConsumerLike;
    try {
      consumer = await this.consumerFactory({ ...options, groupId });
    } catch (error) {
      throw new ConfigError(`${who}: ${(error as Error).message}`, { cause: error });
    }
    let stream: RecordStream;
    try {
      stream = await consumer.consume({
        topics: this.config.topics,
        mode: "committed",
        fallbackMode: this.config.fromBeginning ? "earliest" : "latest",
        autocommit: false,
        highWaterMark: this.#batchSize * 2,
        maxWaitTime: 1000,
      });
    } catch (error) {
      await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
      const what = `${who} cannot join group ${groupId} on ${options.bootstrapBrokers.join(",")}`;
      // Wrong credentials at the very first start are a configuration problem: fail the engine's start.
      if (!this.#startedOnce && isAuthenticationError(error)) {
        throw new ConfigError(`${what}: the brokers refused the credentials: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw classifyKafkaError(error, what);
    }
    this.#startedOnce = true;
    this.#consumer = consumer;
    this.#stream = stream;
    stream.on("error", (error) => {
      if (this.#abort.signal.aborted) return;
      context.lost(classifyKafkaError(error, `${who}: the consumer failed`));
    });
    context.logger.info(
      { topics: this.config.topics, groupId, brokers: options.bootstrapBrokers },
      "kafka source consuming",
    );
    this.#loop = this.#run(context, stream, groupId).catch((error) => {
      if (!this.#abort.signal.aborted) context.lost(error);
    });
  }

  async #run(context: SourceContext, stream: RecordStream, groupId: string): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const batch = await this.#next(stream);
      if (signal.aborted) return;
      if (batch.length === 0) {
        if (stream.readableEnded || stream.destroyed) {
          context.lost(new Error("the kafka consumer stream ended"));
          return;
        }
        continue;
      }
      await this.#process(context, batch, groupId);
    }
  }

  /** Up to batchSize buffered records; waits for at least one. */
  async #next(stream: RecordStream): Promise<Record[]> {
    const take = () => {
      const out: Record[] = [];
      while (out.length < this.#batchSize) {
        const record = stream.read() as Record | null;
        if (record === null) break;
        out.push(record);
      }
      return out;
    };
    const ready = take();
    if (ready.length > 0 || stream.readableEnded || stream.destroyed) return ready;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off("readable", done);
        stream.off("end", done);
        stream.off("close", done);
        this.#wake = undefined;
        resolve();
      };
      stream.on("readable", done);
      stream.on("end", done);
      stream.on("close", done);
      this.#wake = done;
    });
    return take();
  }

  async #process(context: SourceContext, batch: Record[], groupId: string): Promise<void> {
    const partitions = new Map<string, Record[]>();
    for (const record of batch) {
      const key = `${record.topic}:${record.partition}`;
      const list = partitions.get(key);
      if (list) list.push(record);
      else partitions.set(key, [record]);
    }
    const format =
      resolveFormat(this.config.format, context, `kafka source in route "${context.owner}"`) ?? "json";
    for (const [partitionKey, records] of partitions) {
      const checkpointKey = `kafka:${groupId}:${partitionKey}`;
      const stored = context.checkpoint(checkpointKey);
      const after = stored === undefined ? -1n : BigInt(stored);
      let pending: MessageInit[] = [];
      let pendingOffset: bigint | undefined;
      let storedUpTo = after;
      const flush = async () => {
        if (pendingOffset === undefined) return;
        const stored = await this.#emit(context, pending, checkpointKey, pendingOffset);
        if (!stored) return;
        storedUpTo = pendingOffset;
        pending = [];
        pendingOffset = undefined;
      };
      for (const record of records) {
        if (record.offset <= after) continue; // stored before a crash, not yet committed to Kafka
        const decoded = recordToInit(
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key ?? null,
            value: record.value ?? null,
            headers: record.headers,
          },
          {
            format,
            ...(this.config.system ? { system: this.config.system } : {}),
            ...(this.config.type ? { type: this.config.type } : {}),
          },
        );
        if (decoded.ok) {
          pending.push(decoded.init);
          pendingOffset = record.offset;
          continue;
        }
        await flush();
        if (this.#abort.signal.aborted) return;
        await context.deadLetter(decoded.init, decoded.error);
        // The dead letter's offset is recorded by an empty commit: a redelivery skips it.
        pendingOffset = record.offset;
      }
      await flush();
      // Offsets go to Kafka only now, up to what the store has committed.
      const committable = [...records].reverse().find((record) => record.offset <= storedUpTo);
      if (!committable) continue;
      try {
        await committable.commit();
      } catch (error) {
        // Not fatal: the store has the checkpoint, so a redelivery (after a rebalance) is skipped.
        context.logger.warn({ err: error, partition: partitionKey }, "kafka offset commit failed");
      }
    }
  }

  /** Store messages with the partition's checkpoint; waits while the route is full. False when stopping. */
  async #emit(context: SourceContext, inits: MessageInit[], key: string, offset: bigint): Promise<boolean> {
    const signal = this.#abort.signal;
    for (;;) {
      if (signal.aborted) return false;
      try {
        await context.emit(inits, { checkpoint: { key, value: offset.toString() } });
        return true;
      } catch (error) {
        if (error instanceof ShuttingDownError) return false;
        // The route is full: wait, then offer the same records again (nothing is skipped or committed).
        if (error instanceof BackpressureError) await pause(error.retryAfterMs ?? 1000, signal);
        else throw error;
      }
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    const stream = this.#stream;
    const consumer = this.#consumer;
    this.#stream = undefined;
    this.#consumer = undefined;
    this.#loop = undefined;
    await stream?.close().catch(() => {});
    if (consumer) await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
