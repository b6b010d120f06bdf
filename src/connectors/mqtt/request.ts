import { randomBytes, randomUUID } from "node:crypto";
import type { IClientPublishOptions, IPublishPacket } from "mqtt";
import type { ComponentContext, Requester } from "../../api/component.js";
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
import { decodePayload, encodePayload } from "../amqp/payload.js";
import { renderHeaders } from "../render-headers.js";
import { interruptedError, Reopenable, ReplyWaiter } from "../reply-waiter.js";
import type { MqttRequestConfig } from "./config.js";
import { type MqttConnection, mqttConnection, mqttReason, type OpenClient } from "./connection.js";
import { publishError } from "./publish-error.js";
import { publishableTopic } from "./topic.js";
import { envelopeUserProperties } from "./user-properties.js";

interface Reply {
  payload: Buffer;
  packet: IPublishPacket;
}

/** The client that publishes requests and receives their replies on its own reply topic. */
interface ReplySession {
  open: OpenClient;
  replyTopic: string;
  replies: ReplyWaiter<Reply>;
}

/**
 * MQTT 5 request-response: publishes the data with a `responseTopic` (this requester's own reply
 * topic) and a `correlationData` of its own, and returns the decoded reply the service publishes
 * there with the same correlation data. The client is the requester's own (clean session), not the
 * sinks' publisher, so replies reach no one else. MQTT says nothing when no one subscribes to the
 * request topic: that, like a service that does not answer, is a TimeoutError (retryable). A
 * connection that closes fails the requests waiting on it, retryably. The message's correlation
 * id travels in the `correlation-id` user property.
 */
export class MqttRequester implements Requester {
  readonly #connection: MqttConnection;
  readonly #timeoutMs: number;
  readonly #format: PayloadFormat | undefined;
  readonly #session = new Reopenable<ReplySession>(
    () => this.#openSession(),
    (session) => session.open.client.connected,
  );

  constructor(
    private readonly config: MqttRequestConfig,
    private readonly context: ComponentContext,
  ) {
    const where = `routes.${context.owner}: request mqtt`;
    this.#connection = mqttConnection(context.connection, config.connection, where);
    if (this.#connection.protocolVersion !== 5) {
      throw new ConfigError(
        `${where}: a request needs MQTT 5 (response topic and correlation data); connection "${config.connection}" uses 3.1.1 (protocolVersion: 4)`,
      );
    }
    this.#timeoutMs = parseDuration(config.timeout ?? "5s");
    this.#format = resolveFormat(config.format, context, `mqtt request in route "${context.owner}"`);
  }

  async request(message: Message, signal: AbortSignal): Promise<unknown> {
    const render = (template: string) => this.context.render(template, message.data, message);
    const label = this.#connection.label;
    const topic = publishableTopic(await render(this.config.topic), label, "send a request to");
    const { body, contentType } = this.#format
      ? { body: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message.data, message.datacontenttype);
    const extra = await renderHeaders(this.config.headers, render);
    const where = `${label}: request to "${topic}"`;

    const session = await this.#session.get();
    const correlation = randomUUID();
    const options: IClientPublishOptions = {
      qos: this.config.qos ?? 1,
      properties: {
        contentType,
        responseTopic: session.replyTopic,
        correlationData: Buffer.from(correlation, "utf8"),
        userProperties: envelopeUserProperties(message, {
          "correlation-id": message.correlationId,
          ...extra,
        }),
      },
    };
    const publish = () =>
      session.open.client.publishAsync(topic, body, options).catch((error) => {
        throw publishError(error, label, topic);
      });
    const reply = await session.replies.wait(correlation, publish, {
      timeoutMs: this.#timeoutMs,
      signal,
      timedOut: () =>
        new TimeoutError(`${where}: no reply within ${this.#timeoutMs} ms (is anything subscribed to it?)`, {
          code: "JUNCTION_MQTT_REPLY_TIMEOUT",
        }),
      interrupted: () => interruptedError(where, signal, "JUNCTION_MQTT_INTERRUPTED"),
    });
    return this.#decode(reply, where);
  }

  #decode({ payload, packet }: Reply, where: string): unknown {
    if (this.#format) return this.#format.decode(payload);
    if (payload.length === 0) return null;
    const decoded = decodePayload(payload, packet.properties?.contentType, "application/json");
    if (decoded.ok) return decoded.data;
    throw new DeliveryRejectedError(`${where}: the reply cannot be read: ${decoded.reason}`, {
      code: "JUNCTION_MQTT_BAD_REPLY",
    });
  }

  /** The requester's own client, subscribed to its reply topic. */
  async #openSession(): Promise<ReplySession> {
    const clientId = `${this.#connection.config.clientId ?? "junction"}-req-${randomBytes(4).toString("hex")}`;
    const replyTopic = this.config.replyTopic ?? `junction/replies/${clientId}`;
    const replies = new ReplyWaiter<Reply>();
    const deliver = (packet: IPublishPacket, payload: Buffer) => {
      const correlation = packet.properties?.correlationData?.toString("utf8");
      if (correlation) replies.deliver(correlation, { payload, packet });
    };
    const open = await this.#connection.open({
      clientId,
      clean: true,
      onPublish: (_topic, payload, packet, acknowledge) => {
        acknowledge();
        deliver(packet, payload);
      },
      onQos0: (_topic, payload, packet) => deliver(packet, payload),
    });
    open.closed.catch((error: Error) => replies.failAll(error));
    try {
      await open.client.subscribeAsync(replyTopic, { qos: 1 });
    } catch (error) {
      await this.#connection.end(open.client);
      throw error instanceof JunctionError
        ? error
        : new ConnectionError(
            `${this.#connection.label}: subscribing to the reply topic ${replyTopic}: ${mqttReason(error)}`,
            {
              code: "JUNCTION_MQTT_CONNECTION",
              cause: error,
            },
          );
    }
    return { open, replyTopic, replies };
  }

  async close(): Promise<void> {
    const session = await this.#session.take();
    if (session) await this.#connection.end(session.open.client);
  }
}
