import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { eventually, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import type { ComponentContext, SourceContext } from "../../api/component.js";
import {
  BackpressureError,
  ConnectionError,
  DeliveryRejectedError,
  type JunctionError,
  TimeoutError,
} from "../../api/errors.js";
import { createMessage, type MessageInit } from "../../api/message.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";
import { RedisConnectionInstance } from "./connection.js";
import { RedisStreamSink } from "./sink.js";
import { RedisStreamSource } from "./source.js";

const URL = "redis://127.0.0.1:6379";
const redis = await serviceTest("redis");

const fakeContext = {
  owner: "test",
  configDir: ".",
  logger: silentLogger(),
  render: async (template: string, data: unknown) =>
    template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key) => String((data as Record<string, unknown>)[key])),
} as unknown as ComponentContext;

function issuesOf(yaml: string): string[] {
  const { issues } = parseYaml(yaml, "junction.yaml", builtinRegistry(), {});
  return issues.map(formatIssue);
}

describe("redis connector: configuration", () => {
  test("schema errors name the property and what is expected", () => {
    const text = issuesOf(`
connections:
  cache: { redis: { url: "redis://127.0.0.1:6379", db: -1 } }
routes:
  r:
    from: { redis: { connection: cache, format: xml, claimIdle: later } }
    to: [ { redis: { connection: cache, stream: out, maxlen: 5 } } ]
`).join("\n");
    assert.match(text, /db.*must be >= 0/);
    assert.match(text, /missing required property "stream"/);
    assert.match(text, /format: names one of: json, ndjson, csv/);
    assert.match(text, /claimIdle.*a duration/);
    assert.match(text, /unknown property "maxlen" \(did you mean "maxLen"\?\)/);
  });

  test("a URL that is not redis:// and a connection of another kind are refused before anything runs", async () => {
    const refused = async (yaml: string, reason: RegExp | ((error: Error) => boolean)) => {
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
  cache: { redis: { url: "http://user:hunter2@127.0.0.1:6379" } }
routes:
  r: { from: { redis: { connection: cache, stream: s } }, to: [ { log: {} } ] }
`,
      (error: Error) =>
        /must start with redis:\/\//.test(error.message) && !error.message.includes("hunter2"),
    );
    await refused(
      `${base}
connections:
  api: { http: { baseUrl: "http://127.0.0.1:9" } }
routes:
  r: { from: { redis: { connection: api, stream: s } }, to: [ { log: {} } ] }
`,
      /connection "api" is not a redis connection/,
    );
  });
});

describe("redis connector: against a real server", () => {
  let client: Redis;
  const keys: string[] = [];

  before(async () => {
    if (redis.skip) return;
    client = new Redis(URL);
  });

  after(async () => {
    if (redis.skip) return;
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  function names() {
    const suffix = randomBytes(4).toString("hex");
    const n = { in: `junction-test:${suffix}:in`, out: `junction-test:${suffix}:out` };
    keys.push(n.in, n.out);
    return n;
  }

  async function entries(stream: string) {
    const list = await client.xrange(stream, "-", "+");
    return list.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      return { id, fields };
    });
  }

  const relay = (n: { in: string; out: string }, url = URL, extra = "") => `
connections:
  cache: { redis: { url: "${url}" } }
policies:
  quick: { retry: { attempts: 50, initial: 50ms, max: 500ms } }
routes:
  relay:
    policy: quick
    from: { redis: { connection: cache, stream: "${n.in}", batch: 20, block: 1s, claimIdle: 500ms${extra} } }
    to: [ { redis: { connection: cache, stream: "${n.out}" } } ]
`;

  test("round trip: XADD in, route, XADD out; data, id and headers survive", redis, async () => {
    const n = names();
    const running = await startEngine(relay(n));
    try {
      const entryId = await client.xadd(
        n.in,
        "*",
        "data",
        JSON.stringify({ orderId: "SO-1", qty: 2 }),
        "correlation-id",
        "corr-9",
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "x-tenant",
        "acme",
      );
      const [out] = await eventually(
        async () => {
          const found = await entries(n.out);
          return found.length > 0 ? found : undefined;
        },
        5000,
        "the relayed entry",
      );
      assert.deepEqual(JSON.parse(out.fields.data), { orderId: "SO-1", qty: 2 });
      assert.equal(out.fields["correlation-id"], "corr-9");
      assert.match(out.fields.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      assert.equal(out.fields["x-tenant"], "acme");
      assert.equal(out.fields["ce-type"], "junction.redis");
      assert.equal(out.fields["junction-redis-entry"], entryId);
      assert.match(out.fields.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const pending = (await client.xpending(n.in, "junction-relay")) as [number];
      assert.equal(pending[0], 0, "acknowledged");
    } finally {
      await running.stop();
    }
  });

  test(
    "source contract: XACK only after emit resolved; slow emits are not claimed; backpressure offers again",
    redis,
    async () => {
      const n = names();
      for (let i = 0; i < 5; i++) await client.xadd(n.in, "*", "data", JSON.stringify({ i }));
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
      const connection = new RedisConnectionInstance({ url: URL }, fakeContext);
      const source = new RedisStreamSource(
        { connection: "cache", stream: n.in, claimIdle: "600ms", block: "20s" },
        connection,
        "contract",
      );
      const pendingCount = async () => ((await client.xpending(n.in, "junction-contract")) as [number])[0];
      await source.start(context);
      try {
        await eventually(() => emits.length === 1, 5000, "the first emit");
        assert.equal(emits[0].inits.length, 5);
        assert.equal(await pendingCount(), 5, "nothing acknowledged while the emit is pending");
        await new Promise((resolve) => setTimeout(resolve, 900));
        const detail = (await client.xpending(n.in, "junction-contract", "-", "+", 10)) as [
          string,
          string,
          number,
        ][];
        assert.ok(
          detail.every(([, , idle]) => idle < 600),
          `kept fresh during a slow emit: ${detail.map((d) => d[2])}`,
        );
        emits[0].settle();
        await eventually(async () => (await pendingCount()) === 0, 3000, "XACK after the emit");

        await client.xadd(n.in, "*", "data", JSON.stringify({ i: 5 }));
        await eventually(() => emits.length === 2, 5000, "the next emit");
        const refusedAt = Date.now();
        emits[1].settle(new BackpressureError("route full", 300));
        await eventually(() => emits.length === 3, 5000, "the entry offered again");
        assert.ok(Date.now() - refusedAt >= 250, "not before the delay the engine asked for");
        assert.equal(emits[2].inits[0].id, emits[1].inits[0].id);
        assert.equal(await pendingCount(), 1, "still pending while refused");
        hold = false;
        emits[2].settle();
        await eventually(async () => (await pendingCount()) === 0, 3000, "acked");
        assert.deepEqual(lost, []);
      } finally {
        for (const emit of emits) if (!emit.settled) emit.settle(new Error("test over"));
        const stopping = Date.now();
        await source.stop();
        assert.ok(Date.now() - stopping < 2000, "stop ends a blocked XREADGROUP (BLOCK 20s) at once");
        await connection.close();
      }
      const consumers = (await client.xinfo("CONSUMERS", n.in, "junction-contract")) as unknown[];
      assert.equal(consumers.length, 0, "a consumer without pending entries leaves the group on stop");
    },
  );

  test("stopped mid-stream and restarted: every entry arrives", redis, async () => {
    const n = names();
    const total = 300;
    const pipeline = client.pipeline();
    for (let i = 0; i < total; i++) pipeline.xadd(n.in, "*", "data", JSON.stringify({ i }));
    await pipeline.exec();
    const dir = tempDir();
    let running = await startEngine(relay(n), { dir });
    await eventually(async () => (await client.xlen(n.out)) >= 40, 10_000, "some progress");
    await running.stop();
    const firstRun = await client.xlen(n.out);
    assert.ok(firstRun < total, `stopped mid-stream (${firstRun} of ${total})`);
    running = await startEngine(relay(n), { dir });
    try {
      const ids = await eventually(
        async () => {
          const seen = new Set((await entries(n.out)).map((e) => JSON.parse(e.fields.data).i));
          return seen.size === total ? seen : undefined;
        },
        15_000,
        "every entry",
      );
      assert.equal(ids.size, total);
      await eventually(
        async () => ((await client.xpending(n.in, "junction-relay")) as [number])[0] === 0,
        3000,
        "acked",
      );
    } finally {
      await running.stop();
    }
  });

  test("entries a crashed consumer never acknowledged are claimed after claimIdle", redis, async () => {
    const n = names();
    await client.xgroup("CREATE", n.in, "junction-relay", "0", "MKSTREAM");
    await client.xadd(n.in, "*", "data", JSON.stringify({ late: true }));
    // A consumer of a previous process read it, then died before XACK.
    const read = await client.xreadgroup(
      "GROUP",
      "junction-relay",
      "dead-1",
      "COUNT",
      10,
      "STREAMS",
      n.in,
      ">",
    );
    assert.ok(read);
    const running = await startEngine(relay(n));
    try {
      const [out] = await eventually(
        async () => {
          const found = await entries(n.out);
          return found.length > 0 ? found : undefined;
        },
        5000,
        "the claimed entry",
      );
      assert.deepEqual(JSON.parse(out.fields.data), { late: true });
      await eventually(
        async () => ((await client.xpending(n.in, "junction-relay")) as [number])[0] === 0,
        3000,
        "acked",
      );
    } finally {
      await running.stop();
    }
  });

  test(
    "an undecodable entry becomes a dead letter with its raw bytes, and is acknowledged",
    redis,
    async () => {
      const n = names();
      const running = await startEngine(relay(n));
      try {
        const raw = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff]); // {"a":<invalid byte>
        await client.xadd(n.in, "*", "data", raw, "correlation-id", "bad-2");
        await client.xadd(n.in, "*", "payload", "wrong field");
        await client.xadd(n.in, "*", "data", JSON.stringify({ fine: true }));
        await eventually(async () => (await client.xlen(n.out)) === 1, 5000, "the good entry");
        const letters = await eventually(
          async () => {
            const found = await running.engine.store.deadLetters();
            return found.length === 2 ? found : undefined;
          },
          5000,
          "two dead letters",
        );
        const bad = letters.find((letter) => letter.message.correlationId === "bad-2");
        assert.ok(bad);
        assert.equal(bad.message.data, raw.toString("base64"));
        assert.match(bad.error.message, /not valid UTF-8/);
        assert.equal(bad.error.code, "JUNCTION_REDIS_UNDECODABLE");
        assert.equal(bad.error.details?.stream, n.in);
        const missing = letters.find((letter) => letter !== bad);
        assert.match(missing?.error.message ?? "", /has no "data" field/);
        assert.equal(((await client.xpending(n.in, "junction-relay")) as [number])[0], 0);
        await new Promise((resolve) => setTimeout(resolve, 700)); // past claimIdle: nothing comes back
        assert.equal((await running.engine.store.deadLetters()).length, 2);
      } finally {
        await running.stop();
      }
    },
  );

  test("the source recovers from connections cut mid-stream; every entry arrives", redis, async () => {
    const n = names();
    const proxy = await new TcpProxy(6379).start();
    const running = await startEngine(relay(n, `redis://127.0.0.1:${proxy.port}`));
    try {
      const total = 200;
      for (let chunk = 0; chunk < 4; chunk++) {
        const pipeline = client.pipeline();
        for (let i = 0; i < total / 4; i++)
          pipeline.xadd(n.in, "*", "data", JSON.stringify({ i: chunk * 50 + i }));
        await pipeline.exec();
        await new Promise((resolve) => setTimeout(resolve, 150));
        await eventually(() => proxy.connections >= 1, 5000, "connected again");
        if (chunk === 1) {
          // Down for a while: the engine's restarts fail, with backoff, until it is back.
          proxy.refuse();
          await new Promise((resolve) => setTimeout(resolve, 600));
          proxy.refuse(false);
        } else proxy.cut();
      }
      const seen = await eventually(
        async () => {
          const values = new Set((await entries(n.out)).map((e) => JSON.parse(e.fields.data).i));
          return values.size === total ? values : undefined;
        },
        20_000,
        "all 200",
      );
      assert.equal(seen.size, total);
    } finally {
      await running.stop();
      await proxy.close();
    }
  });

  test("sink: MAXLEN trimming, exact and approximate; refused commands are permanent", redis, async () => {
    const n = names();
    const exact = `${n.out}:exact`;
    const rough = `${n.out}:rough`;
    keys.push(exact, rough);
    const connection = new RedisConnectionInstance({ url: URL }, fakeContext);
    const signal = new AbortController().signal;
    try {
      const exactSink = new RedisStreamSink(
        { connection: "cache", stream: exact, maxLen: 10, approximate: false },
        connection,
        fakeContext,
      );
      const roughSink = new RedisStreamSink(
        { connection: "cache", stream: rough, maxLen: 10 },
        connection,
        fakeContext,
      );
      for (let i = 0; i < 250; i++) {
        const message = createMessage({ source: "t", type: "t", data: { i } });
        await exactSink.write(message, signal);
        await roughSink.write(message, signal);
      }
      assert.equal(await client.xlen(exact), 10);
      const [last] = await client.xrevrange(exact, "+", "-", "COUNT", 1);
      assert.deepEqual(JSON.parse(last[1][1]), { i: 249 });
      const approximate = await client.xlen(rough);
      assert.ok(approximate >= 10 && approximate < 250, `trimmed to about 10: ${approximate}`);

      await client.set(`${n.out}:string`, "not a stream");
      keys.push(`${n.out}:string`);
      const wrongType = new RedisStreamSink(
        { connection: "cache", stream: `${n.out}:string` },
        connection,
        fakeContext,
      );
      try {
        await wrongType.write(createMessage({ source: "t", type: "t", data: {} }), signal);
        assert.fail("expected WRONGTYPE");
      } catch (error) {
        assert.ok(error instanceof DeliveryRejectedError, String(error));
      }
    } finally {
      await connection.close();
    }
    const proxy = await new TcpProxy(6379).start();
    const partitioned = new RedisConnectionInstance(
      { url: `redis://127.0.0.1:${proxy.port}`, commandTimeout: "300ms" },
      fakeContext,
    );
    try {
      const sink = new RedisStreamSink({ connection: "cache", stream: exact }, partitioned, fakeContext);
      await sink.write(createMessage({ source: "t", type: "t", data: { before: true } }), signal);
      proxy.blackhole();
      try {
        await sink.write(createMessage({ source: "t", type: "t", data: { during: true } }), signal);
        assert.fail("expected a timeout");
      } catch (error) {
        assert.ok(error instanceof TimeoutError && error.retryable, String(error));
      }
      proxy.blackhole(false);
      // The silent connection was dropped: the next write opens a new one instead of timing out.
      await sink.write(createMessage({ source: "t", type: "t", data: { after: true } }), signal);
    } finally {
      await partitioned.close();
      await proxy.close();
    }

    const down = new RedisConnectionInstance({ url: "redis://127.0.0.1:1" }, fakeContext);
    try {
      await new RedisStreamSink({ connection: "cache", stream: "x" }, down, fakeContext).write(
        createMessage({ source: "t", type: "t", data: {} }),
        signal,
      );
      assert.fail("expected a connection error");
    } catch (error) {
      assert.ok(error instanceof ConnectionError && (error as JunctionError).retryable, String(error));
    } finally {
      await down.close();
    }
  });
});
