import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  AuthenticationError,
  TimeoutError as KafkaTimeoutError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  UserError,
} from "@platformatic/kafka";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  TimeoutError,
  ValidationError,
} from "../../api/errors.js";
import { createMessage } from "../../api/message.js";
import { builtinRegistry } from "../../builtins.js";
import { parseYaml } from "../../config/load.js";
import { resolveFormat } from "../../formats/payload.js";
import {
  type ConsumedRecord,
  classifyKafkaError,
  isAuthenticationError,
  messageToRecord,
  parseBrokers,
  recordToInit,
} from "./mapping.js";

const headers = (values: Record<string, string | Buffer>) =>
  new Map(Object.entries(values).map(([k, v]) => [Buffer.from(k), Buffer.isBuffer(v) ? v : Buffer.from(v)]));

const record = (value: Buffer | string | null, extra: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: "orders",
  partition: 2,
  offset: 41n,
  timestamp: 1764000000000n,
  value: typeof value === "string" ? Buffer.from(value) : value,
  ...extra,
});

describe("kafka record → message", () => {
  test("key becomes the subject; correlation id, trace context and ce_type fill the envelope; all headers are kept", () => {
    const decoded = recordToInit(
      record('{"orderId":"SO-1","qty":2}', {
        key: Buffer.from("cust-7"),
        headers: headers({
          "x-correlation-id": "corr-1",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          ce_type: "shop.order.created",
          "x-tenant": "acme",
        }),
      }),
      { format: "json" },
    );
    assert.ok(decoded.ok);
    const { init } = decoded;
    assert.deepEqual(init.data, { orderId: "SO-1", qty: 2 });
    assert.equal(init.subject, "cust-7");
    assert.equal(init.correlationId, "corr-1");
    assert.equal(init.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(init.type, "shop.order.created");
    assert.equal(init.source, "kafka:orders");
    assert.equal(init.time, new Date(1764000000000).toISOString());
    assert.equal(init.datacontenttype, "application/json");
    assert.equal(init.headers?.["x-tenant"], "acme");
    assert.equal(init.headers?.["kafka-topic"], "orders");
    assert.equal(init.headers?.["kafka-partition"], "2");
    assert.equal(init.headers?.["kafka-offset"], "41");
  });

  test("defaults: type kafka.<topic> or the configured one, source from `system`; text and bytes formats", () => {
    const plain = recordToInit(record("hello"), { format: "text", system: "shop", type: "shop.note" });
    assert.ok(plain.ok);
    assert.equal(plain.init.data, "hello");
    assert.equal(plain.init.type, "shop.note");
    assert.equal(plain.init.source, "shop");
    assert.equal(plain.init.subject, undefined);
    const bytes = recordToInit(record(Buffer.from([0, 1, 254, 255])), { format: "bytes" });
    assert.ok(bytes.ok);
    assert.equal(bytes.init.data, "AAH+/w==");
    assert.equal(bytes.init.type, "kafka.orders");
    assert.equal(bytes.init.datacontenttype, "application/octet-stream");
  });

  test("a configured codec decodes values and encodes data, labelled with its content type", () => {
    const format = resolveFormat(
      { avro: { schema: { type: "record", name: "Line", fields: [{ name: "sku", type: "string" }] } } },
      { configDir: "." },
      "kafka",
    )!;
    const produced = messageToRecord(
      createMessage({ source: "s", type: "t", data: { sku: "A-1" } }),
      { topic: "orders" },
      { format, forwardHeaders: false },
    );
    assert.equal(produced.headers?.["content-type"]?.toString(), "avro/binary");
    const consumed = recordToInit(record(produced.value as Buffer), { format });
    assert.ok(consumed.ok);
    assert.deepEqual({ ...(consumed.init.data as object) }, { sku: "A-1" });
    assert.equal(consumed.init.datacontenttype, "avro/binary");
    const bad = recordToInit(record(Buffer.from([0x09])), { format });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.error.message, /cannot be decoded as avro/);
  });

  test("a tombstone (null value) is a message with null data", () => {
    const decoded = recordToInit(record(null, { key: Buffer.from("cust-7") }), { format: "json" });
    assert.ok(decoded.ok);
    assert.equal(decoded.init.data, null);
    assert.equal(decoded.init.subject, "cust-7");
  });

  test("a value that is not JSON gives its raw text and the reason, naming topic, partition and offset", () => {
    const decoded = recordToInit(record("{not json"), { format: "json" });
    assert.equal(decoded.ok, false);
    assert.ok(!decoded.ok);
    assert.equal(decoded.init.data, "{not json");
    assert.ok(decoded.error instanceof ValidationError);
    assert.equal(decoded.error.code, "JUNCTION_KAFKA_UNDECODABLE");
    assert.match(decoded.error.message, /orders\[2\]@41 cannot be decoded as json/);
    assert.deepEqual(decoded.error.details, { topic: "orders", partition: 2, offset: "41" });
  });

  test("a value that is not UTF-8 keeps its bytes as base64, marked in a header", () => {
    const decoded = recordToInit(record(Buffer.from([0xc3, 0x28, 0xff])), { format: "text" });
    assert.ok(!decoded.ok);
    assert.equal(decoded.init.data, Buffer.from([0xc3, 0x28, 0xff]).toString("base64"));
    assert.equal(decoded.init.headers?.["junction-raw-encoding"], "base64");
    assert.equal(decoded.init.datacontenttype, "application/octet-stream");
    assert.match(decoded.error.message, /not valid UTF-8/);
  });

  test("header values that are not UTF-8 are kept as base64:…", () => {
    const decoded = recordToInit(record("1", { headers: headers({ blob: Buffer.from([0xff]) }) }), {
      format: "json",
    });
    assert.ok(decoded.ok);
    assert.equal(decoded.init.headers?.blob, "base64:/w==");
  });
});

