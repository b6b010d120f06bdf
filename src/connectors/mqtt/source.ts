import type { IPublishPacket, ISubscriptionGrant, MqttClient } from "mqtt";
import type { ComponentContext, Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ConnectionError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import { type MessageInit, withPayload } from "../../api/message.js";
import { parseSize } from "../../config/schema-types.js";
import { decodeFormatted, type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { decodePayload, headerText, isoTime, mediaType, previewBase64 } from "../amqp/payload.js";
import type { MqttSourceConfig } from "./config.js";
import { type MqttConnection, mqttConnection, mqttReason } from "./connection.js";

const PREVIEW_BYTES = 64 * 1024;

/** User properties that carry envelope attributes, not headers. */
const ENVELOPE_PROPERTIES = new Set([
  "correlation-id",
  "traceparent",
  "tracestate",
  "ce-id",
  "ce-specversion",
  "ce-type",
  "ce-source",
  "ce-subject",
  "ce-time",
  "ce-dataschema",
]);

/**
 * Subscribes to topic filters on a client of its own, with a stable client id and (by default) a
 * persistent session, so messages published while Junction is down wait at the broker. mqtt.js
 * hands over one publish at a time; its PUBACK (QoS 1) or PUBREC (QoS 2) is sent only after the
 * message is durably stored. A payload that cannot be decoded or is too large becomes a dead letter
 * and is then acknowledged. When the connection closes the source reports `lost()`; the engine
 * restarts it, which reconnects and subscribes again (the broker may have lost the session).
 */
export class MqttSource implements Source {
  readonly #connection: MqttConnection;
  readonly #maxBytes: number;
  readonly #label: string;
  readonly #format: PayloadFormat | undefined;
  readonly #source: string;
  readonly #filters: string[];
  #client: MqttClient | undefined;
  #abort = new AbortController();
  #stopping = false;
  #running = false;
  /** The handler of the publish being stored, awaited on stop. */
  #inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly owner: ComponentContext,
  ) {
    this.#connection = mqttConnection(owner.connection, config.connection, `routes.${owner.owner}.from.mqtt`);
    this.#maxBytes = parseSize(config.maxMessageSize ?? "1mb");
    this.#label = this.#connection.label;
    this.#format = resolveFormat(config.format, owner, `mqtt source in route "${owner.owner}"`);
    this.#source = config.system ?? `mqtt://${config.connection}`;
    this.#filters = config.topics.map((topic) => (config.group ? `$share/${config.group}/${topic}` : topic));
  }

  async start(context: SourceContext): Promise<void> {
    this.#stopping = false;
    this.#running = false;
    this.#abort = new AbortController();
    if (context.signal.aborted) throw new ShuttingDownError();
    const abort = this.#abort;
    const onAbort = () => abort.abort();
    context.signal.addEventListener("abort", onAbort, { once: true });
    abort.signal.addEventListener("abort", () => context.signal.removeEventListener("abort", onAbort), {
      once: true,
    });
    const qos = this.config.qos ?? 1;
    const clientId = this.config.clientId ?? this.#connection.clientIdFor(this.owner.owner);
    const clean = this.#connection.config.clean ?? false;
    let client: MqttClient | undefined;
    try {
      const open = await this.#connection.open({
        clientId,
        clean,
        // Queued session messages can arrive right after CONNACK, before the subscription is renewed.
        onPublish: (topic, payload, packet, acknowledge) => {
          const handled = this.#receive(context, topic, payload, packet).then((ack) => {
            if (ack) acknowledge();
          });
          this.#inFlight = handled;
        },
        onQos0: (topic, payload, packet) => {
          this.#inFlight = this.#receive(context, topic, payload, packet);
        },
      });
      client = open.client;
      this.#client = client;
      // Subscribing again is harmless when the session survived, and required when the broker lost it
      // (sessionPresent false) or the filters changed. MQTT 5: retained messages only for new filters.
      const grants = await Promise.race([
        client.subscribeAsync(
          Object.fromEntries(
            this.#filters.map((filter) => [
              filter,
              this.#connection.protocolVersion === 5 ? { qos, rh: 1 } : { qos },
            ]),
          ),
        ),
        open.closed,
      ]);
      this.#checkGrants(context, grants, qos);
      if (this.#stopping || !client.connected)
        throw new ConnectionError(`${this.#label}: the connection closed while subscribing`);
      const current = client;
      open.closed.catch((error: unknown) => this.#lost(context, current, error));
      context.logger.info(
        { clientId, filters: this.#filters, qos, sessionPresent: open.sessionPresent },
        open.sessionPresent ? `${this.#label}: session resumed` : `${this.#label}: new session, subscribed`,
      );
    } catch (error) {
      this.#abort.abort();
      this.#client = undefined;
      if (client) client.end(true);
      if (error instanceof ConnectionError || error instanceof ShuttingDownError) throw error;
      throw new ConnectionError(
        `${this.#label}: subscribing to ${this.#filters.join(", ")}: ${mqttReason(error)}`,
        {
          code: "JUNCTION_MQTT_CONNECTION",
          cause: error,
        },
      );
    }
    this.#running = true;
  }

  #checkGrants(context: SourceContext, grants: ISubscriptionGrant[], qos: number): void {
    for (const grant of grants) {
      if (grant.qos >= 0x80) {
        throw new ConnectionError(
          `${this.#label}: the broker refused the subscription to "${grant.topic}" (reason code ${grant.qos})`,
          { code: "JUNCTION_MQTT_SUBSCRIBE_REFUSED" },
        );
      }
      if (grant.qos < qos) {
        context.logger.warn(
          { topic: grant.topic, requested: qos, granted: grant.qos },
          `${this.#label}: the broker granted a lower QoS than asked for${grant.qos === 0 ? " (QoS 0: messages can be lost)" : ""}`,
        );
      }
    }
  }

  #lost(context: SourceContext, client: MqttClient, error: unknown): void {
    if (!this.#running || this.#stopping || client !== this.#client) return;
    this.#running = false;
    context.lost(error);
  }

  /** Store one publish; true when it may be acknowledged (stored, or dead-lettered). */
  async #receive(
    context: SourceContext,
    topic: string,
    payload: Buffer,
    packet: IPublishPacket,
  ): Promise<boolean> {
    if (this.#stopping) return false;
    try {
      const decoded = this.#decode(topic, payload, packet);
      if ("error" in decoded) {
        await context.deadLetter(decoded.init, decoded.error);
        context.logger.warn(
          { topic, code: decoded.error.code, reason: decoded.error.message },
          "message dead-lettered",
        );
        return true;
      }
      for (;;) {
        if (this.#stopping) return false;
        try {
          await context.emit([decoded.init]);
          return true;
        } catch (error) {
          if (error instanceof ShuttingDownError) return false;
          if (error instanceof BackpressureError) {
            // The route is full: hold this publish (mqtt.js reads nothing more) and offer it again.
            await pause(error.retryAfterMs ?? 1000, this.#abort.signal);
            continue;
          }
          throw error;
        }
      }
    } catch (error) {
      // The store failed: unacknowledged, the broker delivers it again after the restart.
      if (!this.#stopping && this.#running) {
        this.#running = false;
        context.lost(error);
      }
      return false;
    }
  }

  #decode(
    topic: string,
    payload: Buffer,
    packet: IPublishPacket,
  ): { init: MessageInit } | { init: MessageInit; error: ValidationError } {
    const properties = packet.properties ?? {};
    const user = properties.userProperties ?? {};
    const text = (name: string) => {
      const value = user[name];
      const joined = Array.isArray(value) ? value.join(", ") : headerText(value);
      return joined === undefined || joined === "" ? undefined : joined;
    };
    const headers: Record<string, string> = {};
    for (const name of Object.keys(user)) {
      if (ENVELOPE_PROPERTIES.has(name.toLowerCase())) continue;
      const value = text(name);
      if (value !== undefined) headers[name] = value;
    }
    const correlationId =
      (properties.correlationData ? Buffer.from(properties.correlationData).toString("utf8") : undefined) ||
      text("correlation-id");
    const id = text("ce-id");
    const traceparent = text("traceparent");
    const tracestate = text("tracestate");
    const time = isoTime(text("ce-time"));
    const dataschema = text("ce-dataschema");
    const envelope: Omit<MessageInit, "data"> = {
      source: text("ce-source") ?? this.#source,
      type: text("ce-type") ?? "junction.mqtt",
      subject: topic,
      headers,
      ...(id && id.length <= 255 ? { id } : {}),
      ...(correlationId ? { correlationId } : {}),
      ...(traceparent ? { traceparent } : {}),
      ...(tracestate ? { tracestate } : {}),
      ...(time ? { time } : {}),
      ...(dataschema ? { dataschema } : {}),
    };
    const fallback = this.config.contentType ?? "application/json";
    const type = mediaType(properties.contentType) ?? mediaType(fallback) ?? "application/octet-stream";
    if (payload.length > this.#maxBytes) {
      const kept = Math.min(payload.length, PREVIEW_BYTES);
      return {
        init: {
          ...envelope,
          headers: { ...headers, "original-content-type": type, "truncated-to": String(kept) },
          data: previewBase64(payload, PREVIEW_BYTES),
          datacontenttype: "application/octet-stream",
        },
        error: new ValidationError(
          `${this.#label}: the payload on "${topic}" is ${payload.length} bytes, over maxMessageSize (${this.#maxBytes} bytes); the dead letter keeps its first ${kept} bytes`,
          {
            code: "JUNCTION_MQTT_TOO_LARGE",
            details: { topic, bytes: payload.length, maxBytes: this.#maxBytes },
          },
        ),
      };
    }
    const decoded = this.#format
      ? decodeFormatted(this.#format, payload)
      : decodePayload(payload, properties.contentType, fallback);
    if (decoded.ok) return { init: withPayload(envelope, decoded.data, decoded.datacontenttype) };
    return {
      init: {
        ...envelope,
        headers: { ...headers, "original-content-type": type },
        data: payload.toString("base64"),
        datacontenttype: "application/octet-stream",
      },
      error: new ValidationError(`${this.#label}: the payload on "${topic}": ${decoded.reason}`, {
        code: "JUNCTION_MQTT_UNDECODABLE",
        details: { topic, contentType: type, bytes: payload.length },
      }),
    };
  }

  /**
   * Stop intake: the publish being stored finishes (and is acknowledged), then the client says
   * DISCONNECT and closes. The persistent session keeps everything not yet acknowledged.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#running = false;
    this.#abort.abort();
    const client = this.#client;
    this.#client = undefined;
    await this.#inFlight.catch(() => {});
    if (client) await this.#connection.end(client);
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
