import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { pino } from "pino";
import { type AsyncMessage, Connection } from "rabbitmq-client";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import type { ComponentContext, EmitResult, SourceContext } from "../../api/component.js";
import { ConfigError, ConnectionError, ShuttingDownError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";
import { AmqpConnection } from "./connection.js";
import { decodePayload, encodePayload } from "./payload.js";
import { AmqpSource } from "./source.js";

const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
const RUN = randomBytes(3).toString("hex");
const name = (what: string) => `jt.${RUN}.${what}`;
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// ---- a raw client, standing in for the other applications on the broker -------------------------

let raw: Connection | undefined;
const queues = new Set<string>();
const exchanges = new Set<string>();

function rabbit(): Connection {
  if (!raw) {
    raw = new Connection({ url: AMQP_URL, connectionName: "junction-test" });
    raw.on("error", () => {});
  }
  return raw;
}

async function declareQueue(queue: string, args: Record<string, unknown> = {}): Promise<string> {
  queues.add(queue);
  await rabbit().queueDeclare({ queue, durable: true, arguments: args });
  return queue;
}

async function publish(
  routingKey: string,
  body: Buffer | string,
  properties: Record<string, unknown> = {},
  exchange = "",
): Promise<void> {
  const channel = await rabbit().acquire();
  try {
    await channel.confirmSelect();
    await channel.basicPublish(
      { exchange, routingKey, durable: true, ...properties },
      Buffer.isBuffer(body) ? body : Buffer.from(body),
    );
  } finally {
    await channel.close();
  }
}

async function publishMany(queue: string, count: number, from = 0, prefix = "n"): Promise<void> {
  const channel = await rabbit().acquire();
  try {
    await channel.confirmSelect();
    const sends: Promise<void>[] = [];
    for (let n = from; n < from + count; n++) {
      sends.push(
        channel.basicPublish(
          { routingKey: queue, durable: true, messageId: `${prefix}-${n}`, contentType: "application/json" },
          Buffer.from(JSON.stringify({ n })),
        ),
      );
    }
    await Promise.all(sends);
  } finally {
    await channel.close();
  }
}

/** Consume a queue into an array (auto-ack), like a downstream application. */
async function collect(queue: string): Promise<{ messages: AsyncMessage[]; stop(): Promise<void> }> {
  const channel = await rabbit().acquire();
  const messages: AsyncMessage[] = [];
  await channel.basicConsume({ queue, noAck: true }, (message) => {
    messages.push(message);
  });
  return { messages, stop: () => channel.close() };
}

async function ready(queue: string): Promise<number> {
  return (await rabbit().queueDeclare({ queue, passive: true })).messageCount;
}

after(async () => {
  if (!raw) return;
  for (const queue of queues) await raw.queueDelete({ queue }).catch(() => {});
  for (const exchange of exchanges) await raw.exchangeDelete({ exchange }).catch(() => {});
  await raw.close();
});

// ---- engines ------------------------------------------------------------------------------------

/** A real engine whose log lines are kept, to check what an operator would read. */
async function engineWithLogs(yaml: string): Promise<{ engine: Engine; logs: string[] }> {
  const built = buildEngine(yaml);
  await built.engine.start();
  return built;
}

function buildEngine(yaml: string): { engine: Engine; logs: string[] } {
  const dir = tempDir();
  const text = `${yaml}
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:0" }
  admin: { listen: "127.0.0.1:0" }
  shutdown: { timeout: 2s }
`;
  const file = join(dir, "junction.yaml");
  writeFileSync(file, text);
  const registry = builtinRegistry();
  const { model, issues } = parseYaml(text, file, registry, process.env);
  if (!model) throw new Error(issues.map(formatIssue).join("\n"));
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const engine = new Engine({ model, registry, logger: pino({ level: "debug" }, stream) });
  return { engine, logs };
}

/** A SourceContext around a caller-supplied emit, for checking exactly when deliveries are acked. */
function sourceContext(
  connection: AmqpConnection,
  emit: (inits: MessageInit[]) => Promise<EmitResult>,
): SourceContext & { lostWith: unknown[]; abort: AbortController } {
  const abort = new AbortController();
  const lostWith: unknown[] = [];
  const base: ComponentContext = {
    owner: "direct",
    configDir: ".",
    logger: silentLogger(),
    connection: <T>() => connection as T,
    httpServer: () => {
      throw new Error("no http here");
    },
    evaluate: async () => undefined,
    render: async (template) => template,
  };
  return {
    ...base,
    signal: abort.signal,
    emit,
    deadLetter: async () => {},
    checkpoint: () => undefined,
    lost: (error) => {
      lostWith.push(error);
    },
    lostWith,
    abort,
  };
}

/** POST JSON to a webhook of the running engine and expect it taken in (202). */
async function accepted(
  running: RunningEngine,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const answer = await fetch(`${running.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  assert.equal(answer.status, 202, `POST ${path}`);
}

const rabbitmq = await serviceTest("rabbitmq");

// ---- tests --------------------------------------------------------------------------------------

describe("amqp connector", () => {
  test("config: bad amqp config gives clear errors", () => {
    const { model, issues } = parseYaml(
      `
connections:
  broker: { amqp: { url: "${AMQP_URL}", heartbeat: 10, topology: { queues: [ { name: q, type: lazy } ] } } }
routes:
  a:
    from: { amqp: { connection: broker, prefetchCount: 10 } }
    to: [ { amqp: { connection: brokr, exchange: x } } ]
`,
      "junction.yaml",
      builtinRegistry(),
      {},
    );
    assert.equal(model, undefined);
    const text = issues.map(formatIssue).join("\n");
    assert.match(text, /connections\.broker\.amqp\.heartbeat.*must be string/);
    assert.match(
      text,
      /connections\.broker\.amqp\.topology\.queues\[0\]\.type.*must be one of: classic, quorum/,
    );
    assert.match(text, /routes\.a\.from\.amqp.*missing required property "queue"/);
    assert.match(text, /unknown property "prefetchCount" \(expected one of: connection, queue, prefetch/);
    assert.match(text, /routes\.a\.to\[0\]\.amqp.*missing required property "routingKey"/);
    assert.match(text, /connection "brokr" is not declared under connections: \(did you mean "broker"\?\)/);

    // A URL that is not AMQP is refused at startup without echoing it (it may hold a password).
    assert.throws(
      () => new AmqpConnection("broker", { url: "http://user:s3cret@example.com" }, silentLogger()),
      (error: unknown) =>
        error instanceof ConfigError &&
        /amqp connection "broker": url must start with amqp:\/\//.test(error.message) &&
        !error.message.includes("s3cret"),
    );
    assert.throws(
      () =>
        new AmqpConnection(
          "broker",
          { url: AMQP_URL, topology: { queues: [{ name: "q", type: "quorum", durable: false }] } },
          silentLogger(),
        ),
      /quorum queue, which must be durable/,
    );
  });

  test("config: priority and expiration are checked before anything runs", () => {
    const { model, issues } = parseYaml(
      `
connections:
  broker: { amqp: { url: "${AMQP_URL}" } }
routes:
  a:
    from: { webhook: { path: /a } }
    to:
      - amqp: { connection: broker, routingKey: q, priority: 300, expiration: 30x }
      - amqp: { connection: broker, routingKey: q, priority: "high" }
      - amqp: { connection: broker, routingKey: q, priority: "{{ p }}", expiration: "{{ ttl }}" }
      - amqp: { connection: broker, routingKey: q, priority: 0, expiration: 500ms }
`,
      "junction.yaml",
      builtinRegistry(),
      {},
    );
    assert.equal(model, undefined);
    const text = issues.map(formatIssue).join("\n");
    assert.match(text, /junction\.yaml:8:.*routes\.a\.to\[0\]\.amqp\.priority: must be <= 255/);
    assert.match(text, /routes\.a\.to\[0\]\.amqp\.expiration/);
    assert.match(text, /routes\.a\.to\[1\]\.amqp\.priority: must match \\\{\\\{ \(a template/);
    assert.doesNotMatch(
      text,
      /priority: (must be string|must be integer|does not match any allowed form)/,
      "one complaint each, from the form the value has",
    );
    assert.doesNotMatch(text, /to\[2\]|to\[3\]/, "templates, 0 and a duration are fine");
  });

  test("payloads: JSON, text and bytes decode by content type and encode back unchanged", () => {
    assert.deepEqual(decodePayload(Buffer.from('{"a":1}'), "application/json; charset=utf-8", "x"), {
      ok: true,
      data: { a: 1 },
      datacontenttype: "application/json",
    });
    assert.deepEqual(decodePayload(Buffer.from("héllo"), "text/plain", "x"), {
      ok: true,
      data: "héllo",
      datacontenttype: "text/plain",
    });
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const binary = decodePayload(bytes, undefined, "application/octet-stream");
    assert.deepEqual(binary, {
      ok: true,
      data: bytes.toString("base64"),
      datacontenttype: "application/octet-stream",
    });
    assert.deepEqual(
      encodePayload((binary as { data: string }).data, "application/octet-stream").body,
      bytes,
    );
    const bad = decodePayload(Buffer.from("{nope"), "application/json", "x");
    assert.equal(bad.ok, false);
    assert.match((bad as { reason: string }).reason, /not valid JSON/);
    assert.equal(decodePayload(Buffer.from([0xc3, 0x28]), "text/plain", "x").ok, false);
    assert.deepEqual(encodePayload({ a: 1 }, undefined), {
      body: Buffer.from('{"a":1}'),
      contentType: "application/json",
    });
    assert.deepEqual(encodePayload("hi", "text/plain"), {
      body: Buffer.from("hi"),
      contentType: "text/plain",
    });
  });

  test(
    "round trip: queue → route → exchange keeps data, ids, trace context and headers",
    rabbitmq,
    async () => {
      const inQueue = name("rt.in");
      const outExchange = name("rt.out");
      const outQueue = name("rt.out");
      queues.add(inQueue).add(outQueue);
      exchanges.add(outExchange);
      const running = await startEngine(`
connections:
  broker:
    amqp:
      url: "${AMQP_URL}"
      topology:
        exchanges: [ { name: ${outExchange}, type: topic } ]
        queues: [ { name: ${inQueue} }, { name: ${outQueue}, type: quorum } ]
        bindings: [ { exchange: ${outExchange}, queue: ${outQueue}, routingKey: "order.#" } ]
routes:
  relay:
    from: { amqp: { connection: broker, queue: ${inQueue}, prefetch: 10 } }
    to: [ { amqp: { connection: broker, exchange: ${outExchange}, routingKey: "order.{{ status }}", headers: { route: "{{ $message.headers.tenant }}-relay" } } } ]
`);
      const out = await collect(outQueue);
      try {
        await publish(inQueue, JSON.stringify({ orderId: 1, status: "new" }), {
          contentType: "application/json",
          messageId: "order-1",
          correlationId: "corr-1",
          headers: {
            traceparent: TRACEPARENT,
            tracestate: "vendor=1",
            tenant: "acme",
            "ce-type": "order.created",
            attempt: 3,
          },
        });
        await publish(inQueue, "plain text", { contentType: "text/plain", messageId: "text-1" });
        const bytes = randomBytes(64);
        await publish(inQueue, bytes, { contentType: "application/octet-stream", messageId: "bytes-1" });
        await eventually(() => out.messages.length === 3, 10_000, "3 messages on the output queue");

        const json = out.messages.find((m) => m.messageId === "order-1")!;
        assert.deepEqual(json.body, { orderId: 1, status: "new" });
        assert.equal(json.contentType, "application/json");
        assert.equal(json.routingKey, "order.new");
        assert.equal(json.correlationId, "corr-1");
        assert.equal(json.durable, true, "persistent delivery");
        assert.equal(json.headers?.traceparent, TRACEPARENT);
        assert.equal(json.headers?.tracestate, "vendor=1");
        assert.equal(json.headers?.tenant, "acme");
        assert.equal(json.headers?.attempt, "3");
        assert.equal(json.headers?.route, "acme-relay");
        assert.equal(json.headers?.["ce-type"], "order.created");
        assert.equal(json.headers?.["ce-source"], `amqp://broker/${inQueue}`);
        assert.equal(json.headers?.["ce-subject"], inQueue, "the routing key is the subject");

        const text = out.messages.find((m) => m.messageId === "text-1")!;
        assert.equal(text.body, "plain text");
        assert.equal(text.contentType, "text/plain");
        assert.equal(text.correlationId, "text-1", "without a correlation id the message id is used");

        const binary = out.messages.find((m) => m.messageId === "bytes-1")!;
        assert.deepEqual(binary.body, bytes);
        assert.equal(binary.contentType, "application/octet-stream");

        const journal = await running.engine.store.journal({ correlationId: "corr-1" });
        assert.ok(journal.length > 0, "the hop is journalled under the correlation id");
        assert.equal(await ready(inQueue), 0);
      } finally {
        await out.stop();
        await running.stop();
      }
    },
  );

  test("ack after commit: a delivery is acknowledged only once emit resolved", rabbitmq, async () => {
    const queue = await declareQueue(name("ack.direct"));
    const connection = new AmqpConnection("broker", { url: AMQP_URL }, silentLogger());
    try {
      await publishMany(queue, 5);
      // 1. emit never resolves: every delivery is held, none acknowledged.
      let calls = 0;
      const held = sourceContext(connection, () => {
        calls++;
        // Held until the engine shuts down, which refuses it.
        return new Promise((_, reject) =>
          held.abort.signal.addEventListener("abort", () => reject(new ShuttingDownError())),
        );
      });
      const first = new AmqpSource({ connection: "broker", queue, prefetch: 10 }, held);
      await first.start(held);
      await eventually(() => calls > 0, 5000, "an emit");
      assert.equal(await ready(queue), 0, "all 5 handed out to the source");
      held.abort.abort();
      await first.stop();
      await eventually(
        async () => (await ready(queue)) === 5,
        5000,
        "the 5 unacknowledged deliveries back in the queue",
      );

      // 2. emit resolves: all stored, then acknowledged; nothing comes back after a stop.
      const stored: MessageInit[] = [];
      const ok = sourceContext(connection, async (inits) => {
        stored.push(...inits);
        return { ids: inits.map((_, i) => String(i)), duplicate: false };
      });
      const second = new AmqpSource({ connection: "broker", queue, prefetch: 10 }, ok);
      await second.start(ok);
      await eventually(() => stored.length === 5, 5000, "5 stored");
      await second.stop();
      assert.equal(await ready(queue), 0, "acknowledged deliveries are gone");
      assert.deepEqual(stored.map((init) => init.id).sort(), ["n-0", "n-1", "n-2", "n-3", "n-4"]);
      assert.deepEqual(stored[0].data, { n: Number(stored[0].id!.slice(2)) });
      assert.deepEqual(ok.lostWith, []);

      // 3. emit fails with ShuttingDownError: not acknowledged, redelivered later.
      await publishMany(queue, 1, 10);
      let refused = 0;
      const shutting = sourceContext(connection, async () => {
        refused++;
        throw new ShuttingDownError();
      });
      const third = new AmqpSource({ connection: "broker", queue }, shutting);
      await third.start(shutting);
      await eventually(() => refused === 1, 5000, "a refused emit");
      await third.stop();
      await eventually(
        async () => (await ready(queue)) === 1,
        5000,
        "the refused delivery back in the queue",
      );

      // 4. a refused batch, then stored ones: their acknowledgement must not cover the refused one.
      let attempts = 0;
      const kept: MessageInit[] = [];
      const mixed = sourceContext(connection, async (inits) => {
        if (attempts++ === 0) throw new ShuttingDownError();
        kept.push(...inits);
        return { ids: inits.map((_, i) => String(i)), duplicate: false };
      });
      const fourth = new AmqpSource({ connection: "broker", queue, prefetch: 10 }, mixed);
      await fourth.start(mixed);
      await eventually(() => attempts === 1, 5000, "the refused first batch");
      await publishMany(queue, 3, 20);
      await eventually(() => kept.length === 3, 5000, "3 later deliveries stored");
      await fourth.stop();
      await eventually(
        async () => (await ready(queue)) === 1,
        5000,
        "only the refused delivery back in the queue",
      );
    } finally {
      await connection.close();
    }
  });

  test(
    "ack after commit: an engine stopped mid-stream loses nothing; a restart delivers the rest",
    rabbitmq,
    async () => {
      const queue = await declareQueue(name("ack.engine"));
      const receiver = await new Receiver().start();
      const route = (limits: string) => `
connections:
  broker: { amqp: { url: "${AMQP_URL}" } }
routes:
  slow:
    ${limits}
    from: { amqp: { connection: broker, queue: ${queue}, prefetch: 30 } }
    to: [ { http: { url: "${receiver.url}/in" } } ]
`;
      let first: RunningEngine | undefined;
      let second: RunningEngine | undefined;
      try {
        await publishMany(queue, 300);
        // A small inbox: the source soon holds deliveries it cannot store yet (backpressure).
        receiver.delayMs = 20;
        first = await startEngine(route("maxDepth: 10\n    concurrency: 1"));
        await eventually(() => receiver.effects.size >= 5, 10_000, "the first deliveries");
        await first.stop();
        const left = await ready(queue);
        assert.ok(left > 0 && left < 300, `deliveries not yet stored went back to the queue (${left})`);
        receiver.delayMs = 0;
        second = await startEngine(route("concurrency: 8"), { dir: first.dir });
        await eventually(() => receiver.effects.size === 300, 20_000, "all 300 ids delivered");
        for (let n = 0; n < 300; n++) assert.ok(receiver.effects.has(`n-${n}`), `n-${n} delivered`);
        await eventually(async () => (await ready(queue)) === 0, 5000, "the queue drained");
      } finally {
        await first?.stop();
        await second?.stop();
        await receiver.close();
      }
    },
  );

  test(
    "undecodable and oversized deliveries become dead letters and are not redelivered",
    rabbitmq,
    async () => {
      const inQueue = name("bad.in");
      const brokerDlq = await declareQueue(name("bad.broker-dlq"));
      const outQueue = await declareQueue(name("bad.out"));
      queues.add(inQueue);
      const yaml = `
connections:
  broker:
    amqp:
      url: "${AMQP_URL}"
      topology:
        queues: [ { name: ${inQueue}, deadLetterExchange: "", deadLetterRoutingKey: ${brokerDlq} } ]
routes:
  strict:
    from: { amqp: { connection: broker, queue: ${inQueue}, maxMessageSize: 1kb } }
    to: [ { amqp: { connection: broker, routingKey: ${outQueue} } } ]
`;
      const first = await startEngine(yaml);
      const out = await collect(outQueue);
      try {
        await publish(inQueue, '{"orderId": 1,', { contentType: "application/json", messageId: "broken-1" });
        const big = Buffer.alloc(2048, "x");
        await publish(inQueue, big, { contentType: "text/plain", messageId: "big-1" });
        await publish(inQueue, '{"orderId": 2}', { contentType: "application/json", messageId: "good-1" });
        await eventually(() => out.messages.length === 1, 10_000, "the good message");
        assert.deepEqual(out.messages[0].body, { orderId: 2 });

        const dead = await eventually(
          async () => {
            const letters = await first.engine.store.deadLetters({ route: "strict" });
            return letters.length === 2 ? letters : undefined;
          },
          5000,
          "2 dead letters",
        );
        const broken = dead.find((letter) => letter.message.id === "broken-1")!;
        assert.equal(broken.error.code, "JUNCTION_AMQP_UNDECODABLE");
        assert.equal(broken.error.retryable, false);
        assert.match(
          broken.error.message,
          /amqp connection "broker" \(queue ".*"\): the payload is not valid JSON/,
        );
        assert.equal(Buffer.from(broken.message.data as string, "base64").toString(), '{"orderId": 1,');
        assert.equal(broken.message.datacontenttype, "application/octet-stream");
        assert.equal(broken.message.headers["original-content-type"], "application/json");

        const oversized = dead.find((letter) => letter.message.id === "big-1")!;
        assert.equal(oversized.error.code, "JUNCTION_AMQP_TOO_LARGE");
        assert.match(oversized.error.message, /2048 bytes, over maxMessageSize \(1000 bytes\)/);
        // Rejected without requeue: the queue's own dead-letter exchange keeps the whole message.
        await eventually(
          async () => (await ready(brokerDlq)) === 1,
          5000,
          "the oversized message in the broker's DLQ",
        );

        await first.stop();
        assert.equal(await ready(inQueue), 0, "nothing went back to the queue");
        const second = await startEngine(yaml, { dir: first.dir });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(
          (await second.engine.store.deadLetters({ route: "strict" })).length,
          2,
          "not redelivered",
        );
        await second.stop();
      } finally {
        await out.stop();
        await first.stop();
      }
    },
  );

  test("a connection cut mid-stream: the source recovers and every message arrives", rabbitmq, async () => {
    const inQueue = await declareQueue(name("cut.in"));
    const outQueue = await declareQueue(name("cut.out"));
    const proxy = await new TcpProxy(5672).start();
    const running = await startEngine(`
connections:
  flaky: { amqp: { url: "amqp://guest:guest@127.0.0.1:${proxy.port}", heartbeat: 5s } }
  direct: { amqp: { url: "${AMQP_URL}" } }
routes:
  relay:
    from: { amqp: { connection: flaky, queue: ${inQueue}, prefetch: 20 } }
    to: [ { amqp: { connection: direct, routingKey: ${outQueue} } } ]
`);
    const out = await collect(outQueue);
    const seen = () => new Set(out.messages.map((message) => message.messageId));
    try {
      await publishMany(inQueue, 200);
      await eventually(() => seen().size >= 20, 10_000, "the stream flowing");
      proxy.cut();
      await publishMany(inQueue, 200, 200);
      await eventually(() => seen().size === 400, 20_000, "all 400 after the cut");
      assert.ok(proxy.connections >= 1, "reconnected through the proxy");
      // Again, while the proxy refuses: the source waits with backoff and resumes.
      proxy.refuse(true);
      await publishMany(inQueue, 50, 400);
      await new Promise((resolve) => setTimeout(resolve, 700));
      proxy.refuse(false);
      await eventually(() => seen().size === 450, 20_000, "all 450 after the outage");
    } finally {
      await out.stop();
      await running.stop();
      await proxy.close();
    }
  });

  test(
    "sink: unroutable and missing-exchange publishes are dead letters; a broker nack is retried",
    rabbitmq,
    async () => {
      const nowhere = name("pub.nowhere");
      const limited = await declareQueue(name("pub.limited"), {
        "x-max-length": 1,
        "x-overflow": "reject-publish",
      });
      exchanges.add(nowhere);
      const running = await startEngine(`
connections:
  broker:
    amqp: { url: "${AMQP_URL}", topology: { exchanges: [ { name: ${nowhere}, type: direct, durable: false } ] } }
policies:
  quick: { retry: { attempts: 20, initial: 50ms, max: 200ms } }
routes:
  unroutable:
    from: { webhook: { path: /unroutable } }
    to: [ { amqp: { connection: broker, exchange: ${nowhere}, routingKey: "no.queue" } } ]
  missing:
    from: { webhook: { path: /missing } }
    to: [ { amqp: { connection: broker, exchange: ${name("pub.absent")}, routingKey: x } } ]
  limited:
    policy: quick
    from: { webhook: { path: /limited } }
    to: [ { amqp: { connection: broker, routingKey: ${limited} } } ]
`);
      try {
        const post = (path: string, body: unknown) =>
          fetch(`${running.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
        assert.equal((await post("/unroutable", { a: 1 })).status, 202);
        assert.equal((await post("/missing", { a: 2 })).status, 202);
        const dead = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters();
            return letters.length === 2 ? letters : undefined;
          },
          10_000,
          "2 dead letters",
        );
        const unroutable = dead.find((letter) => letter.route === "unroutable")!;
        assert.equal(unroutable.error.code, "JUNCTION_AMQP_UNROUTABLE");
        assert.equal(unroutable.error.retryable, false);
        assert.match(
          unroutable.error.message,
          /the broker returned the message: no queue is bound to exchange ".*" with routing key "no.queue" \(312 NO_ROUTE\)/,
        );
        assert.equal(unroutable.attempts.length, 1, "a permanent failure is not retried");
        const missing = dead.find((letter) => letter.route === "missing")!;
        assert.equal(missing.error.code, "JUNCTION_AMQP_NOT_FOUND");
        assert.match(missing.error.message, /NOT_FOUND - no exchange/);

        // The queue takes one message; the second publish is nacked (reject-publish) and retried.
        assert.equal((await post("/limited", { n: 1 })).status, 202);
        await eventually(async () => (await ready(limited)) === 1, 5000, "the first publish");
        assert.equal((await post("/limited", { n: 2 })).status, 202);
        await eventually(
          async () => {
            const journal = await running.engine.store.journal({ limit: 100 });
            return journal.some((entry) => entry.route === "limited" && entry.outcome === "retry");
          },
          5000,
          "a retry after the nack",
        );
        const retry = (await running.engine.store.journal({ limit: 100 })).find(
          (entry) => entry.route === "limited" && entry.outcome === "retry",
        );
        assert.equal(retry?.error?.code, "JUNCTION_AMQP_NACK");
        const first = await rabbit().basicGet({ queue: limited, noAck: true });
        assert.deepEqual(first?.body, { n: 1 });
        await eventually(
          async () => {
            const next = await rabbit().basicGet({ queue: limited, noAck: true });
            return next ? next.body : undefined;
          },
          5000,
          "the retried publish",
        ).then((body) => assert.deepEqual(body, { n: 2 }));
        assert.equal((await running.engine.store.deadLetters({ route: "limited" })).length, 0);
      } finally {
        await running.stop();
      }
    },
  );

  test(
    "sink: per-message priority orders a priority queue; expiration drops what waits too long; a bad rendering is a dead letter",
    rabbitmq,
    async () => {
      const ranked = await declareQueue(name("pub.ranked"), { "x-max-priority": 10 });
      const fleeting = await declareQueue(name("pub.fleeting"));
      const running = await startEngine(`
connections:
  broker: { amqp: { url: "${AMQP_URL}" } }
routes:
  ranked:
    concurrency: 1
    from: { webhook: { path: /ranked } }
    to: [ { amqp: { connection: broker, routingKey: ${ranked}, priority: "{{ urgency }}", expiration: 1h } } ]
  fixed:
    from: { webhook: { path: /fixed } }
    to: [ { amqp: { connection: broker, routingKey: ${ranked}, priority: 7 } } ]
  fleeting:
    from: { webhook: { path: /fleeting } }
    to: [ { amqp: { connection: broker, routingKey: ${fleeting}, expiration: "{{ ttl }}" } } ]
`);
      try {
        const post = (path: string, body: unknown) => accepted(running, path, body);
        for (const [n, urgency] of [
          [1, 1],
          [2, 9],
          [3, 5],
        ])
          await post("/ranked", { n, urgency });
        await post("/fixed", { n: 4 });
        await eventually(async () => (await ready(ranked)) === 4, 5000, "4 messages in the priority queue");
        const order: unknown[] = [];
        for (let i = 0; i < 4; i++) {
          const got = await rabbit().basicGet({ queue: ranked, noAck: true });
          assert.ok(got, "a message for each publish");
          order.push([(got.body as { n: number }).n, got.priority, got.expiration]);
        }
        assert.deepEqual(
          order,
          [
            [2, 9, "3600000"],
            [4, 7, undefined],
            [3, 5, "3600000"],
            [1, 1, "3600000"],
          ],
          "highest priority first; the TTL travels as milliseconds",
        );

        await post("/fleeting", { n: 1, ttl: "100ms" });
        await post("/fleeting", { n: 2, ttl: 60000 });
        await eventually(async () => (await ready(fleeting)) === 2, 5000, "both published");
        await eventually(async () => (await ready(fleeting)) === 1, 5000, "the 100 ms one expired");
        const kept = await rabbit().basicGet({ queue: fleeting, noAck: true });
        assert.deepEqual([kept?.body, kept?.expiration], [{ n: 2, ttl: 60000 }, "60000"]);

        await post("/ranked", { n: 5, urgency: "high" });
        await post("/fleeting", { n: 6, ttl: "soon" });
        const dead = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters();
            return letters.length === 2 ? letters : undefined;
          },
          10_000,
          "2 dead letters",
        );
        const byRoute = Object.fromEntries(dead.map((letter) => [letter.route, letter.error]));
        assert.equal(byRoute.ranked.code, "JUNCTION_AMQP_BAD_PROPERTY");
        assert.match(
          byRoute.ranked.message,
          /amqp sink in route "ranked": priority rendered as "high", not an integer from 0 to 255/,
        );
        assert.match(byRoute.fleeting.message, /expiration rendered as "soon", not a duration/);
        assert.equal(await ready(ranked), 0, "nothing published for them");
      } finally {
        await running.stop();
      }
    },
  );

  test(
    "request: enrich asks a service over direct reply-to; no queue fails at once; no reply times out and expires",
    rabbitmq,
    async () => {
      const service = await declareQueue(name("rpc.stock"));
      const silent = await declareQueue(name("rpc.silent"));
      const seen: AsyncMessage[] = [];
      const responder = rabbit().createConsumer(
        { queue: service, queueOptions: { passive: true } },
        async (request, reply) => {
          seen.push(request);
          const { sku } = request.body as { sku: string };
          if (sku === "TEXT") await reply("plain words", { contentType: "text/plain" });
          else if (sku === "BAD") await reply(Buffer.from("{oops"), { contentType: "application/json" });
          else await reply({ sku, warehouse: `W-${sku}` }, { contentType: "application/json" });
        },
      );
      const receiver = await new Receiver().start();
      const running = await startEngine(`
connections:
  broker: { amqp: { url: "${AMQP_URL}" } }
policies:
  twice: { retry: { attempts: 2, initial: 50ms, max: 50ms } }
routes:
  ask:
    from: { webhook: { path: /ask } }
    steps:
      - enrich: { with: { amqp: { connection: broker, routingKey: ${service}, headers: { tenant: "t-{{ sku }}" } } }, into: stock }
    to: [ { http: { url: "${receiver.url}/out" } } ]
  nobody:
    policy: twice
    from: { webhook: { path: /nobody } }
    steps:
      - enrich: { with: { amqp: { connection: broker, routingKey: ${name("rpc.absent")}, timeout: 10s } }, into: stock }
    to: [ { http: { url: "${receiver.url}/never" } } ]
  silent:
    policy: twice
    from: { webhook: { path: /silent } }
    steps:
      - enrich: { with: { amqp: { connection: broker, routingKey: ${silent}, timeout: 300ms } }, into: stock }
    to: [ { http: { url: "${receiver.url}/never" } } ]
`);
      try {
        const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
          accepted(running, path, body, headers);
        await post("/ask", { sku: "A1" }, { "x-correlation-id": "corr-42" });
        await post("/ask", { sku: "TEXT" });
        const out = await eventually(
          () => (receiver.requests.length >= 2 ? receiver.requests : undefined),
          10_000,
          "both enriched messages",
        );
        const bodies = out.map((request) => JSON.parse(request.body));
        assert.deepEqual(
          bodies.map((body) => body.stock),
          [{ sku: "A1", warehouse: "W-A1" }, "plain words"],
          "a JSON reply as data, a text reply as a string",
        );
        const first = seen[0];
        assert.deepEqual(first.body, { sku: "A1" });
        assert.equal(first.headers?.tenant, "t-A1");
        assert.equal(
          first.headers?.["correlation-id"],
          "corr-42",
          "the message's correlation id in the header",
        );
        assert.notEqual(first.correlationId, "corr-42", "the property carries the request's own id");
        assert.match(
          String(first.replyTo),
          /^amq\.rabbitmq\.reply-to\./,
          "direct reply-to (the broker names the channel)",
        );
        assert.equal(first.expiration, "5000", "the request expires with its timeout");

        const started = Date.now();
        await post("/ask", { sku: "BAD" });
        await post("/nobody", { sku: "B" });
        await post("/silent", { sku: "C" });
        const dead = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters();
            return letters.length === 3 ? letters : undefined;
          },
          10_000,
          "3 dead letters",
        );
        const byRoute = Object.fromEntries(dead.map((letter) => [letter.route, letter]));
        assert.equal(byRoute.ask.error.code, "JUNCTION_AMQP_BAD_REPLY");
        assert.match(byRoute.ask.error.message, /the reply cannot be read: the payload is not valid JSON/);
        assert.equal(byRoute.ask.attempts.length, 1, "an unreadable reply is not asked again");
        assert.equal(byRoute.nobody.error.code, "JUNCTION_AMQP_NO_RESPONDER");
        assert.match(byRoute.nobody.error.message, /the broker returned the request: no queue is bound/);
        assert.equal(byRoute.nobody.attempts.length, 2, "retried, then given up");
        assert.equal(byRoute.silent.error.code, "JUNCTION_AMQP_REPLY_TIMEOUT");
        assert.match(byRoute.silent.error.message, /no reply within 300 ms/);
        assert.ok(
          Date.now() - started < 8000,
          "a returned request fails at once, not after its 10 s timeout",
        );
        await eventually(async () => (await ready(silent)) === 0, 5000, "the unanswered requests expired");
        assert.equal(receiver.requests.length, 2);
      } finally {
        await running.stop();
        await responder.close();
        await receiver.close();
      }
    },
  );

  test(
    "request: a connection cut while a request waits fails it retryably; the retry gets the reply",
    rabbitmq,
    async () => {
      const service = await declareQueue(name("rpc.slow"));
      let asked = 0;
      const responder = rabbit().createConsumer(
        { queue: service, queueOptions: { passive: true } },
        async (request, reply) => {
          asked++;
          await new Promise((resolve) => setTimeout(resolve, 300));
          await reply({ answer: (request.body as { n: number }).n * 2 }, { contentType: "application/json" });
        },
      );
      const proxy = await new TcpProxy(5672).start();
      const receiver = await new Receiver().start();
      const running = await startEngine(`
connections:
  flaky: { amqp: { url: "amqp://guest:guest@127.0.0.1:${proxy.port}" } }
policies:
  steady: { retry: { attempts: 10, initial: 100ms, max: 500ms } }
routes:
  ask:
    policy: steady
    from: { webhook: { path: /ask } }
    steps:
      - enrich: { with: { amqp: { connection: flaky, routingKey: ${service}, timeout: 5s } }, into: result }
    to: [ { http: { url: "${receiver.url}/out" } } ]
`);
      try {
        await accepted(running, "/ask", { n: 21 });
        await eventually(() => asked >= 1, 5000, "the service to get the request");
        proxy.cut();
        const out = await eventually(
          () => (receiver.requests.length > 0 ? receiver.requests : undefined),
          10_000,
          "the enriched message",
        );
        assert.deepEqual(JSON.parse(out[0].body).result, { answer: 42 });
        assert.ok(asked >= 2, "asked again after the cut");
        const retry = (await running.engine.store.journal({ limit: 100 })).find(
          (entry) => entry.route === "ask" && entry.outcome === "retry",
        );
        assert.equal(retry?.error?.code, "JUNCTION_AMQP_CONNECTION");
        assert.match(String(retry?.error?.message), /closed while a request waited for its reply/);
      } finally {
        await running.stop();
        await responder.close();
        await receiver.close();
        await proxy.close();
      }
    },
  );

  test(
    "wrong credentials or no broker: the startup error names the connection, never the password",
    rabbitmq,
    async () => {
      const queue = await declareQueue(name("auth"));
      const { engine, logs } = await engineWithLogs(`
connections:
  broker: { amqp: { url: "amqp://guest:wrong-s3cret@127.0.0.1:5672" } }
routes:
  locked:
    from: { amqp: { connection: broker, queue: ${queue} } }
    to: [ { log: {} } ]
`);
      try {
        await eventually(
          () => logs.some((line) => line.includes('amqp connection \\"broker\\": ACCESS_REFUSED')),
          5000,
          "a log line naming the connection and the refusal",
        );
        assert.ok(!logs.join("").includes("wrong-s3cret"), "the password is never logged");
        const line = logs
          .map((text) => JSON.parse(text))
          .find((entry) => /amqp connection "broker"/.test(entry.msg));
        assert.match(
          line.msg,
          /^source could not start: amqp connection "broker": ACCESS_REFUSED - Login was refused/,
        );
        assert.ok(!line.msg.includes("\n"), "one line, no stack trace");
      } finally {
        await engine.stop();
      }

      const closed = new AmqpConnection(
        "nowhere",
        { url: "amqp://guest:guest@127.0.0.1:1", connectionTimeout: "2s" },
        silentLogger(),
      );
      const context = sourceContext(closed, async () => ({ ids: [], duplicate: false }));
      const source = new AmqpSource({ connection: "nowhere", queue }, context);
      await assert.rejects(source.start(context), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.match(error.message, /^amqp connection "nowhere": .*ECONNREFUSED/);
        return true;
      });
      await closed.close();
    },
  );

  test(
    "a topology that contradicts the broker stops the engine at startup, naming connection and queue",
    rabbitmq,
    async () => {
      const queue = await declareQueue(name("classic"));
      const { engine } = buildEngine(`
connections:
  broker: { amqp: { url: "${AMQP_URL}", topology: { queues: [ { name: ${queue}, type: quorum } ] } } }
routes:
  mismatch:
    from: { amqp: { connection: broker, queue: ${queue} } }
    to: [ { log: {} } ]
`);
      try {
        await assert.rejects(engine.start(), (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(
            error.message,
            /^amqp connection "broker": declaring queue "jt\..*\.classic": PRECONDITION_FAILED - inequivalent arg 'x-queue-type'/,
          );
          return true;
        });
      } finally {
        await engine.stop();
      }
    },
  );

  test("a missing queue is a retryable start error that says so", rabbitmq, async () => {
    const connection = new AmqpConnection("broker", { url: AMQP_URL }, silentLogger());
    const context = sourceContext(connection, async () => ({ ids: [], duplicate: false }));
    const source = new AmqpSource({ connection: "broker", queue: name("absent") }, context);
    try {
      await assert.rejects(source.start(context), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.match(
          error.message,
          /^amqp connection "broker": consuming queue "jt\..*\.absent": NOT_FOUND - no queue/,
        );
        return true;
      });
    } finally {
      await connection.close();
    }
  });
});
