import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { eventually, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import type { ConnectorDefinition } from "../../api/component.js";
import { ConnectionError, ValidationError } from "../../api/errors.js";
import { createMessage } from "../../api/message.js";
import { builtinConnectors, builtinSteps } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Registry } from "../../config/registry.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";
import type { KafkaSourceConfig } from "./config.js";
import { kafkaConnector } from "./index.js";
import { KafkaSink } from "./sink.js";
import { type ConsumerFactory, type ConsumerLike, KafkaSource, type RecordStream } from "./source.js";

/**
 * No Kafka broker runs here, so these tests put a stand-in consumer under the real source and a
 * real engine: records are pushed into its stream, and every offset commit is recorded together
 * with what the store held at that moment.
 */
class FakeStream extends Readable implements RecordStream {
  constructor() {
    super({ objectMode: true, read() {} });
  }
  async close(): Promise<void> {
    this.destroy();
  }
}

interface Commit {
  topic: string;
  partition: number;
  offset: bigint;
  /** The store's checkpoint for the partition when Kafka was told. */
  stored: string | undefined;
}

class FakeKafka {
  readonly commits: Commit[] = [];
  readonly consumers: { options: any; stream: FakeStream }[] = [];
  engine: Engine | undefined;

  readonly factory: ConsumerFactory = (options) => {
    const stream = new FakeStream();
    this.consumers.push({ options, stream });
    const consumer: ConsumerLike = {
      consume: async () => stream,
      close: (_force, callback) => callback(),
    };
    return consumer;
  };

  get stream(): FakeStream {
    return this.consumers[this.consumers.length - 1].stream;
  }

  push(
    partition: number,
    offset: number,
    value: string | Buffer,
    options: { key?: string; headers?: Record<string, string> } = {},
  ): void {
    const group = this.consumers[this.consumers.length - 1].options.groupId;
    this.stream.push({
      topic: "orders",
      partition,
      offset: BigInt(offset),
      timestamp: 1764000000000n,
      key: options.key ? Buffer.from(options.key) : undefined,
      value: Buffer.isBuffer(value) ? value : Buffer.from(value),
      headers: new Map(
        Object.entries(options.headers ?? {}).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
      ),
      metadata: {},
      commit: async () => {
        this.commits.push({
          topic: "orders",
          partition,
          offset: BigInt(offset),
          stored: this.engine?.store.checkpoint(`orders-in:kafka:${group}:orders:${partition}`),
        });
      },
    });
  }
}

async function startWith(fake: FakeKafka, dir: string, receiverUrl: string): Promise<Engine> {
  const connectors: ConnectorDefinition[] = builtinConnectors.map((connector) =>
    connector.name === "kafka"
      ? {
          ...kafkaConnector,
          source: {
            schema: kafkaConnector.source.schema,
            create: (config: KafkaSourceConfig) => new KafkaSource(config, fake.factory),
          },
        }
      : connector,
  );
  const registry = new Registry(connectors, builtinSteps);
  const text = `routes:
  orders-in:
    from: { kafka: { brokers: ["127.0.0.1:9092"], topics: [orders], fromBeginning: true, batchSize: 10 } }
    to: [ { http: { url: "${receiverUrl}/orders" } } ]
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:0" }
  admin: { listen: "127.0.0.1:0" }
  shutdown: { timeout: 2s }
`;
  const file = join(dir, "junction.yaml");
  writeFileSync(file, text);
  const { model, issues } = parseYaml(text, file, registry, process.env);
  assert.ok(model, issues.map(formatIssue).join("\n"));
  const engine = new Engine({ model, registry, logger: silentLogger() });
  fake.engine = engine;
  await engine.start();
  return engine;
}

