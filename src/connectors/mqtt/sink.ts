import type { IClientPublishOptions } from "mqtt";
import type { ComponentContext, Sink } from "../../api/component.js";
import { TimeoutError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { encodePayload } from "../amqp/payload.js";
import { renderHeaders } from "../render-headers.js";
import type { MqttSinkConfig } from "./config.js";
import { type MqttConnection, mqttConnection } from "./connection.js";
import { publishError } from "./publish-error.js";
import { publishableTopic } from "./topic.js";
import { envelopeUserProperties } from "./user-properties.js";

/**
 * Publishes each message on the connection's shared client and resolves when the broker
 * acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2). MQTT 5 carries the correlation id as
 * `correlationData`, the content type as `contentType`, and trace context, CloudEvents attributes
 * and headers as user properties; MQTT 3.1.1 carries the payload only.
 */
export class MqttSink implements Sink {
  readonly #connection: MqttConnection;
  readonly #timeoutMs: number;
  readonly #format: PayloadFormat | undefined;

  constructor(
    private readonly config: MqttSinkConfig,
    private readonly context: ComponentContext,
  ) {
    this.#connection = mqttConnection(
      context.connection,
      config.connection,
      `routes.${context.owner}.to.mqtt`,
    );
    this.#timeoutMs = parseDuration(config.timeout ?? "30s");
    this.#format = resolveFormat(config.format, context, `mqtt sink in route "${context.owner}"`);
  }

  async write(message: Message, signal: AbortSignal): Promise<void> {
    const render = (template: string) => this.context.render(template, message.data, message);
    const label = this.#connection.label;
    const topic = publishableTopic(await render(this.config.topic), label, "publish to");
    const { body, contentType } = this.#format
      ? { body: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message.data, message.datacontenttype);
    const options: IClientPublishOptions = { qos: this.config.qos ?? 1, retain: this.config.retain ?? false };
    if (this.#connection.protocolVersion === 5) {
      options.properties = {
        contentType,
        correlationData: Buffer.from(message.correlationId, "utf8"),
        userProperties: envelopeUserProperties(message, await renderHeaders(this.config.headers, render)),
      };
    }

    const open = await this.#connection.publisher();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        open.client.publishAsync(topic, body, options),
        open.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new TimeoutError(
                  `${label}: no acknowledgement for the publish to "${topic}" within ${this.#timeoutMs} ms`,
                  {
                    code: "JUNCTION_MQTT_ACK_TIMEOUT",
                  },
                ),
              ),
            this.#timeoutMs,
          );
          onAbort = () =>
            reject(
              signal.reason instanceof Error
                ? signal.reason
                : new TimeoutError("the publish was abandoned before the broker acknowledged it"),
            );
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } catch (error) {
      throw publishError(error, label, topic);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }
}
