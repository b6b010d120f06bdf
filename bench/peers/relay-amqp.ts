/**
 * The hand-written RabbitMQ relay Junction is measured against: rabbitmq-client, consume INPUT with
 * CONCURRENCY in flight (prefetch the same), map in TypeScript, publish to OUTPUT with publisher
 * confirms, ack once the broker confirmed. Prints `{"ready":true}` once consuming; SIGTERM stops it.
 */
import { Connection } from "rabbitmq-client";
import { AMQP_URL } from "../lib/brokers.js";
import { type FlowOrder, mapFlowOrder } from "../lib/mapping.js";

const input = process.env.INPUT ?? "";
const output = process.env.OUTPUT ?? "";
const concurrency = Number(process.env.CONCURRENCY ?? 64);

const connection = new Connection({ url: AMQP_URL, connectionName: "junction-bench-relay" });
connection.on("error", (error) => process.stderr.write(`${error}\n`));
await connection.onConnect(10_000);
const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
const consumer = connection.createConsumer(
  { queue: input, queueOptions: { passive: true }, qos: { prefetchCount: concurrency }, concurrency },
  async (message) => {
    // rabbitmq-client parses application/json bodies itself; a Buffer or string is parsed here
    const body = message.body as unknown;
    const order = (
      Buffer.isBuffer(body)
        ? JSON.parse(body.toString("utf8"))
        : typeof body === "string"
          ? JSON.parse(body)
          : body
    ) as FlowOrder;
    await publisher.send(
      { routingKey: output, durable: true, contentType: "application/json" },
      JSON.stringify(mapFlowOrder(order)),
    );
    // returning acks the message
  },
);
consumer.on("error", (error) => process.stderr.write(`${error}\n`));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

process.on("SIGTERM", () => {
  void consumer
    .close()
    .then(() => publisher.close())
    .then(() => connection.close())
    .then(() => process.exit(0));
});