describe("kafka source in a real engine, over a stand-in consumer", () => {
  let receiver: Receiver;
  const dir = tempDir();
  const fake = new FakeKafka();
  let engine: Engine;

  before(async () => {
    receiver = await new Receiver().start();
    engine = await startWith(fake, dir, receiver.url);
  });

  after(async () => {
    await engine.stop();
    await receiver.close();
  });

  test("joins the group named after the route, from the earliest offset when it has none, without autocommit", () => {
    const { options } = fake.consumers[0];
    assert.equal(options.groupId, "orders-in");
    assert.deepEqual(options.bootstrapBrokers, ["127.0.0.1:9092"]);
  });

  test("records become messages (key → subject, headers → envelope); an undecodable one is a dead letter; offsets are committed after the store has them", async () => {
    fake.push(0, 0, JSON.stringify({ orderId: "SO-1" }), {
      key: "cust-1",
      headers: {
        "x-correlation-id": "corr-k1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ce_type: "shop.order.created",
        "x-tenant": "acme",
      },
    });
    fake.push(0, 1, "{not json");
    fake.push(0, 2, JSON.stringify({ orderId: "SO-2" }));
    fake.push(1, 5, JSON.stringify({ orderId: "SO-3" }));
    await eventually(() => receiver.requests.length >= 3, 5000, "three deliveries");
    const first = receiver.requests.find((r) => JSON.parse(r.body).orderId === "SO-1")!;
    assert.equal(first.headers["x-correlation-id"], "corr-k1");
    assert.match(String(first.headers.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-/);
    assert.equal(first.headers["ce-type"], "shop.order.created");
    assert.equal(first.headers["ce-subject"], "cust-1");
    assert.equal(first.headers["ce-source"], "kafka:orders");

    const [dead] = await engine.store.deadLetters({ route: "orders-in" });
    assert.equal(dead.message.data, "{not json");
    assert.equal(dead.error.code, "JUNCTION_KAFKA_UNDECODABLE");
    assert.equal(dead.error.details?.offset, "1");
    assert.equal(dead.message.headers["kafka-offset"], "1");

    await eventually(() => fake.commits.length >= 2, 5000, "offset commits");
    const p0 = fake.commits.filter((c) => c.partition === 0);
    const p1 = fake.commits.filter((c) => c.partition === 1);
    assert.equal(p0.at(-1)!.offset, 2n, "the last record of partition 0 is committed");
    assert.equal(p0.at(-1)!.stored, "2", "the store had the messages before Kafka was told");
    assert.equal(p1.at(-1)!.offset, 5n);
    assert.equal(p1.at(-1)!.stored, "5");
    for (const commit of fake.commits) assert.ok(BigInt(commit.stored ?? "-1") >= commit.offset);
  });

  test("a dead letter at the end of a batch still moves the offset on", async () => {
    const before = fake.commits.length;
    fake.push(1, 6, Buffer.from([0xff, 0xfe]));
    await eventually(() => fake.commits.length > before, 5000, "the commit of the bad record");
    assert.equal(fake.commits.at(-1)!.offset, 6n);
    assert.equal(fake.commits.at(-1)!.stored, "6");
    const dead = (await engine.store.deadLetters({ route: "orders-in" })).find(
      (d) => d.error.details?.offset === "6",
    )!;
    assert.equal(dead.message.data, "//4=");
    assert.equal(dead.message.headers["junction-raw-encoding"], "base64");
  });

  test("a consumer that fails is reported lost; the engine starts a new one", async () => {
    const count = fake.consumers.length;
    fake.stream.destroy(new Error("broker connection reset"));
    await eventually(() => fake.consumers.length > count, 5000, "a new consumer");
    const delivered = receiver.requests.length;
    fake.push(0, 3, JSON.stringify({ orderId: "SO-4" }));
    await eventually(() => receiver.requests.length > delivered, 5000, "delivery through the new consumer");
  });

  test("after a restart, records redelivered by Kafka (commit lost) are skipped, not stored twice", async () => {
    await engine.stop();
    const delivered = receiver.requests.length;
    const again = new FakeKafka();
    engine = await startWith(again, dir, receiver.url);
    // Kafka redelivers from an older committed offset: 0..3 of partition 0 were all stored already.
    again.push(0, 0, JSON.stringify({ orderId: "SO-1" }));
    again.push(0, 1, "{not json");
    again.push(0, 2, JSON.stringify({ orderId: "SO-2" }));
    again.push(0, 3, JSON.stringify({ orderId: "SO-4" }));
    again.push(0, 4, JSON.stringify({ orderId: "SO-5" }));
    await eventually(() => receiver.requests.length > delivered, 5000, "the new record");
    await eventually(() => again.commits.some((c) => c.offset === 4n), 5000, "the commit");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const orders = receiver.requests.slice(delivered).map((r) => JSON.parse(r.body).orderId);
    assert.deepEqual(orders, ["SO-5"]);
    assert.equal((await engine.store.deadLetters({ route: "orders-in" })).length, 2, "no second dead letter");
  });
});

describe("kafka clients without a broker", () => {
  test("unreachable brokers: a retryable error naming the route, group and brokers", async () => {
    const source = new KafkaSource({ brokers: ["127.0.0.1:1"], topics: ["orders"], timeout: "2s" });
    const context: any = {
      owner: "orders-in",
      configDir: tempDir(),
      logger: silentLogger(),
      checkpoint: () => undefined,
      lost: () => {},
    };
    await assert.rejects(
      source.start(context),
      (error: unknown) =>
        error instanceof ConnectionError &&
        /kafka source \(route orders-in\) cannot join group orders-in on 127\.0\.0\.1:1/.test(error.message),
    );
    await source.stop();
  });

  test("sink: unreachable brokers are a retryable error naming the route; a bad topic name is permanent", async () => {
    const context: any = {
      owner: "orders-out",
      configDir: tempDir(),
      logger: silentLogger(),
      render: async (template: string, data: any) =>
        template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_: string, key: string) => String(data[key])),
    };
    const sink = new KafkaSink({ brokers: ["127.0.0.1:1"], topic: "{{ topic }}", timeout: "2s" }, context);
    const message = (topic: string) => createMessage({ source: "t", type: "t", data: { topic, n: 1 } });
    await assert.rejects(
      sink.write(message("orders"), AbortSignal.timeout(10_000)),
      (error: unknown) =>
        error instanceof ConnectionError &&
        error.retryable &&
        /kafka sink \(route orders-out\): cannot write to orders/.test(error.message),
    );
    await assert.rejects(
      sink.write(message("bad topic!"), AbortSignal.timeout(10_000)),
      (error: unknown) => error instanceof ValidationError && error.code === "JUNCTION_KAFKA_TOPIC",
    );
    await sink.close();
  });
});
