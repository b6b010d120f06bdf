import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Admin, Producer } from "@platformatic/kafka";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";

/**
 * Against a real broker: only when KAFKA_BROKERS is set (e.g. `KAFKA_BROKERS=127.0.0.1:9092`).
 * No Kafka broker can run on the machine this was written on, so these tests have not been run
 * yet; the rest of the connector is covered by mapping.test.ts and source.test.ts.
 */
const BROKERS = process.env.KAFKA_BROKERS;
const gate = BROKERS
  ? {}
  : {
      skip: "KAFKA_BROKERS is not set: the kafka connector is untested against a broker here (set it to host:port)",
    };

describe("kafka connector against a broker", () => {
  const topic = `junction-test-${randomBytes(4).toString("hex")}`;
  const brokers = (BROKERS ?? "").split(",").map((broker) => broker.trim());
  const dir = tempDir();
  let receiver: Receiver;
  let running: RunningEngine;

  const config = () => `
routes:
  to-kafka:
    from: { webhook: { path: /orders } }
    to: [ { kafka: { brokers: ["${BROKERS}"], topic: ${topic}, key: "{{ customerId }}", headers: { x-tenant: "{{ tenant }}" } } } ]
  from-kafka:
    from: { kafka: { brokers: ["${BROKERS}"], topics: [${topic}], groupId: ${topic}-group, fromBeginning: true } }
    to: [ { http: { url: "${receiver.url}/orders" } } ]
`;

  before(async () => {
    if (!BROKERS) return;
    const admin = new Admin({ clientId: "junction-test", bootstrapBrokers: brokers });
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    await admin.close();
    receiver = await new Receiver().start();
    running = await startEngine(config(), { dir });
  });

  after(async () => {
    if (!BROKERS) return;
    await running?.stop();
    await receiver?.close();
    const admin = new Admin({ clientId: "junction-test", bootstrapBrokers: brokers });
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.close();
  });

  test(
    "webhook → kafka sink → kafka source → http: data, key, correlation id and headers survive",
    gate,
    async () => {
      const response = await fetch(`${running.url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-correlation-id": "corr-kafka-1" },
        body: JSON.stringify({ orderId: "SO-1", customerId: "cust-1", tenant: "acme" }),
      });
      assert.equal(response.status, 202);
      const delivered = await eventually(() => receiver.requests[0], 30_000, "the round trip through Kafka");
      assert.deepEqual(JSON.parse(delivered.body), { orderId: "SO-1", customerId: "cust-1", tenant: "acme" });
      assert.equal(delivered.headers["x-correlation-id"], "corr-kafka-1");
      assert.equal(delivered.headers["ce-subject"], "cust-1");
    },
  );

  test(
    "an undecodable record becomes a dead letter and is not redelivered after a restart",
    gate,
    async () => {
      const producer = new Producer({ clientId: "junction-test", bootstrapBrokers: brokers });
      await producer.send({ messages: [{ topic, key: Buffer.from("k"), value: Buffer.from("{not json") }] });
      await producer.close();
      const dead = await eventually(
        async () => (await running.engine.store.deadLetters({ route: "from-kafka" }))[0],
        30_000,
        "the dead letter",
      );
      assert.equal(dead.message.data, "{not json");
      assert.equal(dead.error.code, "JUNCTION_KAFKA_UNDECODABLE");
      const delivered = receiver.requests.length;
      await running.stop();
      running = await startEngine(config(), { dir });
      await fetch(`${running.url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ orderId: "SO-2", customerId: "cust-2", tenant: "acme" }),
      });
      await eventually(() => receiver.requests.length > delivered, 30_000, "the next record");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepEqual(
        receiver.requests.slice(delivered).map((request) => JSON.parse(request.body).orderId),
        ["SO-2"],
      );
      assert.equal((await running.engine.store.deadLetters({ route: "from-kafka" })).length, 1);
    },
  );
});
