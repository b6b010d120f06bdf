import type { Producer } from "@platformatic/kafka";
import type { ComponentContext, Sink } from "../../api/component.js";
import { ConfigError, ConnectionError, JunctionError, ValidationError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { resolveFormat } from "../../formats/payload.js";
import { clientOptions, loadKafka } from "./client.js";
import type { KafkaSinkConfig } from "./config.js";
import { classifyKafkaError, type KafkaFormat, messageToRecord } from "./mapping.js";

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Writes each message as one record and resolves when the brokers acknowledged it (all in-sync
 * replicas with the idempotent producer). Topic, key and extra headers are templates.
 */
export class KafkaSink implements Sink {
  readonly #options: ReturnType<typeof clientOptions>;
  #producer: Promise<Producer<Buffer, Buffer, Buffer, Buffer>> | undefined;
  readonly #who: string;
  readonly #format: KafkaFormat;

  constructor(
    private readonly config: KafkaSinkConfig,
    private readonly context: ComponentContext,
  ) {
    this.#who = `kafka sink (route ${context.owner})`;
    this.#format = resolveFormat(config.format, context, this.#who) ?? "json";
    // Options are checked here (bad brokers fail the start); the producer is created on the first
    // write, once the client library is loaded (it connects lazily in any case).
    try {
      this.#options = clientOptions(config, this.#who);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(`${this.#who}: ${(error as Error).message}`, { cause: error });
    }
  }

  #connect(): Promise<Producer<Buffer, Buffer, Buffer, Buffer>> {
    this.#producer ??= loadKafka().then(({ Producer }) => {
      try {
        return new Producer<Buffer, Buffer, Buffer, Buffer>({
          ...this.#options,
          idempotent: this.config.idempotent ?? true,
          acks: -1,
          autocreateTopics: false,
        });
      } catch (error) {
        throw new ConfigError(`${this.#who}: ${(error as Error).message}`, { cause: error });
      }
    });
    return this.#producer;
  }

  async write(message: Message, signal: AbortSignal): Promise<void> {
    const { context, config } = this;
    const topic = await context.render(config.topic, message.data, message);
    if (!TOPIC.test(topic)) {
      throw new ValidationError(`"${topic}" is not a valid Kafka topic name`, {
        code: "JUNCTION_KAFKA_TOPIC",
      });
    }
    const key =
      config.key !== undefined ? await context.render(config.key, message.data, message) : message.subject;
    const headers: Record<string, string> = {};
    for (const [name, template] of Object.entries(config.headers ?? {})) {
      headers[name] = await context.render(template, message.data, message);
    }
    const record = messageToRecord(
      message,
      { topic, ...(key !== undefined ? { key } : {}), headers },
      { format: this.#format, forwardHeaders: config.forwardHeaders ?? true },
    );
    if (signal.aborted) throw new ConnectionError(`${this.#who}: aborted before sending`);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(new ConnectionError(`${this.#who}: aborted while waiting for the brokers`));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const producer = await Promise.race([this.#connect(), aborted]);
      await Promise.race([producer.send({ messages: [record] }), aborted]);
    } catch (error) {
      if (error instanceof JunctionError) throw error;
      throw classifyKafkaError(error, `${this.#who}: cannot write to ${topic}`);
    } finally {
      signal.removeEventListener("abort", onAbort!);
      aborted.catch(() => {});
    }
  }

  async close(): Promise<void> {
    const producer = await this.#producer?.catch(() => undefined);
    if (!producer) return;
    // Force: do not wait for requests that may never be answered (the brokers are down).
    await new Promise<void>((resolve) => producer.close(true, () => resolve()));
  }
}
