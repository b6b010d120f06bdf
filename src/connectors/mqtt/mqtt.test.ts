import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import mqtt, { type IPublishPacket, type MqttClient } from "mqtt";
import { pino } from "pino";
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
import { MqttConnection } from "./connection.js";
import { MqttSource } from "./source.js";

const MQTT_URL = "mqtt://127.0.0.1:1883";
const RUN = randomBytes(3).toString("hex");
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const mosquitto = await serviceTest("mosquitto");

// ---- raw clients, standing in for devices and other applications --------------------------------

const clients: MqttClient[] = [];
/** Client ids whose persistent sessions are removed at the end. */
const sessions = new Map<string, 4 | 5>();

async function rawClient(protocolVersion: 4 | 5 = 5): Promise<MqttClient> {
  const client = await mqtt.connectAsync(MQTT_URL, {
    protocolVersion,
    clientId: `jt-raw-${RUN}-${randomBytes(3).toString("hex")}`,
    reconnectPeriod: 0,
  });
  clients.push(client);
  return client;
}

/** Subscribe and keep every message. */
async function subscriber(filter: string): Promise<{ packets: IPublishPacket[] }> {
  const client = await rawClient();
  const packets: IPublishPacket[] = [];
  client.on("message", (_topic, _payload, packet) => packets.push(packet));
  await client.subscribeAsync(filter, { qos: 1 });
  return { packets };
}

async function publishMany(client: MqttClient, topic: string, count: number, from = 0): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      client.publishAsync(topic, JSON.stringify({ n: from + i }), {
        qos: 1,
        properties: { userProperties: { "ce-id": `n-${from + i}` } },
      }),
    ),
  );
}

async function forgetSession(clientId: string, protocolVersion: 4 | 5): Promise<void> {
  const client = await mqtt.connectAsync(MQTT_URL, {
    clientId,
    clean: true,
    protocolVersion,
    reconnectPeriod: 0,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
  });
  await client.endAsync();
}

after(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  for (const [clientId, version] of sessions) await forgetSession(clientId, version).catch(() => {});
});

// ---- engines ------------------------------------------------------------------------------------

async function engineWithLogs(yaml: string): Promise<{ engine: Engine; logs: string[] }> {
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
  await engine.start();
  return { engine, logs };
}

function sourceContext(
  connection: MqttConnection,
  emit: (inits: MessageInit[], signal: AbortSignal) => Promise<EmitResult>,
): SourceContext & { abort: AbortController; lostWith: unknown[] } {
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
    emit: (inits) => emit(inits, abort.signal),
    deadLetter: async () => {},
    checkpoint: () => undefined,
    lost: (error) => {
      lostWith.push(error);
    },
    abort,
    lostWith,
  };
}

const stored = async (inits: MessageInit[]): Promise<EmitResult> => ({
  ids: inits.map((_, i) => String(i)),
  duplicate: false,
});

// ---- tests --------------------------------------------------------------------------------------

