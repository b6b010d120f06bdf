import type { ComponentContext, Requester, Sink, Source } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { ConfigError } from "../../api/errors.js";
import {
  type NatsConnectionConfig,
  NatsConnectionSchema,
  type NatsRequestConfig,
  NatsRequestSchema,
  type NatsSinkConfig,
  NatsSinkSchema,
  type NatsSourceConfig,
  NatsSourceSchema,
} from "./config.js";
import { NatsConnectionInstance } from "./connection.js";
import { NatsRequester } from "./request.js";
import { JetStreamSink } from "./sink.js";
import { JetStreamSource } from "./source.js";

function natsConnection(context: ComponentContext, name: string): NatsConnectionInstance {
  const connection = context.connection<unknown>(name);
  if (!(connection instanceof NatsConnectionInstance)) {
    throw new ConfigError(`connection "${name}" is not a nats connection`);
  }
  return connection;
}

export const natsConnector = defineConnector({
  name: "nats",
  summary: "NATS: read and write JetStream streams, and call services with core request-reply.",
  description:
    "The source reads a stream through a durable pull consumer (named after the route unless `durable` is set; every process of the route shares it) and acknowledges each message only after it is stored, so a crash means redelivery after `ackWait`, never loss; a slow commit sends in-progress signals, a full route hands messages back with a delayed NAK, and a payload that cannot be decoded becomes a dead letter (raw bytes in base64, with the reason) and is terminated. The sink publishes with `Nats-Msg-Id` = the message id and waits for the PubAck, so a retry inside the stream's duplicate window is stored once; no stream for the subject is permanent, a timeout is retryable. The request step sends the data as JSON and returns the decoded reply; no responders and timeouts are retryable. Headers carry the envelope both ways: `Nats-Msg-Id`, `correlation-id`, `traceparent`, `tracestate`, `content-type`, `ce-type`, `ce-source`, `ce-time`, and user headers. Connections never reconnect on their own: the engine restarts a source whose connection dropped, and the next publish opens a new connection.",
  examples: [
    {
      title: "A NATS connection",
      yaml: 'connections:\n  bus: { nats: { servers: ["nats://127.0.0.1:4222"], user: junction, password: "${NATS_PASSWORD}" } }',
    },
    {
      title: "Read a stream, declaring it when missing",
      yaml: 'from:\n  nats: { connection: bus, stream: ORDERS, declare: { subjects: ["orders.>"] }, filterSubject: orders.created, ackWait: 30s }',
    },
    {
      title: "Publish to JetStream by region",
      yaml: 'to:\n  - nats: { connection: bus, subject: "shipments.{{ region }}" }',
    },
    {
      title: "Ask a service for stock levels",
      yaml: "enrich:\n  with: { nats: { connection: bus, subject: stock.lookup, timeout: 2s } }\n  into: stock",
    },
  ],
  connection: {
    schema: NatsConnectionSchema,
    create: (config: NatsConnectionConfig, context) => new NatsConnectionInstance(config, context),
  },
  source: {
    schema: NatsSourceSchema,
    create: (config: NatsSourceConfig, context): Source =>
      new JetStreamSource(config, natsConnection(context, config.connection), context.owner),
  },
  sink: {
    schema: NatsSinkSchema,
    create: (config: NatsSinkConfig, context): Sink =>
      new JetStreamSink(config, natsConnection(context, config.connection), context),
  },
  request: {
    schema: NatsRequestSchema,
    create: (config: NatsRequestConfig, context): Requester =>
      new NatsRequester(config, natsConnection(context, config.connection), context),
  },
});
