import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { AckPolicy, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { eventually, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import type { ComponentContext, SourceContext } from "../../api/component.js";
import {
  BackpressureError,
  ConnectionError,
  DeliveryRejectedError,
  JunctionError,
  TimeoutError,
} from "../../api/errors.js";
import { createMessage, type Message, type MessageInit } from "../../api/message.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";
import { NatsConnectionInstance } from "./connection.js";
import { NatsRequester } from "./request.js";
import { JetStreamSink } from "./sink.js";
import { JetStreamSource } from "./source.js";

const SERVER = "nats://127.0.0.1:4222";
const nats = await serviceTest("nats");

/** Unique per run: stream names upper case, subjects lower case. */
function names() {
  const suffix = randomBytes(4).toString("hex");
  return {
    suffix,
    in: `JIN_${suffix}`,
    inSubject: `jin_${suffix}`,
    out: `JOUT_${suffix}`,
    outSubject: `jout_${suffix}`,
  };
}

function issuesOf(yaml: string): string[] {
  const { issues } = parseYaml(yaml, "junction.yaml", builtinRegistry(), {});
  return issues.map(formatIssue);
}

const fakeContext = {
  owner: "test",
  configDir: ".",
  logger: silentLogger(),
  render: async (template: string, data: unknown) =>
    template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key) => String((data as Record<string, unknown>)[key])),
} as unknown as ComponentContext;

async function errorOf(promise: Promise<unknown>): Promise<JunctionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof JunctionError, `a JunctionError, got ${error}`);
    return error;
  }
  assert.fail("expected a failure");
}

describe("nats connector: configuration", () => {
  test("schema errors name the property and what is expected", () => {
    const issues = issuesOf(`
connections:
  bus: { nats: { servers: [] } }
routes:
  r:
    from: { nats: { connection: bus, ackWait: soon, deliverPolicy: everything } }
    to: [ { nats: { connection: bus, subjct: x } } ]
`);
    const text = issues.join("\n");
    assert.match(text, /connections\.bus\.nats\.servers.*must NOT have fewer than 1 items/);
    assert.match(text, /missing required property "stream"/);
    assert.match(text, /ackWait.*a duration, e\.g\. 500ms/);
    assert.match(text, /deliverPolicy.*must be one of: all, new, last/);
    assert.match(text, /unknown property "subjct" \(did you mean "subject"\?\)/);
  });

  test("credentials in the wrong place and a connection of another kind are refused before anything runs", async () => {
    const refused = async (yaml: string, reason: RegExp) => {
      const { model, issues } = parseYaml(yaml, "junction.yaml", builtinRegistry(), {});
      assert.ok(model, issues.map(formatIssue).join("\n"));
      const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
      try {
        await assert.rejects(engine.start(), reason);
      } finally {
        await engine.stop();
      }
    };
    const base = `
engine: { store: { sqlite: { path: ${tempDir()}/s.db } }, http: { listen: "127.0.0.1:0" }, admin: { listen: "127.0.0.1:0" } }
`;
    await refused(
      `${base}
connections:
  bus: { nats: { servers: ["${SERVER}"], user: app } }
routes:
  r: { from: { nats: { connection: bus, stream: S } }, to: [ { log: {} } ] }
`,
      /`user` needs `password`/,
    );
    await refused(
      `${base}
connections:
  bus: { nats: { servers: ["nats://app:secret@127.0.0.1:4222"] } }
routes:
  r: { from: { nats: { connection: bus, stream: S } }, to: [ { log: {} } ] }
`,
      /not in the server URL/,
    );
    await refused(
      `${base}
connections:
  api: { http: { baseUrl: "http://127.0.0.1:9" } }
routes:
  r: { from: { nats: { connection: api, stream: S } }, to: [ { log: {} } ] }
`,
      /connection "api" is not a nats connection/,
    );
  });
});

