import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import mqtt from "mqtt";
import pg from "pg";
import { type AsyncMessage, Connection } from "rabbitmq-client";
import { builtinRegistry } from "../src/builtins.js";
import { formatIssue } from "../src/config/issues.js";
import { loadConfig } from "../src/config/load.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/observe/logger.js";
import { eventually, tempDir } from "./helpers/engine.js";
import { REPO } from "./helpers/process.js";
import { serviceTest } from "./helpers/services.js";

const EXAMPLE = join(REPO, "examples/multi-protocol");

/** Every service the example uses must be up (CI fails otherwise; elsewhere the test is skipped). */
async function services() {
  for (const name of ["mosquitto", "postgres", "rabbitmq", "nats"] as const) {
    const gate = await serviceTest(name);
    if (gate.skip) return gate;
  }
  return {};
}

test("examples/multi-protocol: MQTT and PostgreSQL orders, priced over gRPC, reach RabbitMQ and NATS as one canonical order", {
  ...(await services()),
  timeout: 90_000,
}, async () => {
  const run = randomBytes(4).toString("hex");
  // The pricing service, a real grpc-js server.
  const definition = protoLoader.loadSync(join(EXAMPLE, "pricing.proto"), { keepCase: true, defaults: true });
  const pricing = (grpc.loadPackageDefinition(definition) as any).pricing.v1.Pricing;
  const server = new grpc.Server();
  const quoted: string[] = [];
  server.addService(pricing.service, {
    Quote: (call: any, callback: any) => {
      quoted.push(call.request.order_id);
      const total = call.request.lines.reduce((sum: number, line: any) => sum + line.qty * 2.5, 0);
      callback(null, { total, currency: "EUR" });
    },
  });
  const pricingPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  // The ERP table, the warehouse queue and the analytics stream, under names of this run.
  const db = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" });
  await db.connect();
  const table = `erp_orders_${run}`;
  await db.query(
    `CREATE TABLE ${table} (id serial PRIMARY KEY, customer_id text, sku text, qty int, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
  const nats = await connect({ servers: "nats://127.0.0.1:4222" });
  const jsm = await jetstreamManager(nats);
  const stream = `ORDERS_PRICED_${run}`;
  const subject = `analytics.orders.${run}`;
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
  const rabbit = new Connection({ url: "amqp://guest:guest@127.0.0.1:5672" });
  const exchange = `warehouse.orders.${run}`;
  const queue = `warehouse.orders.inbound.${run}`;
  const env = {
    ...process.env,
    ERP_TABLE: table,
    KIOSK_TOPICS: `kiosk-${run}`,
    WAREHOUSE_EXCHANGE: exchange,
    WAREHOUSE_QUEUE: queue,
    ANALYTICS_SUBJECT: subject,
    PRICING_ADDRESS: `127.0.0.1:${pricingPort}`,
    JUNCTION_HTTP: "127.0.0.1:0",
    JUNCTION_ADMIN: "127.0.0.1:0",
  };
  const { model, issues } = await loadConfig(join(EXAMPLE, "junction.yaml"), builtinRegistry(), env);
  assert.ok(model, issues.map(formatIssue).join("\n"));
  model.engine.store.sqlite.path = join(tempDir(), "store.db");
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  const warehouse: AsyncMessage[] = [];
  let consumer: Awaited<ReturnType<Connection["acquire"]>> | undefined;
  try {
    await engine.start();
    // The warehouse's own queue, declared as the example's topology declares it.
    await rabbit.exchangeDeclare({ exchange, type: "topic", durable: true });
    await rabbit.queueDeclare({ queue, durable: true });
    await rabbit.queueBind({ exchange, queue, routingKey: "order.#" });
    consumer = await rabbit.acquire();
    await consumer.basicConsume({ queue, noAck: true }, (message) => {
      warehouse.push(message);
    });
    // A kiosk orders over MQTT 5; the ERP inserts two rows.
    const kiosk = await mqtt.connectAsync("mqtt://127.0.0.1:1883", { protocolVersion: 5 });
    await kiosk.publishAsync(
      `kiosk-${run}/k7/orders`,
      JSON.stringify({
        ref: "1001",
        customer: "ada",
        items: [
          { code: "TEA", n: 2 },
          { code: "CUP", n: 1 },
        ],
      }),
      { qos: 1, properties: { userProperties: { "correlation-id": `kiosk-order-${run}` } } },
    );
    await kiosk.endAsync();
    await db.query(
      `INSERT INTO ${table} (customer_id, sku, qty) VALUES ('grace', 'PEN', 4), ('linus', 'INK', 1)`,
    );

    await eventually(() => warehouse.length === 3, 60_000, "three priced orders at the warehouse");
    const analytics = await eventually(
      async () => {
        const info = await jsm.streams.info(stream);
        return info.state.messages === 3 ? info : undefined;
      },
      30_000,
      "three priced orders in analytics",
    );
    assert.equal(analytics.state.messages, 3);

    const orders = warehouse
      .map((message) => message.body as any)
      .sort((a, b) => a.orderId.localeCompare(b.orderId));
    assert.deepEqual(
      orders.map((order) => [
        order.orderId,
        order.source,
        order.customerId,
        order.price.total,
        order.price.currency,
      ]),
      [
        ["E-1", "erp", "grace", 10, "EUR"],
        ["E-2", "erp", "linus", 2.5, "EUR"],
        ["K-1001", "kiosk", "ada", 7.5, "EUR"],
      ],
    );
    const kioskOrder = orders.find((order) => order.source === "kiosk");
    assert.equal(kioskOrder.origin, "k7");
    assert.deepEqual(kioskOrder.lines, [
      { sku: "TEA", qty: 2 },
      { sku: "CUP", qty: 1 },
    ]);
    const kioskMessage = warehouse.find((message) => (message.body as any).source === "kiosk")!;
    assert.equal(
      kioskMessage.correlationId,
      `kiosk-order-${run}`,
      "the correlation id crossed MQTT → gRPC → RabbitMQ",
    );
    assert.equal(kioskMessage.routingKey, "order.kiosk");
    assert.deepEqual(quoted.sort(), ["E-1", "E-2", "K-1001"]);
    const last = await jsm.streams.getMessage(stream, { last_by_subj: `${subject}.kiosk` });
    assert.equal(JSON.parse(last!.string()).orderId, "K-1001");
  } finally {
    await engine.stop();
    await consumer?.close();
    await rabbit.queueDelete({ queue }).catch(() => {});
    await rabbit.exchangeDelete({ exchange }).catch(() => {});
    await rabbit.close();
    await jsm.streams.delete(stream).catch(() => {});
    await nats.close();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
    server.forceShutdown();
  }
});
