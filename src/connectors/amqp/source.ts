import type { AsyncMessage, Channel } from "rabbitmq-client";
import type { ComponentContext, Source, SourceContext } from "../../api/component.js";
import {
  BackpressureError,
  ConfigError,
  ConnectionError,
  ShuttingDownError,
  ValidationError,
} from "../../api/errors.js";
import { type MessageInit, withPayload } from "../../api/message.js";
import { parseSize } from "../../config/schema-types.js";
import { decodeFormatted, type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import type { AmqpSourceConfig } from "./config.js";
import { type AmqpConnection, amqpConnection } from "./connection.js";
import { brokerReason, connectionError } from "./errors.js";
import { envelopeFromDelivery } from "./headers.js";
import { decodePayload, mediaType, previewBase64 } from "./payload.js";

const STOP_GRACE_MS = 2000;
const PUMP_GRACE_MS = 10_000;
const PREVIEW_BYTES = 64 * 1024;

interface Delivery {
  /** The channel it came on: acknowledgements go there and nowhere else (tags are per channel). */
  channel: Channel;
  message: AsyncMessage;
}

type Decoded =
  | { kind: "ok"; init: MessageInit }
  | { kind: "undecodable" | "oversized"; init: MessageInit; error: ValidationError };

/**
 * Consumes one queue. Deliveries are taken in arrival order and stored in batches (everything that
 * arrived while the previous batch was being committed); each delivery is acknowledged only after
 * its batch is durably stored. A delivery that cannot become a message is dead-lettered first and
 * then settled, so the broker never offers it again. When the channel or the connection goes, the
 * source reports `lost()` and the engine restarts it: acknowledgements still pending for the old
 * channel are dropped (the broker redelivers those messages; duplicates are possible, loss is not).
 */
export class AmqpSource implements Source {
  readonly #connection: AmqpConnection;
  readonly #maxBytes: number;
  readonly #label: string;
  readonly #format: PayloadFormat | undefined;
  readonly #source: string;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #pending: Delivery[] = [];
  /** Channels with deliveries left unacknowledged behind later ones: no `multiple` acks there. */
  readonly #gaps = new WeakSet<Channel>();
  #wake: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #abort = new AbortController();
  #running = false;
  #stopping = false;
  /**
   * Only the engine's first start may fail with a ConfigError (the engine then refuses to start);
   * the supervisor's later attempts get a retryable error instead.
   */
  #firstStart = true;

  constructor(
    private readonly config: AmqpSourceConfig,
    context: ComponentContext,
  ) {
    this.#connection = amqpConnection(
      context.connection,
      config.connection,
      `routes.${context.owner}.from.amqp`,
    );
    this.#maxBytes = parseSize(config.maxMessageSize ?? "1mb");
    this.#label = `${this.#connection.label} (queue "${config.queue}")`;
    this.#format = resolveFormat(config.format, context, `amqp source in route "${context.owner}"`);
    this.#source = config.system ?? `amqp://${config.connection}/${config.queue}`;
  }

  async start(context: SourceContext): Promise<void> {
    const first = this.#firstStart;
    this.#firstStart = false;
    this.#stopping = false;
    this.#running = false;
    this.#pending = [];
    this.#abort = new AbortController();
    if (context.signal.aborted) throw new ShuttingDownError();
    const abort = this.#abort;
    const onAbort = () => abort.abort();
    context.signal.addEventListener("abort", onAbort, { once: true });
    abort.signal.addEventListener("abort", () => context.signal.removeEventListener("abort", onAbort), {
      once: true,
    });
    let channel: Channel | undefined;
    try {
      channel = await this.#connection.channel();
      const current = channel;
      this.#channel = current;
      let reason: unknown;
      current.on("error", (error) => {
        reason = error;
      });
      current.on("close", () => this.#closed(context, current, reason ?? "the channel closed"));
      current.on("basic.cancel", () =>
        this.#closed(context, current, "the broker cancelled the consumer (was the queue deleted?)"),
      );
      await current.basicQos({ prefetchCount: this.config.prefetch ?? 50 });
      const ok = await current
        .basicConsume({ queue: this.config.queue, noAck: false }, (message) =>
          this.#deliver(current, message),
        )
        .catch((error) => {
          throw connectionError(this.#connection.label, error, `consuming queue "${this.config.queue}"`);
        });
      if (!current.active) throw new ConnectionError(`${this.#label}: the channel closed while starting`);
      this.#consumerTag = ok.consumerTag;
    } catch (error) {
      this.#channel = undefined;
      this.#abort.abort();
      channel?.close().catch(() => {});
      if (error instanceof ConfigError && !first) {
        throw new ConnectionError(error.message, { cause: error, code: "JUNCTION_AMQP_CONNECTION" });
      }
      throw connectionError(this.#connection.label, error);
    }
    this.#running = true;
    this.#pump = this.#run(context);
    context.logger.info(
      { queue: this.config.queue, prefetch: this.config.prefetch ?? 50 },
      `${this.#label}: consuming`,
    );
  }

  #deliver(channel: Channel, message: AsyncMessage): void {
    if (this.#stopping || channel !== this.#channel) return; // not acknowledged: the broker redelivers it
    this.#pending.push({ channel, message });
    this.#wake?.();
  }

  #closed(context: SourceContext, channel: Channel, reason: unknown): void {
    if (!this.#running || this.#stopping || channel !== this.#channel) return;
    this.#running = false;
    context.lost(
      new ConnectionError(`${this.#label}: the consumer lost its channel: ${brokerReason(reason)}`, {
        code: "JUNCTION_AMQP_CONNECTION",
        cause: reason,
      }),
    );
  }

  async #run(context: SourceContext): Promise<void> {
    while (!this.#stopping) {
      if (this.#pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const batch = this.#pending.splice(0, this.#pending.length);
      try {
        await this.#process(context, batch);
      } catch (error) {
        if (this.#stopping) return;
        // The store failed: let the engine restart the source with backoff; unacknowledged
        // deliveries go back to the queue when the channel closes.
        this.#running = false;
        context.lost(error);
        return;
      }
    }
  }

  async #process(context: SourceContext, batch: Delivery[]): Promise<void> {
    const good: { delivery: Delivery; init: MessageInit }[] = [];
    for (const delivery of batch) {
      const decoded = this.#decode(delivery.message);
      if (decoded.kind === "ok") {
        good.push({ delivery, init: decoded.init });
        continue;
      }
      await context.deadLetter(decoded.init, decoded.error);
      context.logger.warn(
        { queue: this.config.queue, code: decoded.error.code, reason: decoded.error.message },
        "delivery dead-lettered",
      );
      // Oversized: rejected without requeue, so a dead-letter exchange on the queue keeps it whole.
      this.#settle(delivery, decoded.kind === "oversized" ? "reject" : "ack");
    }
    if (good.length === 0) return;
    for (;;) {
      if (this.#stopping) return;
      try {
        await context.emit(good.map((entry) => entry.init));
        break;
      } catch (error) {
        if (error instanceof ShuttingDownError) {
          // Not acknowledged: redelivered later. Later batches must not ack these with `multiple`.
          for (const entry of good) this.#gaps.add(entry.delivery.channel);
          return;
        }
        if (error instanceof BackpressureError) {
          // The route is full: hold these deliveries (prefetch stops the broker) and offer them again.
          await pause(error.retryAfterMs ?? 1000, this.#abort.signal);
          continue;
        }
        throw error;
      }
    }
    this.#ackStored(good.map((entry) => entry.delivery));
  }

  /**
   * One `basic.ack` with `multiple` per channel for a stored batch, instead of one per delivery.
   * Batches are stored one after the other in delivery order, and deliveries dead-lettered on the
   * way were settled on their own, so every delivery up to the batch's highest tag is settled;
   * on a channel where a batch was left unacknowledged, each delivery is acknowledged on its own.
   */
  #ackStored(deliveries: Delivery[]): void {
    const highest = new Map<Channel, number>();
    for (const delivery of deliveries) {
      const { channel, message } = delivery;
      if (this.#gaps.has(channel)) this.#settle(delivery, "ack");
      else if (message.deliveryTag > (highest.get(channel) ?? 0)) highest.set(channel, message.deliveryTag);
    }
    for (const [channel, deliveryTag] of highest) {
      if (!channel.active) continue; // the broker redelivers them
      try {
        channel.basicAck({ deliveryTag, multiple: true });
      } catch {
        // The channel closed in between: the deliveries are redelivered, never lost.
      }
    }
  }

  /** Acknowledge on the delivery's own channel; a closed channel means the broker will redeliver. */
  #settle(delivery: Delivery, how: "ack" | "reject"): void {
    const { channel, message } = delivery;
    if (!channel.active) return;
    try {
      if (how === "ack") channel.basicAck({ deliveryTag: message.deliveryTag });
      else channel.basicNack({ deliveryTag: message.deliveryTag, requeue: false });
    } catch {
      // The channel closed in between: the delivery is redelivered, never lost.
    }
  }

  #decode(message: AsyncMessage): Decoded {
    const envelope = envelopeFromDelivery(message, { source: this.#source });
    const body: unknown = message.body;
    // rabbitmq-client already parsed `application/json` and decoded `text/plain` bodies.
    if (!Buffer.isBuffer(body) && typeof body !== "string" && !this.#format) {
      const text = JSON.stringify(body ?? null);
      const size = Buffer.byteLength(text, "utf8");
      if (size > this.#maxBytes) return this.#oversized(envelope, Buffer.from(text, "utf8"), message);
      return { kind: "ok", init: withPayload(envelope, body, "application/json") };
    }
    const bytes = Buffer.isBuffer(body)
      ? body
      : Buffer.from(typeof body === "string" ? body : JSON.stringify(body ?? null), "utf8");
    if (bytes.length > this.#maxBytes) return this.#oversized(envelope, bytes, message);
    const fallback = this.config.contentType ?? "application/octet-stream";
    const encoding = message.contentEncoding?.toLowerCase();
    if (encoding && encoding !== "identity") {
      // Compressed or otherwise encoded: passed on as bytes, with the encoding as a header.
      return {
        kind: "ok",
        init: {
          ...envelope,
          headers: {
            ...envelope.headers,
            "content-encoding": message.contentEncoding!,
            ...(message.contentType ? { "original-content-type": message.contentType } : {}),
          },
          data: bytes.toString("base64"),
          datacontenttype: "application/octet-stream",
        },
      };
    }
    const decoded = this.#format
      ? decodeFormatted(this.#format, bytes)
      : decodePayload(bytes, message.contentType, fallback);
    if (decoded.ok) {
      return { kind: "ok", init: withPayload(envelope, decoded.data, decoded.datacontenttype) };
    }
    const type = mediaType(message.contentType) ?? fallback;
    return {
      kind: "undecodable",
      init: {
        ...envelope,
        headers: { ...envelope.headers, "original-content-type": type },
        data: bytes.toString("base64"),
        datacontenttype: "application/octet-stream",
      },
      error: new ValidationError(`${this.#label}: ${decoded.reason}`, {
        code: "JUNCTION_AMQP_UNDECODABLE",
        details: { queue: this.config.queue, contentType: type, bytes: bytes.length },
      }),
    };
  }

  #oversized(envelope: Omit<MessageInit, "data">, bytes: Buffer, message: AsyncMessage): Decoded {
    const kept = Math.min(bytes.length, PREVIEW_BYTES);
    return {
      kind: "oversized",
      init: {
        ...envelope,
        headers: {
          ...envelope.headers,
          ...(message.contentType ? { "original-content-type": message.contentType } : {}),
          "truncated-to": String(kept),
        },
        data: previewBase64(bytes, PREVIEW_BYTES),
        datacontenttype: "application/octet-stream",
      },
      error: new ValidationError(
        `${this.#label}: the payload is ${bytes.length} bytes, over maxMessageSize (${this.#maxBytes} bytes); the dead letter keeps its first ${kept} bytes and the broker got a reject without requeue`,
        {
          code: "JUNCTION_AMQP_TOO_LARGE",
          details: { queue: this.config.queue, bytes: bytes.length, maxBytes: this.#maxBytes },
        },
      ),
    };
  }

  /** Stop intake: cancel the consumer, let the batch being stored finish, close the channel. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    const channel = this.#channel;
    if (channel?.active && this.#consumerTag) {
      await within(
        channel.basicCancel(this.#consumerTag).catch(() => undefined),
        STOP_GRACE_MS,
      );
    }
    // The batch being stored normally finishes in milliseconds; a stuck store must not hang shutdown.
    if (this.#pump) await within(this.#pump, PUMP_GRACE_MS);
    this.#pump = undefined;
    // Deliveries not yet stored stay unacknowledged: closing the channel gives them back to the queue.
    this.#pending = [];
    this.#channel = undefined;
    this.#consumerTag = undefined;
    if (channel)
      await within(
        channel.close().catch(() => undefined),
        STOP_GRACE_MS,
      );
  }
}

/** Resolves after `ms`, or at once when the signal aborts; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Wait for a promise at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
