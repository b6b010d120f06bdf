import type { Channel, ReturnedMessage } from "rabbitmq-client";
import type { ComponentContext, Sink } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  JunctionError,
  TimeoutError,
} from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { renderHeaders } from "../render-headers.js";
import type { AmqpSinkConfig } from "./config.js";
import { type AmqpConnection, amqpConnection } from "./connection.js";
import { amqpCode, brokerReason, isPermanent, rejectedError } from "./errors.js";
import { publishProperties } from "./headers.js";
import { InFlightLimit } from "./in-flight.js";
import { encodePayload } from "./payload.js";
import { expirationOf, priorityOf } from "./publish-options.js";

const CLOSE_GRACE_MS = 2000;
/** Returns are matched to publishes by message id; this bounds what an odd broker could leave behind. */
const MAX_TRACKED_RETURNS = 10_000;

/**
 * Publishes each message on a confirm channel with `mandatory` and persistent delivery, and resolves
 * only when the broker confirmed it. Publishes are pipelined: up to `maxInFlight` wait for their
 * confirms at once on the one channel. A message the broker returns (no queue bound for its routing
 * key) is a DeliveryRejectedError, so it becomes a dead letter instead of vanishing; a nack, a timeout
 * or a lost connection is a retryable ConnectionError. The message id is the AMQP `messageId`, so
 * consumers can drop the duplicates that retries may cause.
 */
export class AmqpSink implements Sink {
  readonly #connection: AmqpConnection;
  readonly #timeoutMs: number;
  #channel: Promise<Channel> | undefined;
  readonly #returned = new Map<string, ReturnedMessage>();
  readonly #format: PayloadFormat | undefined;
  readonly #limit: InFlightLimit;

