import { defineConnector } from "../../api/component.js";
import {
  type MqttConnectionConfig,
  MqttConnectionSchema,
  type MqttRequestConfig,
  MqttRequestSchema,
  type MqttSinkConfig,
  MqttSinkSchema,
  type MqttSourceConfig,
  MqttSourceSchema,
} from "./config.js";
import { MqttConnection } from "./connection.js";
import { MqttRequester } from "./request.js";
import { MqttSink } from "./sink.js";
import { MqttSource } from "./source.js";

export const mqttConnector = defineConnector({
  name: "mqtt",
  summary:
    "MQTT 3.1.1 and 5 brokers (Mosquitto, EMQX, HiveMQ...): subscribe to topic filters, publish with QoS 1, ask services with MQTT 5 request-response.",
  description:
    "Built on mqtt.js. The source subscribes to topic filters (`+`, `#`, optional shared subscriptions) with QoS 1 or 2 on a client of its own with a stable client id (`<clientId>-<route>`) and, by default, a persistent session, so messages published while Junction is down are delivered when it is back. Each message is acknowledged (PUBACK / PUBREC) only after it is durably stored; its concrete topic becomes the message `subject`. Payloads are decoded by content type (MQTT 5 `contentType`, else the source's `contentType`, JSON by default); one that cannot be decoded becomes a dead letter with its raw bytes (one over `maxMessageSize` with its first 64 KiB) and is then acknowledged. The sink publishes with QoS 1 by default and completes only on the broker's acknowledgement; with MQTT 5 the correlation id travels as `correlationData`, the content type as `contentType`, and `traceparent`, `tracestate`, the CloudEvents attributes (`ce-id`, `ce-type`, `ce-source`, `ce-subject`, `ce-time`) and the message headers as user properties, both ways. MQTT 3.1.1 has no properties: only the payload travels. The request (in `enrich`, MQTT 5 only) publishes with a `responseTopic` of its own client and a `correlationData` of its own, and returns the decoded reply; no reply in time (MQTT cannot tell that no one listens) is retried. When the connection drops, the engine reconnects with backoff and the source subscribes again (the broker may have lost the session).",
  examples: [
    {
      title: "An MQTT 5 connection",
      yaml: `connections:
  plant:
    system: sensors
    mqtt: { url: "\${MQTT_URL:-mqtt://127.0.0.1:1883}", username: junction, password: "\${MQTT_PASSWORD}" }`,
    },
    {
      title: "Subscribe to every temperature reading",
      yaml: 'from:\n  mqtt: { connection: plant, topics: ["sensors/+/temperature"], qos: 1 }',
    },
    {
      title: "Publish a command per device",
      yaml: 'to:\n  - mqtt: { connection: plant, topic: "devices/{{ deviceId }}/commands", qos: 1 }',
    },
    {
      title: "Ask a device for its status (MQTT 5 request-response) and keep the answer",
      yaml: 'steps:\n  - enrich: { with: { mqtt: { connection: plant, topic: "devices/{{ deviceId }}/status/get", timeout: 2s } }, into: status }',
    },
  ],
  connection: {
    schema: MqttConnectionSchema,
    create: (config: MqttConnectionConfig, context) =>
      new MqttConnection(context.owner, config, context.logger),
  },
  source: {
    schema: MqttSourceSchema,
    create: (config: MqttSourceConfig, context) => new MqttSource(config, context),
  },
  sink: {
    schema: MqttSinkSchema,
    create: (config: MqttSinkConfig, context) => new MqttSink(config, context),
  },
  request: {
    schema: MqttRequestSchema,
    create: (config: MqttRequestConfig, context) => new MqttRequester(config, context),
  },
});
