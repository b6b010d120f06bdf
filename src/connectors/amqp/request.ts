import { randomUUID } from "node:crypto";
import type { AsyncMessage, Channel, ReturnedMessage } from "rabbitmq-client";
import type { ComponentContext, Requester } from "../../api/component.js";
import { ConnectionError, DeliveryRejectedError, JunctionError, TimeoutError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { renderHeaders } from "../render-headers.js";
import { interruptedError, Reopenable, ReplyWaiter } from "../reply-waiter.js";
import type { AmqpRequestConfig } from "./config.js";
import { type AmqpConnection, amqpConnection } from "./connection.js";
import { brokerReason } from "./errors.js";
import { publishProperties } from "./headers.js";
import { decodePayload, encodePayload } from "./payload.js";

/** RabbitMQ's pseudo-queue for direct replies: no reply queue to declare or clean up. */
const DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";

/** The channel that consumes direct replies, and the requests waiting on it. */
interface ReplySession {
  channel: Channel;
  replies: ReplyWaiter<AsyncMessage>;
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
  readonly #session = new Reopenable<ReplySession>(
    () => this.#openSession(),
    (session) => session.channel.active,
  );

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
    const extra = {
      "correlation-id": message.correlationId,
      ...(await renderHeaders(this.config.headers, render)),
    };
    const { body, contentType } = this.#format
      ? { body: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message.data, message.datacontenttype);
    const where = `${this.#connection.label}: request to exchange "${exchange || "(default)"}" with routing key "${routingKey}"`;

    const session = await this.#session.get();
    const correlationId = randomUUID();
    // The property carries the request's own id; the message's went into the `correlation-id` header.
    const { correlationId: _messageCorrelation, ...properties } = publishProperties(
      message,
      contentType,
      extra,
    );
    const publish = () =>
      session.channel
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
    const reply = await session.replies.wait(correlationId, publish, {
      timeoutMs: this.#timeoutMs,
      signal,
      timedOut: () =>
        new TimeoutError(`${where}: no reply within ${this.#timeoutMs} ms`, {
          code: "JUNCTION_AMQP_REPLY_TIMEOUT",
        }),
      interrupted: () => interruptedError(where, signal, "JUNCTION_AMQP_INTERRUPTED"),
    });
    return this.#decode(reply, where);
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

  async #openSession(): Promise<ReplySession> {
    const channel = await this.#connection.channel();
    const replies = new ReplyWaiter<AsyncMessage>();
    channel.on("basic.return", (returned: ReturnedMessage) => {
      if (!returned.correlationId) return;
      replies.fail(
        returned.correlationId,
        new ConnectionError(
          `${this.#connection.label}: the broker returned the request: no queue is bound to exchange "${returned.exchange || "(default)"}" with routing key "${returned.routingKey}" (${returned.replyCode} ${returned.replyText})`,
          { code: "JUNCTION_AMQP_NO_RESPONDER" },
        ),
      );
    });
    channel.on("close", () =>
      replies.failAll(
        new ConnectionError(
          `${this.#connection.label}: the channel closed while a request waited for its reply`,
          {
            code: "JUNCTION_AMQP_CONNECTION",
          },
        ),
      ),
    );
    try {
      // Direct reply-to: consume the pseudo-queue, without acks, before the first publish names it.
      await channel.basicConsume({ queue: DIRECT_REPLY_TO, noAck: true }, (reply: AsyncMessage) => {
        if (reply.correlationId) replies.deliver(reply.correlationId, reply);
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
    return { channel, replies };
  }

  async close(): Promise<void> {
    const session = await this.#session.take();
    await session?.channel.close().catch(() => {});
  }
}