describe("message → kafka record", () => {
  const message = createMessage({
    id: "0193a8c4-0000-7000-8000-000000000001",
    source: "shop",
    type: "shop.order.created",
    subject: "cust-7",
    correlationId: "corr-9",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    headers: { "x-tenant": "acme", "content-length": "12", "kafka-offset": "4", ce_id: "old" },
    data: { orderId: "SO-1" },
  });
  const text = (value: Buffer | undefined) => value?.toString("utf8");

  test("CloudEvents binary-mode headers, trace and correlation headers, forwarded and extra headers", () => {
    const out = messageToRecord(
      message,
      { topic: "orders", key: "cust-7", headers: { "x-route": "r1" } },
      { format: "json", forwardHeaders: true },
    );
    assert.equal(out.topic, "orders");
    assert.equal(text(out.key), "cust-7");
    assert.deepEqual(JSON.parse(out.value.toString()), { orderId: "SO-1" });
    const h = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k, text(v)]));
    assert.equal(h.ce_id, message.id);
    assert.equal(h.ce_specversion, "1.0");
    assert.equal(h.ce_type, "shop.order.created");
    assert.equal(h.ce_source, "shop");
    assert.equal(h.ce_subject, "cust-7");
    assert.equal(h.ce_time, message.time);
    assert.equal(h["content-type"], "application/json");
    assert.equal(h.traceparent, message.traceparent);
    assert.equal(h["x-correlation-id"], "corr-9");
    assert.equal(h["x-tenant"], "acme");
    assert.equal(h["x-route"], "r1");
    assert.equal(h["content-length"], undefined, "transport headers of another hop are not forwarded");
    assert.equal(h["kafka-offset"], undefined);
  });

  test("forwardHeaders: false sends only the envelope headers; no key when none is given", () => {
    const out = messageToRecord(message, { topic: "orders" }, { format: "json", forwardHeaders: false });
    assert.equal(out.key, undefined);
    assert.equal(out.headers["x-tenant"], undefined);
    assert.ok(out.headers.ce_id);
  });

  test("text and bytes formats; bytes needs base64 data", () => {
    const textOut = messageToRecord(
      { ...message, data: "plain" },
      { topic: "t" },
      { format: "text", forwardHeaders: true },
    );
    assert.equal(textOut.value.toString(), "plain");
    const bytesOut = messageToRecord(
      { ...message, data: "AAH+/w==" },
      { topic: "t" },
      { format: "bytes", forwardHeaders: true },
    );
    assert.deepEqual([...bytesOut.value], [0, 1, 254, 255]);
    assert.throws(
      () => messageToRecord(message, { topic: "t" }, { format: "bytes", forwardHeaders: true }),
      (error: unknown) => error instanceof ValidationError && error.code === "JUNCTION_KAFKA_ENCODE",
    );
  });

  test("round trip: what the sink writes, the source reads back with the same envelope", () => {
    const out = messageToRecord(
      message,
      { topic: "orders", key: "cust-7" },
      { format: "json", forwardHeaders: true },
    );
    const back = recordToInit(
      {
        topic: "orders",
        partition: 0,
        offset: 7n,
        key: out.key ?? null,
        value: out.value,
        headers: new Map(Object.entries(out.headers).map(([k, v]) => [Buffer.from(k), v])),
      },
      { format: "json" },
    );
    assert.ok(back.ok);
    assert.equal(back.init.correlationId, message.correlationId);
    assert.equal(back.init.traceparent, message.traceparent);
    assert.equal(back.init.type, message.type);
    assert.equal(back.init.subject, "cust-7");
    assert.equal(back.init.time, message.time);
    assert.deepEqual(back.init.data, message.data);
    assert.equal(back.init.headers?.ce_id, message.id);
    assert.equal(back.init.headers?.["x-tenant"], "acme");
  });
});

