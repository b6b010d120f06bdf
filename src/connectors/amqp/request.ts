import { randomUUID } from "node:crypto";
import type { AsyncMessage, Channel, ReturnedMessage } from "rabbitmq-client";
import type { ComponentContext, Requester } from "../../api/component.js";
import { ConnectionError, DeliveryRejectedError, JunctionError, TimeoutError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import type { AmqpRequestConfig } from "./config.js";
import { type AmqpConnection, amqpConnection } from "./connection.js";
import { brokerReason } from "./errors.js";
import { publishProperties } from "./headers.js";
import { decodePayload, encodePayload } from "./payload.js";

/** RabbitMQ's pseudo-queue for direct replies: no reply queue to declare or clean up. */
const DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";

interface Pending {
  resolve(reply: AsyncMessage): void;
  reject(error: Error): void;
}

/** The channel that consumes direct replies, and the requests waiting on it by correlation id. */
interface ReplySession {
  channel: Channel;
  pending: Map<string, Pending>;
}

/**
 * AMQP request-reply over RabbitMQ's direct reply-to: publishes the data with `replyTo:
 * amq.rabbitmq.reply-to` and a correlation id of its own, and returns the decoded reply (by its
 * content type, or the configured format). The request expires in the broker when its time is up,
 * so a service that starts late never answers a caller that gave up. A request no queue takes is
 * returned by the broker and fails at once, retryably (the service may not be deployed yet); no
 * reply in time is a TimeoutError; a lost connection fails every request waiting on it, retryably.
 * The message's own correlation id travels in the `correlation-id` header, since the property
 * carries the request's.
 */
export class AmqpRequester implements Requester {
  readonly #connection: AmqpConnection;
  readonly #timeoutMs: number;
  readonly #format: PayloadFormat | undefined;
  #session: Promise<ReplySession> | undefined;

  constructor(
    private readonly config: AmqpRequestConfig,
    private readonly context: ComponentContext,
  ) {
    this.#connection = amqpConnection(
      context.connection,
      config.connection,
      `routes.${context.owner}: request amqp`,
    );
    this.#timeoutMs = parseDuration(config.timeout ?? "5s");
    this.#format = resolveFormat(config.format, context, `amqp request in route "${context.owner}"`);
  }

  async request(message: Message, signal: AbortSignal): Promise<unknown> {
    const render = (template: string) => this.context.render(template, message.data, message);
    const exchange = await render(this.config.exchange ?? "");
    const routingKey = await render(this.config.routingKey);
    const extra: Record<string, string> = { "correlation-id": message.correlationId };
    for (const [name, template] of Object.entries(this.config.headers ?? {}))
      extra[name] = await render(template);
    const { body, contentType } = this.#format
      ? { body: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message.data, message.datacontenttype);
    const where = `${this.#connection.label}: request to exchange "${exchange || "(default)"}" with routing key "${routingKey}"`;

    const session = await this.#replySession();
    const correlationId = randomUUID();
    const reply = new Promise<AsyncMessage>((resolve, reject) =>
      session.pending.set(correlationId, { resolve, reject }),
    );
    // It may fail (time out, be returned) while the publish is still being written: handled below.
    reply.catch(() => {});
    // The property carries the request's own id; the message's went into the `correlation-id` header.
    const { correlationId: _messageCorrelation, ...properties } = publishProperties(
      message,
      contentType,
      extra,
    );
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => session.pending.get(correlationId)?.reject(interrupted(where, signal));
    try {
      if (signal.aborted) throw interrupted(where, signal);
      signal.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(
        () =>
          session.pending.get(correlationId)?.reject(
            new TimeoutError(`${where}: no reply within ${this.#timeoutMs} ms`, {
              code: "JUNCTION_AMQP_REPLY_TIMEOUT",
            }),
          ),
        this.#timeoutMs,
      );
      await session.channel
        .basicPublish(
          {
            exchange,
            routingKey,
            mandatory: true,
            replyTo: DIRECT_REPLY_TO,
            correlationId,
            expiration: String(this.#timeoutMs),
            ...properties,
          },
          body,
        )
        .catch((error) => {
          throw new ConnectionError(`${where}: ${brokerReason(error)}`, {
            code: "JUNCTION_AMQP_CONNECTION",
            cause: error,
          });
        });
      return this.#decode(await reply, where);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      session.pending.delete(correlationId);
    }
  }

  #decode(reply: AsyncMessage, where: string): unknown {
    const bytes = Buffer.isBuffer(reply.body)
      ? reply.body
      : typeof reply.body === "string"
        ? Buffer.from(reply.body, "utf8")
        : undefined;
    // rabbitmq-client parses a JSON reply itself; anything else arrives as bytes.
    if (bytes === undefined) return reply.body ?? null;
    if (this.#format) return this.#format.decode(bytes);
    if (bytes.length === 0) return null;
    const decoded = decodePayload(bytes, reply.contentType, "application/json");
    if (decoded.ok) return decoded.data;
    throw new DeliveryRejectedError(`${where}: the reply cannot be read: ${decoded.reason}`, {
      code: "JUNCTION_AMQP_BAD_REPLY",
    });
  }

  /** The channel consuming direct replies, opened on first use and again after it closed. */
  async #replySession(): Promise<ReplySession> {
    const current = this.#session;
    if (current) {
      const session = await current.catch(() => undefined);
      if (session?.channel.active) return session;
      if (this.#session === current) this.#session = undefined;
    }
    this.#session ??= this.#openSession();
    try {
      return await this.#session;
    } catch (error) {
      this.#session = undefined;
      throw error;
    }
  }

  async #openSession(): Promise<ReplySession> {
    const channel = await this.#connection.channel();
    const pending = new Map<string, Pending>();
    const session = { channel, pending };
    channel.on("basic.return", (returned: ReturnedMessage) => {
      const waiting = returned.correlationId ? pending.get(returned.correlationId) : undefined;
      waiting?.reject(
        new ConnectionError(
          `${this.#connection.label}: the broker returned the request: no queue is bound to exchange "${returned.exchange || "(default)"}" with routing key "${returned.routingKey}" (${returned.replyCode} ${returned.replyText})`,
          { code: "JUNCTION_AMQP_NO_RESPONDER" },
        ),
      );
    });
    channel.on("close", () => {
      for (const waiting of pending.values())
        waiting.reject(
          new ConnectionError(
            `${this.#connection.label}: the channel closed while a request waited for its reply`,
            {
              code: "JUNCTION_AMQP_CONNECTION",
            },
          ),
        );
    });
    try {
      // Direct reply-to: consume the pseudo-queue, without acks, before the first publish names it.
      await channel.basicConsume({ queue: DIRECT_REPLY_TO, noAck: true }, (reply: AsyncMessage) => {
        if (reply.correlationId) pending.get(reply.correlationId)?.resolve(reply);
      });
    } catch (error) {
      channel.close().catch(() => {});
      throw error instanceof JunctionError
        ? error
        : new ConnectionError(`${this.#connection.label}: consuming direct replies: ${brokerReason(error)}`, {
            code: "JUNCTION_AMQP_CONNECTION",
            cause: error,
          });
    }
    return session;
  }

  async close(): Promise<void> {
    const opening = this.#session;
    this.#session = undefined;
    const session = await opening?.catch(() => undefined);
    await session?.channel.close().catch(() => {});
  }
}

function interrupted(where: string, signal: AbortSignal): Error {
  return signal.reason instanceof JunctionError
    ? signal.reason
    : new ConnectionError(`${where}: interrupted before the reply came`, {
        code: "JUNCTION_AMQP_INTERRUPTED",
      });
}
