import { defineConnector } from "../../api/component.js";
import {
  type AmqpConnectionConfig,
  AmqpConnectionSchema,
  type AmqpRequestConfig,
  AmqpRequestSchema,
  type AmqpSinkConfig,
  AmqpSinkSchema,
  type AmqpSourceConfig,
  AmqpSourceSchema,
} from "./config.js";
import { AmqpConnection } from "./connection.js";
import { AmqpRequester } from "./request.js";
import { AmqpSink } from "./sink.js";
import { AmqpSource } from "./source.js";

export const amqpConnector = defineConnector({
  name: "amqp",
  summary:
    "RabbitMQ and other AMQP 0-9-1 brokers: consume a queue, publish to an exchange with confirms, call services with direct reply-to.",
  description:
    "Built on rabbitmq-client. A connection is one AMQP connection shared by the sources and sinks that name it; it can declare exchanges, queues (classic or quorum, with dead-letter exchanges) and bindings on every (re)connect. The source consumes a queue with a prefetch limit and acknowledges each delivery only after it is durably stored; payloads are decoded by content type (JSON to data, text to a string, anything else base64), and a payload that cannot be decoded becomes a dead letter with its raw bytes and is then acknowledged, so it is never redelivered forever. A payload over `maxMessageSize` becomes a dead letter with its first 64 KiB and is rejected without requeue. The sink publishes on a confirm channel with `mandatory` and persistent delivery and resolves only on the broker's confirm: a message no queue takes is returned and fails for good (a dead letter), a nack or a lost connection is retried. The message id is the AMQP `messageId`, the correlation id `correlationId`; `traceparent`, `tracestate` and the CloudEvents attributes (`ce-type`, `ce-source`, `ce-subject`, `ce-time`) travel as headers, and the message's headers as AMQP headers, both ways. The request (in `enrich`) publishes with RabbitMQ's direct reply-to and a correlation id of its own, expires in the broker when its `timeout` is up, and returns the decoded reply; a request no queue takes fails at once and is retried. When the connection drops, the engine reconnects with backoff: sources are restarted, acknowledgements for the old channel are dropped and the broker redelivers (duplicates are possible, loss is not).",
  examples: [
    {
      title: "A connection that declares its topology",
      yaml: `connections:
  broker:
    system: shop
    amqp:
      url: "\${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672}"
      topology:
        exchanges: [ { name: orders, type: topic } ]
        queues: [ { name: orders.warehouse, type: quorum, deadLetterExchange: orders.dlx } ]
        bindings: [ { exchange: orders, queue: orders.warehouse, routingKey: "order.*" } ]`,
    },
    {
      title: "Consume a queue",
      yaml: "from:\n  amqp: { connection: broker, queue: orders.warehouse, prefetch: 50 }",
    },
    {
      title: "Publish with a routing key from the data",
      yaml: 'to:\n  - amqp: { connection: broker, exchange: orders, routingKey: "order.{{ status }}" }',
    },
    {
      title: "Ask a service over RabbitMQ (direct reply-to) and keep its answer",
      yaml: "steps:\n  - enrich: { with: { amqp: { connection: broker, routingKey: stock.lookup, timeout: 2s } }, into: stock }",
    },
  ],
  connection: {
    schema: AmqpConnectionSchema,
    create: (config: AmqpConnectionConfig, context) =>
      new AmqpConnection(context.owner, config, context.logger),
  },
  source: {
    schema: AmqpSourceSchema,
    create: (config: AmqpSourceConfig, context) => new AmqpSource(config, context),
  },
  sink: {
    schema: AmqpSinkSchema,
    create: (config: AmqpSinkConfig, context) => new AmqpSink(config, context),
  },
  request: {
    schema: AmqpRequestSchema,
    create: (config: AmqpRequestConfig, context) => new AmqpRequester(config, context),
  },
});
