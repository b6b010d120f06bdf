/**
 * `format:` on connectors, end to end against the real services: sources decode with the named
 * codec whatever content type a payload carries, sinks encode with it and label the payload with
 * the codec's content type, and a payload that does not decode is refused (webhook: 400) or becomes
 * a dead letter naming where it went wrong, while the engine keeps running.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import avro from "avsc";
import { Redis } from "ioredis";
import { connectAsync as mqttConnect } from "mqtt";
import protobuf from "protobufjs";
import { type AsyncMessage, Connection } from "rabbitmq-client";
import { eventually, startEngine } from "../helpers/engine.js";
import { Receiver } from "../helpers/receiver.js";
import { serviceTest } from "../helpers/services.js";

const RUN = randomBytes(3).toString("hex");

const ORDER_AVSC = JSON.stringify({
  type: "record",
  name: "Line",
  fields: [
    { name: "sku", type: "string" },
    { name: "qty", type: "int" },
  ],
});

const LINE_PROTO = `syntax = "proto3";
package shop;
message Line { string sku = 1; int32 qty = 2; }`;

describe("format: on webhook and http", () => {
  test("a CSV body becomes one message per row; the HTTP sink sends each as XML", async () => {
    const receiver = await new Receiver().start();
    const running = await startEngine(`
routes:
  lines-in:
    from:
      webhook:
        path: /lines
        format: { csv: { header: true, types: { qty: integer } } }
    to:
      - http: { url: "${receiver.url}/lines", format: { xml: { root: line, declaration: false } } }
`);
    try {
      const response = await fetch(`${running.url}/lines`, {
        method: "POST",
        // The content type says text: the format decides, not the label.
        headers: { "content-type": "text/plain" },
        body: "sku,qty\nA-1,2\nB-2,3\n",
      });
      assert.equal(response.status, 202);
      const answer = (await response.json()) as { ids: string[] };
      assert.equal(answer.ids.length, 2);
      await eventually(() => receiver.requests.length === 2, 10_000, "two XML deliveries");
      const bodies = receiver.requests.map((request) => request.body).sort();
      assert.deepEqual(bodies, [
        "<line><sku>A-1</sku><qty>2</qty></line>",
        "<line><sku>B-2</sku><qty>3</qty></line>",
      ]);
      for (const request of receiver.requests)
        assert.equal(request.headers["content-type"], "application/xml");

      const bad = await fetch(`${running.url}/lines`, {
        method: "POST",
        headers: { "content-type": "text/csv" },
        body: "sku,qty\nC-3,two\n",
      });
      assert.equal(bad.status, 400);
      const problem = (await bad.json()) as { detail: string };
      assert.match(problem.detail, /line 2/);
      assert.match(problem.detail, /qty|column/);
    } finally {
      await running.stop();
      await receiver.close();
    }
  });

  test("an unknown codec or an unreadable schema file stops the start with the route named", async () => {
    await assert.rejects(
      startEngine(`
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { http: { url: "http://127.0.0.1:9/x", format: { avro: { schemaFile: missing.avsc } } } } ]
`),
      /http in route "r".*missing\.avsc/,
    );
  });
});

describe("format: on the file connector", () => {
  test("a YAML file (one record per document) becomes XML files, one per message; a bad file moves to failed with the line", async () => {
    const running = await startEngine(`
routes:
  yaml-drop:
    from: { file: { dir: in, pattern: "*.yaml", pollInterval: 50ms, format: { yaml: { multiple: true } } } }
    to:
      - file: { mode: export, path: "out/{{ sku }}.xml", format: { xml: { root: line, declaration: false } } }
`);
    try {
      const dir = join(running.dir, "in");
      await eventually(() => existsSync(dir));
      writeFileSync(join(dir, ".lines.tmp"), "sku: A-1\nqty: 2\n---\nsku: B-2\nqty: 3\n");
      renameSync(join(dir, ".lines.tmp"), join(dir, "lines.yaml"));
      const out = join(running.dir, "out");
      await eventually(
        () => existsSync(join(out, "A-1.xml")) && existsSync(join(out, "B-2.xml")),
        10_000,
        "two XML files",
      );
      assert.equal(readFileSync(join(out, "A-1.xml"), "utf8"), "<line><sku>A-1</sku><qty>2</qty></line>");
      assert.equal(readFileSync(join(out, "B-2.xml"), "utf8"), "<line><sku>B-2</sku><qty>3</qty></line>");

      writeFileSync(join(dir, ".bad.tmp"), "sku: C-3\nqty: [1, 2\n");
      renameSync(join(dir, ".bad.tmp"), join(dir, "bad.yaml"));
      const failed = join(dir, "failed");
      await eventually(() => existsSync(join(failed, "bad.yaml")), 10_000, "the bad file in failed/");
      const reason = readdirSync(failed).find((name) => name.startsWith("bad.yaml") && name !== "bad.yaml");
      assert.ok(reason, "a reason file beside it");
      assert.match(readFileSync(join(failed, reason), "utf8"), /cannot be read as yaml: .*line/);
    } finally {
      await running.stop();
    }
  });
});

describe("format: on broker connectors", async () => {
  const amqp = await serviceTest("rabbitmq");
  const mosquitto = await serviceTest("mosquitto");
  const nats = await serviceTest("nats");
  const redis = await serviceTest("redis");
  let rabbit: Connection | undefined;
  const queues: string[] = [];

  after(async () => {
    if (rabbit) {
      for (const queue of queues) await rabbit.queueDelete({ queue }).catch(() => {});
      await rabbit.close();
    }
  });

  test(
    "amqp: protobuf in, Avro out (schema from a file); an undecodable payload is a dead letter",
    amqp,
    async () => {
      rabbit = new Connection({ url: "amqp://guest:guest@127.0.0.1:5672" });
      rabbit.on("error", () => {});
      const input = `jt.${RUN}.fmt.in`;
      const output = `jt.${RUN}.fmt.out`;
      for (const queue of [input, output]) {
        queues.push(queue);
        await rabbit.queueDeclare({ queue, durable: true });
      }
      const running = await startEngine(
        `
connections:
  broker: { amqp: { url: "amqp://guest:guest@127.0.0.1:5672" } }
routes:
  relay:
    from: { amqp: { connection: broker, queue: ${input}, format: { protobuf: { proto: line.proto, type: shop.Line } } } }
    to: [ { amqp: { connection: broker, routingKey: ${output}, format: { avro: { schemaFile: line.avsc } } } } ]
`,
        { files: { "line.proto": LINE_PROTO, "line.avsc": ORDER_AVSC } },
      );
      const received: AsyncMessage[] = [];
      const consumer = rabbit.createConsumer(
        { queue: output, queueOptions: { durable: true } },
        (message) => {
          received.push(message);
        },
      );
      try {
        const Line = protobuf.parse(LINE_PROTO).root.lookupType("shop.Line");
        const publisher = rabbit.createPublisher({ confirm: true });
        await publisher.send(
          { routingKey: input, contentType: "application/x-protobuf" },
          Buffer.from(Line.encode({ sku: "A-1", qty: 7 }).finish()),
        );
        await publisher.send(
          { routingKey: input, contentType: "application/x-protobuf" },
          Buffer.from([0x0a, 0xff, 0xff]),
        );
        await publisher.close();

        await eventually(() => received.length === 1, 10_000, "the Avro message");
        const type = avro.Type.forSchema(JSON.parse(ORDER_AVSC));
        assert.deepEqual({ ...type.fromBuffer(received[0].body as Buffer) }, { sku: "A-1", qty: 7 });
        assert.equal(received[0].contentType, "avro/binary");

        const deadLetters = await eventually(async () => {
          const list = await running.engine.store.deadLetters({});
          return list.length === 1 ? list : undefined;
        });
        assert.match(deadLetters[0].error.message, /protobuf/);
      } finally {
        await consumer.close();
        await running.stop();
      }
    },
  );

  test(
    "amqp: the Confluent wire format, writer schemas read from Junction's own registry",
    amqp,
    async () => {
      rabbit ??= new Connection({ url: "amqp://guest:guest@127.0.0.1:5672" });
      const input = `jt.${RUN}.fmt.confluent`;
      queues.push(input);
      await rabbit.queueDeclare({ queue: input, durable: true });
      const receiver = await new Receiver().start();
      const running = await startEngine(
        `
schemas:
  line: { file: line.avsc }
connections:
  broker: { amqp: { url: "amqp://guest:guest@127.0.0.1:5672" } }
routes:
  confluent-in:
    from: { amqp: { connection: broker, queue: ${input}, format: { avro-confluent: {} } } }
    to: [ { http: { url: "${receiver.url}/lines" } } ]
`,
        { files: { "line.avsc": ORDER_AVSC } },
      );
      try {
        const latest = (await (
          await fetch(`${running.adminUrl}/registry/subjects/line/versions/latest`)
        ).json()) as {
          id: number;
        };
        const datum = avro.Type.forSchema(JSON.parse(ORDER_AVSC)).toBuffer({ sku: "C-9", qty: 5 });
        const header = Buffer.alloc(5);
        header.writeUInt32BE(latest.id, 1);
        const publisher = rabbit.createPublisher({ confirm: true });
        await publisher.send({ routingKey: input }, Buffer.concat([header, datum]));
        const unknown = Buffer.alloc(5);
        unknown.writeUInt32BE(latest.id + 1000, 1);
        await publisher.send({ routingKey: input }, Buffer.concat([unknown, datum]));
        await publisher.close();
        await eventually(() => receiver.requests.length === 1, 10_000, "the decoded line");
        assert.deepEqual(JSON.parse(receiver.requests[0].body), { sku: "C-9", qty: 5 });
        const deadLetters = await eventually(async () => {
          const list = await running.engine.store.deadLetters({});
          return list.length === 1 ? list : undefined;
        });
        assert.match(deadLetters[0].error.message, new RegExp(`schema id ${latest.id + 1000} is unknown`));
      } finally {
        await running.stop();
        await receiver.close();
      }
    },
  );

  test("mqtt: YAML in, NDJSON out", mosquitto, async () => {
    const client = await mqttConnect("mqtt://127.0.0.1:1883", { protocolVersion: 5 });
    const input = `jt/${RUN}/fmt/in`;
    const output = `jt/${RUN}/fmt/out`;
    const got: Buffer[] = [];
    client.on("message", (topic, payload) => {
      if (topic === output) got.push(payload);
    });
    await client.subscribeAsync(output, { qos: 1 });
    const running = await startEngine(`
connections:
  sensors: { mqtt: { url: "mqtt://127.0.0.1:1883", clientId: "jt-${RUN}-fmt" } }
routes:
  relay:
    from: { mqtt: { connection: sensors, topics: ["${input}"], format: { yaml: {} } } }
    to: [ { mqtt: { connection: sensors, topic: "${output}", format: { ndjson: {} } } } ]
`);
    try {
      await client.publishAsync(input, "sku: A-1\nqty: 2\n", { qos: 1 });
      await eventually(() => got.length === 1, 10_000, "the NDJSON message");
      assert.equal(got[0].toString("utf8").trim(), '{"sku":"A-1","qty":2}');
    } finally {
      await running.stop();
      await client.endAsync();
    }
  });

  test(
    "redis: a webhook's JSON is written as Avro to a stream and read back by a second route",
    redis,
    async () => {
      const stream = `jt:${RUN}:fmt`;
      const receiver = await new Receiver().start();
      const running = await startEngine(
        `
connections:
  cache: { redis: { url: "redis://127.0.0.1:6379" } }
routes:
  in:
    from: { webhook: { path: /lines } }
    to: [ { redis: { connection: cache, stream: "${stream}", format: { avro: { schemaFile: line.avsc } } } } ]
  out:
    from: { redis: { connection: cache, stream: "${stream}", format: { avro: { schemaFile: line.avsc } } } }
    to: [ { http: { url: "${receiver.url}/lines" } } ]
`,
        { files: { "line.avsc": ORDER_AVSC } },
      );
      const client = new Redis("redis://127.0.0.1:6379");
      try {
        const response = await fetch(`${running.url}/lines`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sku: "A-1", qty: 4 }),
        });
        assert.equal(response.status, 202);
        await eventually(() => receiver.requests.length === 1, 10_000, "the decoded line");
        assert.deepEqual(JSON.parse(receiver.requests[0].body), { sku: "A-1", qty: 4 });
        const [[, fields]] = (await client.xrangeBuffer(stream, "-", "+")) as [Buffer, Buffer[]][];
        const data = fields[fields.findIndex((field) => field.toString() === "data") + 1];
        const type = avro.Type.forSchema(JSON.parse(ORDER_AVSC));
        assert.deepEqual({ ...type.fromBuffer(data) }, { sku: "A-1", qty: 4 });
      } finally {
        await running.stop();
        await receiver.close();
        await client.del(stream);
        client.disconnect();
      }
    },
  );

  test("nats: CSV in (one message holds the list of rows), JSON out", nats, async () => {
    const nc = await natsConnect({ servers: "127.0.0.1:4222" });
    const jsm = await jetstreamManager(nc);
    const stream = `JT_${RUN}_FMT`;
    await jsm.streams.add({ name: stream, subjects: [`jt.${RUN}.fmt.>`] });
    const running = await startEngine(`
connections:
  bus: { nats: { servers: ["127.0.0.1:4222"] } }
routes:
  relay:
    from: { nats: { connection: bus, stream: ${stream}, durable: relay, filterSubject: "jt.${RUN}.fmt.in", format: { csv: { types: { qty: integer } } } } }
    to: [ { nats: { connection: bus, subject: "jt.${RUN}.fmt.out", format: { json: {} } } } ]
`);
    try {
      const js = jsm.jetstream();
      await js.publish(`jt.${RUN}.fmt.in`, Buffer.from("sku,qty\nA-1,2\nB-2,3\n"));
      const last = await eventually(async () => {
        try {
          return await jsm.streams.getMessage(stream, { last_by_subj: `jt.${RUN}.fmt.out` });
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(JSON.parse(Buffer.from(last.data).toString("utf8")), [
        { sku: "A-1", qty: 2 },
        { sku: "B-2", qty: 3 },
      ]);
      assert.equal(last.header?.get("content-type"), "application/json");
    } finally {
      await running.stop();
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    }
  });
});