describe("mqtt connector", () => {
  test("config: bad mqtt config gives clear errors", () => {
    const { model, issues } = parseYaml(
      `
connections:
  plant: { mqtt: { url: "http://127.0.0.1:1883", protocolVersion: 3, clean: "no" } }
routes:
  a:
    from: { mqtt: { connection: plant, topics: [], qos: 0 } }
    to: [ { mqtt: { connection: plant, topics: "x" } } ]
`,
      "junction.yaml",
      builtinRegistry(),
      {},
    );
    assert.equal(model, undefined);
    const text = issues.map(formatIssue).join("\n");
    assert.match(text, /connections\.plant\.mqtt\.url: must match \^\(mqtts\?\|wss\?\):\/\//);
    assert.match(text, /connections\.plant\.mqtt\.protocolVersion: must be one of: 4, 5/);
    assert.match(text, /connections\.plant\.mqtt\.clean: must be boolean/);
    assert.match(text, /routes\.a\.from\.mqtt\.topics: must NOT have fewer than 1 items/);
    assert.match(text, /routes\.a\.from\.mqtt\.qos: must be one of: 1, 2/);
    assert.match(text, /routes\.a\.to\[0\]\.mqtt: missing required property "topic"/);
    assert.match(text, /unknown property "topics" \(did you mean "topic"\?\)/);
    assert.throws(
      () => new MqttConnection("plant", { url: "mqtt://[nope" }, silentLogger()),
      (error: unknown) =>
        error instanceof ConfigError && /mqtt connection "plant": url is not a URL/.test(error.message),
    );
  });

  test(
    "round trip (MQTT 5 and 3.1.1): topic → route → topic keeps data, correlation id, trace context and headers",
    mosquitto,
    async () => {
      sessions.set(`jt-${RUN}-relay`, 5).set(`jt-${RUN}-v4-relay4`, 4);
      const running = await startEngine(`
connections:
  plant: { mqtt: { url: "${MQTT_URL}", clientId: jt-${RUN} } }
  plain: { mqtt: { url: "${MQTT_URL}", protocolVersion: 4, clientId: jt-${RUN}-v4 } }
routes:
  relay:
    from: { mqtt: { connection: plant, topics: ["jt/${RUN}/in/+"], group: relay } }
    to: [ { mqtt: { connection: plant, topic: "jt/${RUN}/out/{{ device }}", headers: { route: "{{ $message.headers.tenant }}-relay" } } } ]
  relay4:
    from: { mqtt: { connection: plain, topics: ["jt/${RUN}/in4/#"], qos: 2, contentType: text/plain } }
    to: [ { mqtt: { connection: plain, topic: "jt/${RUN}/out4", qos: 2 } } ]
`);
      try {
        const out = await subscriber(`jt/${RUN}/out/#`);
        const out4 = await subscriber(`jt/${RUN}/out4`);
        const device = await rawClient();
        await device.publishAsync(
          `jt/${RUN}/in/sensor-1`,
          JSON.stringify({ device: "sensor-1", celsius: 21.5 }),
          {
            qos: 1,
            properties: {
              contentType: "application/json",
              correlationData: Buffer.from("corr-1"),
              userProperties: { traceparent: TRACEPARENT, tenant: "acme", "ce-type": "reading" },
            },
          },
        );
        const device4 = await rawClient(4);
        await device4.publishAsync(`jt/${RUN}/in4/line/7`, "hello", { qos: 2 });
        await eventually(() => out.packets.length === 1 && out4.packets.length === 1, 10_000, "both outputs");

        const [packet] = out.packets;
        assert.equal(packet.topic, `jt/${RUN}/out/sensor-1`);
        assert.deepEqual(JSON.parse(packet.payload.toString()), { device: "sensor-1", celsius: 21.5 });
        assert.equal(packet.properties?.contentType, "application/json");
        assert.equal(Buffer.from(packet.properties?.correlationData ?? []).toString(), "corr-1");
        const user = packet.properties?.userProperties ?? {};
        assert.equal(user.traceparent, TRACEPARENT);
        assert.equal(user.tenant, "acme");
        assert.equal(user.route, "acme-relay");
        assert.equal(user["ce-type"], "reading");
        assert.equal(user["ce-subject"], `jt/${RUN}/in/sensor-1`, "the concrete topic is the subject");
        assert.equal(user["ce-source"], "mqtt://plant");

        // MQTT 3.1.1 carries the payload only.
        assert.equal(out4.packets[0].payload.toString(), "hello");
        assert.equal(out4.packets[0].properties?.userProperties, undefined);
        const journal = await running.engine.store.journal({ correlationId: "corr-1" });
        assert.ok(journal.length > 0, "journalled under the correlation id from correlationData");
      } finally {
        await running.stop();
      }
    },
  );

  test(
    "ack after commit (MQTT 3.1.1): a message not yet stored is redelivered; a stored one is not",
    mosquitto,
    async () => {
      const clientId = `jt-${RUN}-ack`;
      sessions.set(clientId, 4);
      const topic = `jt/${RUN}/ack`;
      const connection = new MqttConnection("plant", { url: MQTT_URL, protocolVersion: 4 }, silentLogger());
      const config = { connection: "plant", topics: [topic], clientId, contentType: "application/json" };
      try {
        // 1. The store never answers before shutdown: the message is held, not acknowledged.
        let calls = 0;
        const held = sourceContext(connection, (_inits, signal) => {
          calls++;
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(new ShuttingDownError())),
          );
        });
        const first = new MqttSource(config, held);
        await first.start(held);
        const device = await rawClient(4);
        await device.publishAsync(topic, JSON.stringify({ n: 1 }), { qos: 1 });
        await eventually(() => calls === 1, 5000, "the message handed to emit");
        held.abort.abort();
        await first.stop();

        // 2. The persistent session gives it again; this time it is stored, then acknowledged.
        const kept: MessageInit[] = [];
        const ok = sourceContext(connection, async (inits) => {
          kept.push(...inits);
          return stored(inits);
        });
        const second = new MqttSource(config, ok);
        await second.start(ok);
        await eventually(() => kept.length === 1, 5000, "the unacknowledged message redelivered");
        assert.deepEqual(kept[0].data, { n: 1 });
        assert.equal(kept[0].subject, topic);
        await second.stop();

        // 3. Acknowledged: not delivered a third time.
        const none: MessageInit[] = [];
        const context = sourceContext(connection, async (inits) => {
          none.push(...inits);
          return stored(inits);
        });
        const third = new MqttSource(config, context);
        await third.start(context);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await third.stop();
        assert.deepEqual(none, []);
      } finally {
        await connection.close();
      }
    },
  );

  test(
    "undecodable and oversized payloads become dead letters with their bytes and are not redelivered",
    mosquitto,
    async () => {
      sessions.set(`jt-${RUN}-strict`, 5);
      const receiver = await new Receiver().start();
      const yaml = `
connections:
  plant: { mqtt: { url: "${MQTT_URL}", clientId: jt-${RUN} } }
routes:
  strict:
    from: { mqtt: { connection: plant, topics: ["jt/${RUN}/bad/#"], maxMessageSize: 1kb } }
    to: [ { http: { url: "${receiver.url}/in" } } ]
`;
      const first = await startEngine(yaml);
      let second: RunningEngine | undefined;
      try {
        const device = await rawClient();
        await device.publishAsync(`jt/${RUN}/bad/a`, "not json at all", { qos: 1 });
        await device.publishAsync(`jt/${RUN}/bad/b`, Buffer.alloc(2048, "x"), {
          qos: 1,
          properties: { contentType: "text/plain" },
        });
        await device.publishAsync(`jt/${RUN}/bad/c`, JSON.stringify({ ok: true }), { qos: 1 });
        await eventually(() => receiver.requests.length === 1, 10_000, "the good message");
        assert.deepEqual(JSON.parse(receiver.requests[0].body), { ok: true });
        const dead = await eventually(
          async () => {
            const letters = await first.engine.store.deadLetters({ route: "strict" });
            return letters.length === 2 ? letters : undefined;
          },
          5000,
          "2 dead letters",
        );
        const undecodable = dead.find((letter) => letter.error.code === "JUNCTION_MQTT_UNDECODABLE")!;
        assert.match(
          undecodable.error.message,
          /mqtt connection "plant": the payload on "jt\/.*\/bad\/a": the payload is not valid JSON/,
        );
        assert.equal(Buffer.from(undecodable.message.data as string, "base64").toString(), "not json at all");
        assert.equal(undecodable.message.subject, `jt/${RUN}/bad/a`);
        const oversized = dead.find((letter) => letter.error.code === "JUNCTION_MQTT_TOO_LARGE")!;
        assert.match(oversized.error.message, /2048 bytes, over maxMessageSize \(1000 bytes\)/);
        await first.stop();
        second = await startEngine(yaml, { dir: first.dir });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(
          (await second.engine.store.deadLetters({ route: "strict" })).length,
          2,
          "not redelivered",
        );
      } finally {
        await first.stop();
        await second?.stop();
        await receiver.close();
      }
    },
  );

  test(
    "persistent session: QoS 1 messages published while the engine was down arrive after the restart",
    mosquitto,
    async () => {
      sessions.set(`jt-${RUN}-persist`, 5);
      const receiver = await new Receiver().start();
      const yaml = `
connections:
  plant: { mqtt: { url: "${MQTT_URL}", clientId: jt-${RUN}, sessionExpiry: 5m } }
routes:
  persist:
    from: { mqtt: { connection: plant, topics: ["jt/${RUN}/persist/+"] } }
    to: [ { http: { url: "${receiver.url}/in" } } ]
`;
      const first = await startEngine(yaml);
      await first.stop();
      const device = await rawClient();
      await publishMany(device, `jt/${RUN}/persist/a`, 20);
      const second = await startEngine(yaml);
      try {
        await eventually(() => receiver.effects.size === 20, 10_000, "the 20 messages queued by the broker");
        for (let n = 0; n < 20; n++) assert.ok(receiver.effects.has(`n-${n}`));
      } finally {
        await second.stop();
        await receiver.close();
      }
    },
  );

  test(
    "a connection cut mid-stream: the source reconnects, subscribes again and every message arrives",
    mosquitto,
    async () => {
      sessions.set(`jt-${RUN}-cut`, 5);
      const proxy = await new TcpProxy(1883).start();
      const receiver = await new Receiver().start();
      const running = await startEngine(`
connections:
  flaky: { mqtt: { url: "mqtt://127.0.0.1:${proxy.port}", clientId: jt-${RUN}, keepalive: 5s } }
routes:
  cut:
    from: { mqtt: { connection: flaky, topics: ["jt/${RUN}/cut/#"] } }
    to: [ { http: { url: "${receiver.url}/in" } } ]
`);
      try {
        const device = await rawClient();
        await publishMany(device, `jt/${RUN}/cut/x`, 100);
        await eventually(() => receiver.effects.size >= 10, 10_000, "the stream flowing");
        proxy.cut();
        await publishMany(device, `jt/${RUN}/cut/x`, 100, 100);
        await eventually(() => receiver.effects.size === 200, 20_000, "all 200 after the cut");
        proxy.refuse(true);
        await publishMany(device, `jt/${RUN}/cut/x`, 50, 200);
        await new Promise((resolve) => setTimeout(resolve, 700));
        proxy.refuse(false);
        await eventually(() => receiver.effects.size === 250, 20_000, "all 250 after the outage");
        for (let n = 0; n < 250; n++) assert.ok(receiver.effects.has(`n-${n}`), `n-${n}`);
      } finally {
        await running.stop();
        await receiver.close();
        await proxy.close();
      }
    },
  );

  test(
    "request: enrich asks a device over MQTT 5 request-response; silence times out; a 3.1.1 connection is refused",
    mosquitto,
    async () => {
      const topic = `jt/${RUN}/status/get`;
      const service = await rawClient();
      const asked: IPublishPacket[] = [];
      service.on("message", (_topic, payload, packet) => {
        asked.push(packet);
        const { device } = JSON.parse(payload.toString()) as { device: string };
        const answer =
          device === "TEXT"
            ? "all fine"
            : device === "BAD"
              ? "{oops"
              : JSON.stringify({ device, status: "ok" });
        void service.publishAsync(String(packet.properties?.responseTopic), answer, {
          qos: 1,
          properties: {
            correlationData: packet.properties?.correlationData,
            contentType: device === "TEXT" ? "text/plain" : "application/json",
          },
        });
      });
      await service.subscribeAsync(topic, { qos: 1 });
      const receiver = await new Receiver().start();
      const running = await startEngine(`
connections:
  plant: { mqtt: { url: "${MQTT_URL}", clientId: "jt-${RUN}-req" } }
policies:
  once: { retry: { attempts: 1 } }
routes:
  ask:
    from: { webhook: { path: /ask } }
    steps:
      - enrich: { with: { mqtt: { connection: plant, topic: "${topic}", headers: { site: "s-{{ device }}" } } }, into: status }
    to: [ { http: { url: "${receiver.url}/out" } } ]
  silent:
    policy: once
    from: { webhook: { path: /silent } }
    steps:
      - enrich: { with: { mqtt: { connection: plant, topic: "jt/${RUN}/nobody", timeout: 300ms } }, into: status }
    to: [ { http: { url: "${receiver.url}/never" } } ]
`);
      try {
        const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
          const answer = await fetch(`${running.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify(body),
          });
          assert.equal(answer.status, 202);
        };
        await post("/ask", { device: "D1" }, { "x-correlation-id": "corr-7" });
        await post("/ask", { device: "TEXT" });
        const out = await eventually(
          () => (receiver.requests.length >= 2 ? receiver.requests : undefined),
          10_000,
          "both enriched messages",
        );
        assert.deepEqual(
          out
            .map((request) => JSON.parse(request.body).status)
            .sort((a, b) => String(a).localeCompare(String(b))),
          [{ device: "D1", status: "ok" }, "all fine"].sort((a, b) => String(a).localeCompare(String(b))),
          "a JSON reply as data, a text reply as a string",
        );
        const first = asked.find((packet) => JSON.parse(packet.payload.toString()).device === "D1")!;
        const properties = first.properties?.userProperties as Record<string, string>;
        assert.equal(
          properties["correlation-id"],
          "corr-7",
          "the message's correlation id as a user property",
        );
        assert.equal(properties.site, "s-D1");
        assert.match(
          String(first.properties?.responseTopic),
          /^junction\/replies\/jt-.*-req-req-[0-9a-f]{8}$/,
        );
        assert.notEqual(
          first.properties?.correlationData?.toString(),
          "corr-7",
          "correlation data of its own",
        );

        await post("/ask", { device: "BAD" });
        const unreadable = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters({ route: "ask" });
            return letters.length === 1 ? letters : undefined;
          },
          10_000,
          "the unreadable reply's dead letter",
        );
        assert.equal(unreadable[0].error.code, "JUNCTION_MQTT_BAD_REPLY");
        assert.match(unreadable[0].error.message, /the reply cannot be read: the payload is not valid JSON/);

        await post("/silent", { device: "D2" });
        const dead = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters({ route: "silent" });
            return letters.length === 1 ? letters : undefined;
          },
          10_000,
          "the dead letter",
        );
        assert.equal(dead[0].error.code, "JUNCTION_MQTT_REPLY_TIMEOUT");
        assert.match(dead[0].error.message, /request to "jt\/.*\/nobody": no reply within 300 ms/);
        assert.equal(receiver.requests.length, 2);
      } finally {
        await running.stop();
        await receiver.close();
      }

      const { model, issues } = parseYaml(
        `
connections:
  old: { mqtt: { url: "${MQTT_URL}", protocolVersion: 4 } }
routes:
  a:
    from: { webhook: { path: /a } }
    steps:
      - enrich: { with: { mqtt: { connection: old, topic: t } }, into: x }
    to: [ { log: {} } ]
`,
        "junction.yaml",
        builtinRegistry(),
        {},
      );
      assert.ok(model, issues.map(formatIssue).join("\n"));
      const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
      await assert.rejects(
        engine.start().finally(() => engine.stop().catch(() => {})),
        (error: unknown) => error instanceof ConfigError && /a request needs MQTT 5/.test(error.message),
      );
    },
  );

  test(
    "request: a connection cut while a request waits fails it retryably; the retry gets the reply",
    mosquitto,
    async () => {
      const topic = `jt/${RUN}/slow/get`;
      const service = await rawClient();
      let asked = 0;
      service.on("message", (_topic, payload, packet) => {
        asked++;
        setTimeout(() => {
          void service.publishAsync(
            String(packet.properties?.responseTopic),
            JSON.stringify({ twice: JSON.parse(payload.toString()).n * 2 }),
            {
              qos: 1,
              properties: {
                correlationData: packet.properties?.correlationData,
                contentType: "application/json",
              },
            },
          );
        }, 300);
      });
      await service.subscribeAsync(topic, { qos: 1 });
      const proxy = await new TcpProxy(1883).start();
      const receiver = await new Receiver().start();
      const running = await startEngine(`
connections:
  flaky: { mqtt: { url: "mqtt://127.0.0.1:${proxy.port}", clientId: "jt-${RUN}-flaky" } }
policies:
  steady: { retry: { attempts: 10, initial: 100ms, max: 500ms } }
routes:
  ask:
    policy: steady
    from: { webhook: { path: /ask } }
    steps:
      - enrich: { with: { mqtt: { connection: flaky, topic: "${topic}", timeout: 5s } }, into: result }
    to: [ { http: { url: "${receiver.url}/out" } } ]
`);
      try {
        const answer = await fetch(`${running.url}/ask`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ n: 21 }),
        });
        assert.equal(answer.status, 202);
        await eventually(() => asked >= 1, 5000, "the service to get the request");
        proxy.cut();
        const out = await eventually(
          () => (receiver.requests.length > 0 ? receiver.requests : undefined),
          10_000,
          "the enriched message",
        );
        assert.deepEqual(JSON.parse(out[0].body).result, { twice: 42 });
        assert.ok(asked >= 2, "asked again after the cut");
        const retry = (await running.engine.store.journal({ limit: 100 })).find(
          (entry) => entry.route === "ask" && entry.outcome === "retry",
        );
        assert.equal(retry?.error?.code, "JUNCTION_MQTT_CONNECTION");
      } finally {
        await running.stop();
        await receiver.close();
        await proxy.close();
      }
    },
  );

  test("no broker: the startup error names the connection", mosquitto, async () => {
    const { engine, logs } = await engineWithLogs(`
connections:
  plant: { mqtt: { url: "mqtt://127.0.0.1:1", password: "s3cret-pw", username: u } }
routes:
  down:
    from: { mqtt: { connection: plant, topics: ["x/#"] } }
    to: [ { log: {} } ]
`);
    try {
      const line = await eventually(
        () =>
          logs
            .map((text) => JSON.parse(text))
            .find((entry) => typeof entry.msg === "string" && entry.msg.includes('mqtt connection "plant"')),
        5000,
        "a log line naming the connection",
      );
      assert.match(
        line.msg,
        /^source could not start: mqtt connection "plant": connect ECONNREFUSED 127\.0\.0\.1:1/,
      );
      assert.ok(!logs.join("").includes("s3cret-pw"), "the password is never logged");
    } finally {
      await engine.stop();
    }
    const connection = new MqttConnection(
      "nowhere",
      { url: "mqtt://127.0.0.1:1", connectTimeout: "2s" },
      silentLogger(),
    );
    const context = sourceContext(connection, stored);
    await assert.rejects(
      new MqttSource({ connection: "nowhere", topics: ["x"] }, context).start(context),
      (error) => {
        assert.ok(error instanceof ConnectionError);
        assert.match(error.message, /^mqtt connection "nowhere": connect ECONNREFUSED/);
        return true;
      },
    );
    await connection.close();
  });
});