describe("nats connector: against a real server", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  before(async () => {
    if (nats.skip) return;
    nc = await connect({ servers: SERVER, name: "junction-test" });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    if (nats.skip) return;
    for (const name of streams) await jsm.streams.delete(name).catch(() => {});
    await nc.close();
  });

  async function stream(name: string, subject: string, options: { duplicateWindowMs?: number } = {}) {
    streams.push(name);
    await jsm.streams.add({
      name,
      subjects: [`${subject}.>`],
      ...(options.duplicateWindowMs ? { duplicate_window: options.duplicateWindowMs * 1e6 } : {}),
    });
  }

  async function stored(name: string) {
    const info = await jsm.streams.info(name).catch(() => undefined);
    const out: { subject: string; data: unknown; headers: Record<string, string> }[] = [];
    for (let seq = info?.state.first_seq ?? 1; info && seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(name, { seq }).catch(() => null);
      if (!message) continue;
      const h: Record<string, string> = {};
      for (const [key, values] of message.header ?? []) h[key.toLowerCase()] = values[0];
      out.push({ subject: message.subject, data: JSON.parse(message.string()), headers: h });
    }
    return out;
  }

  const relay = (n: ReturnType<typeof names>, extra = "", servers = SERVER) => `
connections:
  bus: { nats: { servers: ["${servers}"] } }
routes:
  relay:
    from:
      nats: { connection: bus, stream: ${n.in}, declare: { subjects: ["${n.inSubject}.>"] }, ackWait: 1s, batch: 20${extra} }
    to: [ { nats: { connection: bus, subject: "${n.outSubject}.{{ kind }}", timeout: 1s } } ]
`;

  test("round trip: JetStream in, route, JetStream out; data and headers survive", nats, async () => {
    const n = names();
    streams.push(n.in);
    await stream(n.out, n.outSubject);
    const running = await startEngine(relay(n));
    try {
      const js = jetstream(nc);
      const h = headers();
      h.set("correlation-id", "corr-42");
      h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      h.set("X-Tenant", "acme");
      h.set("content-type", "application/json");
      await js.publish(`${n.inSubject}.created`, JSON.stringify({ kind: "order", qty: 3 }), {
        msgID: "order-1",
        headers: h,
      });
      const [out] = await eventually(
        async () => {
          const found = await stored(n.out);
          return found.length > 0 ? found : undefined;
        },
        5000,
        "the relayed message",
      );
      assert.equal(out.subject, `${n.outSubject}.order`);
      assert.deepEqual(out.data, { kind: "order", qty: 3 });
      assert.equal(out.headers["nats-msg-id"], "order-1", "the message id is the publisher's Nats-Msg-Id");
      assert.equal(out.headers["correlation-id"], "corr-42");
      assert.match(out.headers.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
      assert.equal(out.headers["x-tenant"], "acme");
      assert.equal(out.headers["content-type"], "application/json");
      assert.equal(out.headers["ce-type"], "junction.nats");
      assert.equal(out.headers["ce-source"], `nats:${n.in}`);
      assert.equal(out.headers["junction-nats-stream"], n.in);
      const [received] = await running.engine.store.journal({ correlationId: "corr-42" });
      assert.equal(received.messageId, "order-1");
    } finally {
      await running.stop();
    }
  });

  test("acknowledges only after the durable append: stopped mid-stream, nothing is lost", nats, async () => {
    const n = names();
    streams.push(n.in);
    await stream(n.out, n.outSubject);
    const js = jetstream(nc);
    await jsm.streams.add({ name: n.in, subjects: [`${n.inSubject}.>`] });
    const total = 300;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        js.publish(`${n.inSubject}.x`, JSON.stringify({ kind: "k", i })),
      ),
    );
    const dir = tempDir();
    let running = await startEngine(relay(n), { dir });
    await eventually(
      async () => (await jsm.streams.info(n.out)).state.messages >= 40,
      10_000,
      "some progress",
    );
    await running.stop();
    const firstRun = (await jsm.streams.info(n.out)).state.messages;
    assert.ok(firstRun < total, `stopped mid-stream (${firstRun} of ${total} relayed)`);
    running = await startEngine(relay(n), { dir });
    try {
      await eventually(async () => (await jsm.streams.info(n.out)).state.messages === total, 15_000, "all");
      const values = new Set((await stored(n.out)).map((m) => (m.data as { i: number }).i));
      assert.equal(values.size, total, "every message arrived, each stored once (stable ids + Nats-Msg-Id)");
    } finally {
      await running.stop();
    }
  });

  test(
    "source contract: ack only after emit resolved; slow emits kept alive; backpressure hands messages back",
    nats,
    async () => {
      const n = names();
      await stream(n.in, n.inSubject);
      const js = jetstream(nc);
      for (let i = 0; i < 5; i++) await js.publish(`${n.inSubject}.x`, JSON.stringify({ i }));
      const emits: { inits: MessageInit[]; settle: (error?: Error) => void; settled: boolean }[] = [];
      let hold = true;
      const lost: unknown[] = [];
      const context = {
        ...fakeContext,
        signal: new AbortController().signal,
        lost: (error: unknown) => lost.push(error),
        checkpoint: () => undefined,
        deadLetter: async () => {},
        emit: (inits: MessageInit[]) =>
          new Promise((resolve, reject) => {
            const emit = {
              inits,
              settled: false,
              settle: (error?: Error) => {
                emit.settled = true;
                if (error) reject(error);
                else resolve({ ids: [], duplicate: false });
              },
            };
            emits.push(emit);
            if (!hold) emit.settle();
          }),
      } as unknown as SourceContext;
      const connection = new NatsConnectionInstance({ servers: [SERVER] }, fakeContext);
      const source = new JetStreamSource(
        { connection: "bus", stream: n.in, ackWait: "1s", batch: 10 },
        connection,
        "contract",
      );
      const consumer = () => jsm.consumers.info(n.in, "junction-contract");
      await source.start(context);
      try {
        await eventually(() => emits.length === 1, 5000, "the first emit");
        assert.equal(
          (await consumer()).ack_floor.stream_seq,
          0,
          "nothing acknowledged while the emit is pending",
        );
        // Longer than ackWait: in-progress signals keep the server from redelivering.
        await new Promise((resolve) => setTimeout(resolve, 1600));
        assert.equal((await consumer()).delivered.consumer_seq, 5, "no redelivery during a slow emit");
        hold = false;
        emits[0].settle();
        await eventually(
          async () => (await consumer()).ack_floor.stream_seq === 5,
          3000,
          "acks after the emit",
        );
        assert.equal(emits.flatMap((emit) => emit.inits).length, 5, "each message emitted once");
        hold = true;
        const before = emits.length;
        await js.publish(`${n.inSubject}.x`, JSON.stringify({ i: 5 }));
        await eventually(() => emits.length === before + 1, 5000, "the next emit");
        const refusedAt = Date.now();
        emits[before].settle(new BackpressureError("route full", 300));
        await eventually(() => emits.length === before + 2, 5000, "the message offered again");
        assert.ok(Date.now() - refusedAt >= 250, "not before the delay the engine asked for");
        assert.equal(
          emits[before + 1].inits[0].id,
          emits[before].inits[0].id,
          "the same message id on redelivery",
        );
        emits[before + 1].settle();
        await eventually(async () => (await consumer()).num_ack_pending === 0, 3000, "acked");
        assert.deepEqual(lost, []);
      } finally {
        for (const emit of emits) if (!emit.settled) emit.settle(new Error("test over"));
        await source.stop();
        await connection.close();
      }
    },
  );

  test("a message taken by a reader that died is redelivered after ackWait", nats, async () => {
    const n = names();
    await stream(n.in, n.inSubject);
    await stream(n.out, n.outSubject);
    // The route's durable consumer, as a previous Junction process left it.
    await jsm.consumers.add(n.in, {
      durable_name: "junction-relay",
      ack_policy: AckPolicy.Explicit,
      ack_wait: 1e9,
    });
    const js = jetstream(nc);
    await js.publish(`${n.inSubject}.x`, JSON.stringify({ kind: "late" }));
    const consumer = await js.consumers.get(n.in, "junction-relay");
    const taken = await consumer.next({ expires: 2000 });
    assert.ok(taken, "the dead reader took the message");
    // ... and never acknowledged it.
    const running = await startEngine(relay(n));
    try {
      const [out] = await eventually(
        async () => {
          const found = await stored(n.out);
          return found.length > 0 ? found : undefined;
        },
        6000,
        "the redelivered message",
      );
      assert.deepEqual(out.data, { kind: "late" });
      await eventually(
        async () => (await jsm.consumers.info(n.in, "junction-relay")).num_ack_pending === 0,
        3000,
        "ack",
      );
    } finally {
      await running.stop();
    }
  });

  test(
    "an undecodable payload becomes a dead letter with its raw bytes and is never redelivered",
    nats,
    async () => {
      const n = names();
      streams.push(n.in);
      await stream(n.out, n.outSubject);
      const running = await startEngine(relay(n));
      try {
        const js = jetstream(nc);
        const h = headers();
        h.set("content-type", "application/json");
        h.set("correlation-id", "bad-1");
        const raw = Buffer.from('{"kind": "oops",');
        await js.publish(`${n.inSubject}.bad`, raw, { headers: h });
        await js.publish(`${n.inSubject}.good`, JSON.stringify({ kind: "fine" }));
        await eventually(async () => (await stored(n.out)).length === 1, 5000, "the good message");
        const [dead] = await eventually(
          async () => {
            const letters = await running.engine.store.deadLetters();
            return letters.length > 0 ? letters : undefined;
          },
          5000,
          "the dead letter",
        );
        assert.equal(dead.message.data, raw.toString("base64"));
        assert.equal(dead.message.datacontenttype, "application/octet-stream");
        assert.equal(dead.message.correlationId, "bad-1");
        assert.equal(dead.message.subject, `${n.inSubject}.bad`);
        assert.match(dead.error.message, /not valid JSON/);
        assert.equal(dead.error.code, "JUNCTION_NATS_UNDECODABLE");
        assert.equal(dead.message.headers["original-content-type"], "application/json");
        assert.equal(dead.error.details?.sequence, 1);
        // Past ackWait: terminated, so neither redelivered nor dead-lettered twice.
        await new Promise((resolve) => setTimeout(resolve, 1200));
        const info = await jsm.consumers.info(n.in, "junction-relay");
        assert.equal(info.num_ack_pending, 0);
        assert.equal(
          info.delivered.consumer_seq,
          2,
          "two deliveries: the bad message once, the good one once",
        );
        assert.equal((await running.engine.store.deadLetters()).length, 1);
      } finally {
        await running.stop();
      }
    },
  );

  test("the source recovers from connections cut mid-stream; every message arrives", nats, async () => {
    const n = names();
    streams.push(n.in);
    await stream(n.out, n.outSubject);
    const proxy = await new TcpProxy(4222).start();
    const running = await startEngine(
      `${relay(n, "", `nats://127.0.0.1:${proxy.port}`)}
policies:
  quick: { retry: { attempts: 50, initial: 50ms, max: 500ms } }
`.replace("    to: [", "    policy: quick\n    to: ["),
    );
    try {
      const js = jetstream(nc);
      const total = 200;
      for (let chunk = 0; chunk < 4; chunk++) {
        await Promise.all(
          Array.from({ length: total / 4 }, (_, i) =>
            js.publish(`${n.inSubject}.x`, JSON.stringify({ kind: "k", i: chunk * 50 + i })),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 150));
        await eventually(() => proxy.connections >= 2, 5000, "the source and sink connected again");
        if (chunk === 1) {
          // Down for a while: the engine's restarts fail, with backoff, until it is back.
          proxy.refuse();
          await new Promise((resolve) => setTimeout(resolve, 600));
          proxy.refuse(false);
        } else proxy.cut();
      }
      await eventually(
        async () => (await jsm.streams.info(n.out)).state.messages === total,
        20_000,
        "all 200",
      );
      const values = new Set((await stored(n.out)).map((m) => (m.data as { i: number }).i));
      assert.equal(values.size, total);
    } finally {
      await running.stop();
      await proxy.close();
    }
  });

  test(
    "sink: a repeated publish of one message is stored once; no stream is permanent; silence is retryable",
    nats,
    async () => {
      const n = names();
      await stream(n.out, n.outSubject);
      const connection = new NatsConnectionInstance({ servers: [SERVER] }, fakeContext);
      const sink = new JetStreamSink(
        { connection: "bus", subject: `${n.outSubject}.{{ kind }}` },
        connection,
        fakeContext,
      );
      const message = createMessage({ source: "test", type: "t", data: { kind: "a" } });
      const signal = new AbortController().signal;
      try {
        await sink.write(message, signal);
        await sink.write(message, signal); // a retry after a lost PubAck
        assert.equal((await jsm.streams.info(n.out)).state.messages, 1);
        await sink.write({ ...message, id: `${message.id}-2` }, signal);
        assert.equal((await jsm.streams.info(n.out)).state.messages, 2);

        const lost = new JetStreamSink(
          { connection: "bus", subject: `nowhere_${n.suffix}.x` },
          connection,
          fakeContext,
        );
        const rejected = await errorOf(lost.write(message, signal));
        assert.ok(rejected instanceof DeliveryRejectedError, String(rejected));
        assert.equal(rejected.code, "JUNCTION_NATS_NO_STREAM");

        const wrong = new JetStreamSink(
          { connection: "bus", subject: `${n.outSubject}.x`, stream: "SOMEWHERE_ELSE" },
          connection,
          fakeContext,
        );
        assert.ok((await errorOf(wrong.write(message, signal))) instanceof DeliveryRejectedError);

        const bad = new JetStreamSink(
          { connection: "bus", subject: "{{ kind }} x" },
          connection,
          fakeContext,
        );
        assert.equal((await errorOf(bad.write(message, signal))).code, "JUNCTION_NATS_INVALID_SUBJECT");
      } finally {
        await connection.close();
      }

      const proxy = await new TcpProxy(4222).start();
      const slow = new NatsConnectionInstance({ servers: [`nats://127.0.0.1:${proxy.port}`] }, fakeContext);
      try {
        const sinkViaProxy = new JetStreamSink(
          { connection: "bus", subject: `${n.outSubject}.{{ kind }}`, timeout: "300ms" },
          slow,
          fakeContext,
        );
        await sinkViaProxy.write(createMessage({ source: "t", type: "t", data: { kind: "b" } }), signal);
        proxy.blackhole();
        const silent = await errorOf(
          sinkViaProxy.write(createMessage({ source: "t", type: "t", data: { kind: "c" } }), signal),
        );
        assert.ok(silent instanceof TimeoutError && silent.retryable, String(silent));
        proxy.blackhole(false);
        proxy.cut();
        // The next write opens a new connection.
        await eventually(
          () =>
            sinkViaProxy
              .write(createMessage({ source: "t", type: "t", data: { kind: "d" } }), signal)
              .then(() => true),
          5000,
          "a write after the cut",
        );
      } finally {
        await slow.close();
        await proxy.close();
      }
    },
  );

  test(
    "sink: many writes in flight, bounded by maxInFlight, each resolves on its own PubAck",
    nats,
    async () => {
      const n = names();
      await stream(n.out, n.outSubject);
      const connection = new NatsConnectionInstance({ servers: [SERVER] }, fakeContext);
      const sink = new JetStreamSink(
        { connection: "bus", subject: `${n.outSubject}.x`, maxInFlight: 3 },
        connection,
        fakeContext,
      );
      try {
        const signal = new AbortController().signal;
        const messages = Array.from({ length: 40 }, (_, i) =>
          createMessage({ source: "t", type: "t", data: { i } }),
        );
        await Promise.all(messages.map((message) => sink.write(message, signal)));
        assert.equal((await jsm.streams.info(n.out)).state.messages, 40);

        // A caller that gives up is answered with its own reason, whether written or still waiting.
        const gaveUp = new AbortController();
        const writes = messages.map((message) =>
          sink.write({ ...message, id: `${message.id}-b` }, gaveUp.signal),
        );
        await new Promise((resolve) => setTimeout(resolve, 5)); // some written, some waiting
        gaveUp.abort(new Error("route timeout"));
        const outcomes = await Promise.allSettled(writes);
        for (const outcome of outcomes) {
          if (outcome.status === "rejected")
            assert.ok(outcome.reason instanceof ConnectionError, String(outcome.reason));
        }
        // Settled either way; a later write still goes through.
        await sink.write(createMessage({ source: "t", type: "t", data: { last: true } }), signal);
      } finally {
        await connection.close();
      }
    },
  );

  test(
    "request step: a real responder enriches the message; no responders and timeouts are retryable",
    nats,
    async () => {
      const n = names();
      await stream(n.out, n.outSubject);
      const seen: Record<string, string>[] = [];
      const service = nc.subscribe(`stock_${n.suffix}.lookup`, {
        callback: (_error, msg) => {
          const h: Record<string, string> = {};
          for (const [key, values] of msg.headers ?? []) h[key] = values[0];
          seen.push(h);
          const { sku } = msg.json<{ sku: string }>();
          msg.respond(JSON.stringify({ sku, available: 7 }));
        },
      });
      nc.subscribe(`broken_${n.suffix}`, {
        callback: (_error, msg) => {
          const h = headers();
          h.set("Nats-Service-Error-Code", "400");
          h.set("Nats-Service-Error", "unknown sku");
          msg.respond("", { headers: h });
        },
      });
      nc.subscribe(`mute_${n.suffix}`, { callback: () => {} });
      await nc.flush();
      const running = await startEngine(`
connections:
  bus: { nats: { servers: ["${SERVER}"] } }
routes:
  enrich:
    from: { webhook: { path: /orders } }
    steps:
      - enrich: { with: { nats: { connection: bus, subject: "stock_${n.suffix}.lookup", timeout: 1s } }, into: stock }
    to: [ { nats: { connection: bus, subject: "${n.outSubject}.enriched" } } ]
`);
      try {
        const response = await fetch(`${running.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-correlation-id": "req-7" },
          body: JSON.stringify({ sku: "A-1" }),
        });
        assert.equal(response.status, 202);
        const [out] = await eventually(
          async () => {
            const found = await stored(n.out);
            return found.length > 0 ? found : undefined;
          },
          5000,
          "the enriched message",
        );
        assert.deepEqual(out.data, { sku: "A-1", stock: { sku: "A-1", available: 7 } });
        assert.equal(seen[0]["correlation-id"], "req-7");
        assert.equal(seen[0]["content-type"], "application/json");
      } finally {
        await running.stop();
        service.unsubscribe();
      }

      const connection = new NatsConnectionInstance({ servers: [SERVER] }, fakeContext);
      const message: Message = createMessage({ source: "t", type: "t", data: { sku: "B" } });
      const signal = new AbortController().signal;
      const ask = (subject: string, timeout = "300ms") =>
        errorOf(
          new NatsRequester({ connection: "bus", subject, timeout }, connection, fakeContext).request(
            message,
            signal,
          ),
        );
      try {
        const nobody = await ask(`nobody_${n.suffix}`);
        assert.ok(nobody instanceof ConnectionError && nobody.retryable);
        assert.equal(nobody.code, "JUNCTION_NATS_NO_RESPONDERS");
        const mute = await ask(`mute_${n.suffix}`);
        assert.ok(mute instanceof TimeoutError && mute.retryable);
        const broken = await ask(`broken_${n.suffix}`);
        assert.ok(broken instanceof DeliveryRejectedError);
        assert.match(broken.message, /400: unknown sku/);
      } finally {
        await connection.close();
      }
    },
  );
});
