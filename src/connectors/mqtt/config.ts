import { type Static, Type } from "typebox";
import { Duration, Secret, Size, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

export const MqttConnectionSchema = Type.Object(
  {
    url: Type.String({
      pattern: "^(mqtts?|wss?)://",
      description: "Broker address: `mqtt://host:1883`, `mqtts://` for TLS, `ws://`/`wss://` for WebSockets.",
      examples: ["mqtt://127.0.0.1:1883", "${MQTT_URL}"],
    }),
    protocolVersion: Type.Optional(
      Type.Union([Type.Literal(4), Type.Literal(5)], {
        default: 5,
        description:
          "5: MQTT 5 (user properties carry the correlation id, trace context and headers). 4: MQTT 3.1.1, which carries no headers at all.",
      }),
    ),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[^#+/]+$",
        description:
          "Prefix of the client ids: a source connects as `<clientId>-<route>` (a stable id, so its persistent session survives restarts), sinks as `<clientId>-pub-<random>`.",
        default: "junction",
        examples: ["orders-prod"],
      }),
    ),
    username: Type.Optional(Type.String({ description: "User name, when the broker asks for one." })),
    password: Type.Optional(
      Secret({ description: "Password; keep it in the environment.", examples: ["${MQTT_PASSWORD}"] }),
    ),
    clean: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Start sources with a clean session. false keeps a persistent session: QoS 1 and 2 messages published while Junction is down are queued by the broker and delivered on the next connect.",
      }),
    ),
    sessionExpiry: Type.Optional(
      Duration({
        description:
          "MQTT 5: how long the broker keeps a source's session (subscriptions and queued messages) after it disconnects. MQTT 3.1.1 sessions last as long as the broker's own setting.",
        default: "1d",
      }),
    ),
    keepalive: Type.Optional(
      Duration({
        description:
          "Keep-alive interval; a broker silent for 1.5 intervals is considered gone. 0s turns it off.",
        default: "30s",
      }),
    ),
    connectTimeout: Type.Optional(
      Duration({ description: "How long connecting (TCP, TLS and CONNACK) may take.", default: "10s" }),
    ),
  },
  { additionalProperties: false },
);
export type MqttConnectionConfig = Static<typeof MqttConnectionSchema>;

export const MqttSourceSchema = Type.Object(
  {
    connection: Type.String({
      description: "A connection declared under `connections:` with `mqtt`.",
      examples: ["sensors"],
    }),
    topics: Type.Array(
      Type.String({
        minLength: 1,
        description:
          "A topic filter: `+` matches one level, `#` the rest; `$share/<group>/<filter>` is a shared subscription.",
      }),
      {
        minItems: 1,
        description: "Topic filters to subscribe to.",
        examples: [["sensors/+/temperature", "alerts/#"]],
      },
    ),
    qos: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(2)], {
        default: 1,
        description:
          "Subscription QoS. 1: at least once; 2: exactly once between broker and Junction. Either way the broker's message is acknowledged only after it is stored.",
      }),
    ),
    group: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[^#+/]+$",
        description:
          "Shared subscription group: every filter becomes `$share/<group>/<filter>`, so several Junction processes share the messages instead of each getting a copy.",
        examples: ["junction"],
      }),
    ),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Exact client id of this source; by default `<connection clientId>-<route>`.",
      }),
    ),
    maxMessageSize: Type.Optional(
      Size({
        description: "Largest payload taken in; a larger one becomes a dead letter with its first 64 KiB.",
        default: "1mb",
      }),
    ),
    contentType: Type.Optional(
      Type.String({
        description:
          "Content type assumed when a message carries none (MQTT 3.1.1 never does). JSON types are parsed, text types become strings, others base64.",
        default: "application/json",
        examples: ["text/plain", "application/octet-stream"],
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How payloads are decoded, whatever content type they carry (`format: { csv: {} }`); payloads that do not decode become dead letters naming where they went wrong. Unset: by content type.",
      ),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that publishes these topics (for the map and as `source`)." }),
    ),
  },
  { additionalProperties: false },
);
export type MqttSourceConfig = Static<typeof MqttSourceSchema>;

export const MqttSinkSchema = Type.Object(
  {
    connection: Type.String({
      description: "A connection declared under `connections:` with `mqtt`.",
      examples: ["sensors"],
    }),
    topic: Template({
      description: "Topic to publish to (no wildcards); a template.",
      examples: ["devices/{{ deviceId }}/commands", "{{ $message.subject }}"],
    }),
    qos: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
        default: 1,
        description:
          "1 and 2: the write completes only when the broker acknowledged it (PUBACK / PUBCOMP). 0: fire and forget, no guarantee.",
      }),
    ),
    retain: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Ask the broker to keep the message as the topic's last value.",
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Template({ description: "User property value." }), {
        description: "Extra MQTT 5 user properties; values are templates.",
      }),
    ),
    timeout: Type.Optional(
      Duration({
        description: "How long a publish may wait for the broker's acknowledgement.",
        default: "30s",
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How message data is encoded, with that format's content type (`format: { avro: { schemaFile: schemas/order.avsc } }`); data the format cannot encode becomes a dead letter. Unset: JSON, text or base64 bytes by the message's content type.",
      ),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that consumes what is published (for the map)." }),
    ),
  },
  { additionalProperties: false },
);
export type MqttSinkConfig = Static<typeof MqttSinkSchema>;

export const MqttRequestSchema = Type.Object(
  {
    connection: Type.String({
      description:
        "A connection declared under `connections:` with `mqtt` (MQTT 5: a request needs a response topic).",
      examples: ["sensors"],
    }),
    topic: Template({
      description: "Topic the service listens on (no wildcards); a template.",
      examples: ["devices/{{ deviceId }}/status/get"],
    }),
    qos: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
        default: 1,
        description: "QoS of the request (the reply topic is subscribed with QoS 1).",
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Template({ description: "User property value." }), {
        description: "Extra MQTT 5 user properties; values are templates.",
      }),
    ),
    timeout: Type.Optional(Duration({ description: "Largest wait for the reply.", default: "5s" })),
    replyTopic: Type.Optional(
      Type.String({
        description:
          "Topic the replies come back on (where the broker's ACL allows this client to subscribe). Default `junction/replies/<client id>`, one per requester.",
        examples: ["plant/replies/junction-1"],
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How the request is encoded and the reply decoded. Unset: the request as JSON (or text, or bytes, by the message's content type) and the reply by its content type.",
      ),
    ),
  },
  { additionalProperties: false },
);
export type MqttRequestConfig = Static<typeof MqttRequestSchema>;