  constructor(
    private readonly config: AmqpSinkConfig,
    private readonly context: ComponentContext,
  ) {
    this.#connection = amqpConnection(
      context.connection,
      config.connection,
      `routes.${context.owner}.to.amqp`,
    );
    this.#timeoutMs = parseDuration(config.timeout ?? "30s");
    this.#limit = new InFlightLimit(config.maxInFlight ?? 1000);
    this.#format = resolveFormat(config.format, context, `amqp sink in route "${context.owner}"`);
  }

  async write(message: Message, signal: AbortSignal): Promise<void> {
    const render = (template: string) => this.context.render(template, message.data, message);
    const exchange = await render(this.config.exchange ?? "");
    const routingKey = await render(this.config.routingKey);
    const extra = await renderHeaders(this.config.headers, render);
    const { priority: givenPriority, expiration: givenExpiration } = this.config;
    const where = `amqp sink in route "${this.context.owner}"`;
    // Awaited only when configured: most sinks set neither, and the relay path counts each await.
    const priority = givenPriority === undefined ? undefined : await priorityOf(givenPriority, render, where);
    const expiration =
      givenExpiration === undefined ? undefined : await expirationOf(givenExpiration, render, where);
    const { body, contentType } = this.#format
      ? { body: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message.data, message.datacontenttype);
    const target = `exchange "${exchange || "(default)"}" with routing key "${routingKey}"`;
    const options = { priority, expiration };

    await this.#limit.acquire(signal);
    try {
      await this.#publish(message, signal, {
        exchange,
        routingKey,
        body,
        contentType,
        extra,
        target,
        options,
      });
    } finally {
      this.#limit.release();
    }
  }

  async #publish(
    message: Message,
    signal: AbortSignal,
    out: {
      exchange: string;
      routingKey: string;
      body: Buffer | string;
      contentType: string;
      extra: Record<string, string>;
      target: string;
      options: { priority: number | undefined; expiration: string | undefined };
    },
  ): Promise<void> {
    const { exchange, routingKey, body, contentType, extra, target: where, options } = out;
    const label = this.#connection.label;
    const channel = await this.#confirmChannel();
    this.#returned.delete(message.id);
    try {
      await settle(
        channel.basicPublish(
          {
            exchange,
            routingKey,
            mandatory: this.config.mandatory ?? true,
            durable: this.config.persistent ?? true,
            // Left out of the frame when undefined (rabbitmq-client skips null properties).
            priority: options.priority,
            expiration: options.expiration,
            ...publishProperties(message, contentType, extra),
          },
          body,
        ),
        signal,
        this.#timeoutMs,
        () => `${label}: no confirm for the publish to ${where} within ${this.#timeoutMs} ms`,
      );
    } catch (error) {
      this.#returned.delete(message.id);
      if (error instanceof JunctionError) throw error;
      if (amqpCode(error) === "NACK") {
        throw new ConnectionError(`${label}: the broker refused (nacked) the publish to ${where}`, {
          code: "JUNCTION_AMQP_NACK",
          cause: error,
        });
      }
      // e.g. NOT_FOUND: the exchange does not exist; ACCESS_REFUSED: no permission to publish there.
      if (isPermanent(error)) throw rejectedError(label, error, `publishing to ${where}`);
      throw new ConnectionError(`${label}: publishing to ${where}: ${brokerReason(error)}`, {
        code: "JUNCTION_AMQP_CONNECTION",
        cause: error,
      });
    }
    // The broker sends basic.return before the confirm, but the library emits it on the next
    // turn of the event loop: wait for that turn before deciding.
    await nextTurn();
    const returned = this.#returned.get(message.id);
    if (returned) {
      this.#returned.delete(message.id);
      throw new DeliveryRejectedError(
        `${label}: the broker returned the message: no queue is bound to ${where} (${returned.replyCode} ${returned.replyText})`,
        {
          code: "JUNCTION_AMQP_UNROUTABLE",
          details: { exchange, routingKey, replyCode: returned.replyCode, replyText: returned.replyText },
        },
      );
    }
  }

  /** The sink's confirm channel, opened on first use and again after it closed. */
  async #confirmChannel(): Promise<Channel> {
    const current = this.#channel;
    if (current) {
      const channel = await current.catch(() => undefined);
      if (channel?.active) return channel;
      if (this.#channel === current) this.#channel = undefined;
    }
    this.#channel ??= this.#open();
    try {
      return await this.#channel;
    } catch (error) {
      this.#channel = undefined;
      // A topology refusal after startup is waited out like an outage (the route's retry policy).
      if (error instanceof ConfigError) throw new ConnectionError(error.message, { cause: error });
      throw error;
    }
  }

  async #open(): Promise<Channel> {
    const channel = await this.#connection.channel();
    channel.on("basic.return", (returned: ReturnedMessage) => {
      if (!returned.messageId) return;
      if (this.#returned.size >= MAX_TRACKED_RETURNS) this.#returned.clear();
      this.#returned.set(returned.messageId, returned);
    });
    try {
      await channel.confirmSelect();
    } catch (error) {
      channel.close().catch(() => {});
      throw new ConnectionError(
        `${this.#connection.label}: enabling publisher confirms: ${brokerReason(error)}`,
        {
          code: "JUNCTION_AMQP_CONNECTION",
          cause: error,
        },
      );
    }
    return channel;
  }

  async close(): Promise<void> {
    const opening = this.#channel;
    this.#channel = undefined;
    const channel = await opening?.catch(() => undefined);
    if (!channel) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      channel.close().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
  }
}

let turn: Promise<void> | undefined;

/** The next turn of the event loop, one setImmediate shared by every publish confirmed in this one. */
function nextTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  );
  return turn;
}

/** Wait for the broker's confirm, the caller's signal or the timeout, whichever comes first. */
function settle(
  publish: Promise<void>,
  signal: AbortSignal,
  timeoutMs: number,
  timeoutMessage: () => string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () =>
      finish(
        signal.reason instanceof Error
          ? signal.reason
          : new TimeoutError("the publish was abandoned before the broker confirmed it"),
      );
    const timer = setTimeout(
      () => finish(new TimeoutError(timeoutMessage(), { code: "JUNCTION_AMQP_CONFIRM_TIMEOUT" })),
      timeoutMs,
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    publish.then(
      () => finish(),
      (error) => finish(error ?? new Error("publish failed")),
    );
  });
}