describe("kafka configuration and errors", () => {
  test("brokers: lists may be comma-separated; anything but host:port is a config error", () => {
    assert.deepEqual(parseBrokers(["a:9092, b:9093", "[::1]:9094"], "kafka"), [
      "a:9092",
      "b:9093",
      "[::1]:9094",
    ]);
    assert.throws(
      () => parseBrokers(["kafka.internal"], "kafka sink (route r)"),
      (error: unknown) =>
        error instanceof ConfigError &&
        /kafka sink \(route r\): broker "kafka.internal" is not host:port/.test(error.message),
    );
    assert.throws(() => parseBrokers([" , "], "k"), ConfigError);
  });

  test("the config schema accepts a source and a sink, and rejects unknown formats and SASL mechanisms", () => {
    const parse = (routes: string) =>
      parseYaml(`routes:\n${routes}`, "/tmp/junction.yaml", builtinRegistry(), {});
    const good = parse(`
  in:
    from: { kafka: { brokers: ["127.0.0.1:9092"], topics: [orders], groupId: g1, fromBeginning: true, format: { json: {} }, batchSize: 50 } }
    to: [ { kafka: { brokers: ["127.0.0.1:9092"], topic: "copy.{{ region }}", key: "{{ customerId }}", headers: { x-tenant: "{{ tenant }}" }, sasl: { mechanism: SCRAM-SHA-512, username: u, password: p }, tls: true } } ]
`);
    assert.deepEqual(good.issues, []);
    const bad = parse(`
  in:
    from: { kafka: { brokers: ["127.0.0.1:9092"], topics: [], format: avro } }
    to: [ { kafka: { brokers: ["127.0.0.1:9092"], topic: t, sasl: { mechanism: GSSAPI, username: u, password: p } } } ]
`);
    const text = bad.issues.map((issue) => `${issue.path ?? ""} ${issue.message}`).join("\n");
    assert.ok(bad.issues.length >= 3, text);
    assert.match(text, /topics/);
    assert.match(text, /format/);
    assert.match(text, /mechanism/);
  });

  test("client errors: network and retriable protocol errors retry, final protocol errors do not, timeouts are timeouts", () => {
    const what = "kafka sink (route r)";
    const network = new MultipleErrors("initProducerId failed 4 times.", [
      new NetworkError("Connection to 127.0.0.1:1 failed."),
    ]);
    const mapped = classifyKafkaError(network, what);
    assert.ok(mapped instanceof ConnectionError);
    assert.equal(mapped.code, "JUNCTION_KAFKA_UNREACHABLE");
    assert.match(mapped.message, /Connection to 127\.0\.0\.1:1 failed/);
    assert.ok(classifyKafkaError(new KafkaTimeoutError("Request timed out."), what) instanceof TimeoutError);
    const tooLarge = classifyKafkaError(new ProtocolError("MESSAGE_TOO_LARGE"), what);
    assert.ok(tooLarge instanceof DeliveryRejectedError);
    assert.equal(tooLarge.code, "JUNCTION_KAFKA_MESSAGE_TOO_LARGE");
    const leader = classifyKafkaError(new ProtocolError("NOT_LEADER_OR_FOLLOWER"), what);
    assert.ok(leader instanceof ConnectionError);
    assert.equal(leader.code, "JUNCTION_KAFKA_NOT_LEADER_OR_FOLLOWER");
    assert.ok(
      classifyKafkaError(new ProtocolError("TOPIC_AUTHORIZATION_FAILED"), what) instanceof
        DeliveryRejectedError,
    );
    assert.ok(classifyKafkaError(new UserError("bad option"), what) instanceof DeliveryRejectedError);
  });

  test("authentication failures are recognised (a startup config error for the source, retryable for the sink)", () => {
    const wrapped = new MultipleErrors("connect failed", [
      new ProtocolError("SASL_AUTHENTICATION_FAILED", "bad password"),
    ]);
    assert.ok(isAuthenticationError(wrapped));
    assert.ok(isAuthenticationError(new AuthenticationError("nope")));
    assert.ok(!isAuthenticationError(new NetworkError("down")));
    const mapped = classifyKafkaError(wrapped, "kafka sink");
    assert.ok(mapped instanceof ConnectionError);
    assert.equal(mapped.code, "JUNCTION_KAFKA_AUTHENTICATION");
  });

  test("the client library loads on this Node without tsx (plain ESM import)", () => {
    const cwd = fileURLToPath(new URL("../../..", import.meta.url));
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        "const k = await import('@platformatic/kafka'); const p = new k.Producer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:9092'], idempotent: true }); await p.close(); console.log(typeof k.Consumer, typeof k.Producer, process.versions.node)",
      ],
      { cwd, encoding: "utf8" },
    ).trim();
    const [consumer, producer, version] = out.split(" ");
    assert.equal(consumer, "function");
    assert.equal(producer, "function");
    assert.ok(Number(version.split(".")[0]) >= 20, version);
  });
});
