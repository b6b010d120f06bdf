import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, type RunningEngine, startEngine, tempDir } from "../helpers/engine.js";
import { exited, freePort, spawnJunction, waitReady } from "../helpers/process.js";
import { Receiver } from "../helpers/receiver.js";
import { serviceTest } from "../helpers/services.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import type { Destination, Fixture, RawHeaders, RawMessage, Written } from "./fixture.js";
import { amqpFixture } from "./fixtures/amqp.js";
import { mqttFixture } from "./fixtures/mqtt.js";
import { natsFixture } from "./fixtures/nats.js";
import { redisFixture } from "./fixtures/redis.js";
import { mysqlFixture, postgresFixture } from "./fixtures/sql.js";

/**
 * The shared conformance suite: the same scenarios against every broker and database connector,
 * each against its real service. See README.md beside this file for the scenarios and what each
 * connector carries.
 *
 * CONFORMANCE_ONLY=amqp,mqtt runs a subset; CONFORMANCE_N changes the batch size (default 50);
 * CONFORMANCE_CONCURRENCY sets how many connectors run at once (default 3).
 */
const FIXTURES: Fixture[] = [
  amqpFixture(),
  mqttFixture(5),
  mqttFixture(4),
  natsFixture(),
  redisFixture(),
  postgresFixture(),
  mysqlFixture(),
];

const ONLY = process.env.CONFORMANCE_ONLY?.split(",").map((name) => name.trim());
const N = Number(process.env.CONFORMANCE_N ?? 50);
const RUN = randomBytes(3).toString("hex");
/** Eventual delivery: generous, the machine is shared and loaded. Counts stay strict. */
const ARRIVAL_MS = 90_000;
const TEST_MS = 240_000;
const LEAK_REPORT = fileURLToPath(new URL("./leak-report.mjs", import.meta.url));
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the integration under test -------------------------------------------------------------------

interface Shape {
  /** Port the connection reaches (the real server, or a TCP proxy in front of it). */
  port?: number;
  /** Throttle the route (messages a second) so a fault lands while the stream is flowing. */
  perSecond?: number;
  /** More `to:` entries after the connector's sink. */
  extraSinks?: string[];
}

/** One route: the connector's source → (throttle) → the connector's sink, with quick retries. */
function integration(fixture: Fixture, destination: Destination, shape: Shape = {}): string {
  const steps = shape.perSecond
    ? `\n    steps: [ { throttle: { perSecond: ${shape.perSecond}, burst: 1 } } ]`
    : "";
  const to = [fixture.sink(destination), ...(shape.extraSinks ?? [])].join(", ");
  return `
connections:
  conn: ${fixture.connection(destination, shape.port ?? fixture.port)}
policies:
  quick: { retry: { attempts: 30, backoff: exponential, initial: 50ms, max: 1s, jitter: full } }
routes:
  ${destination.route}:
    from: ${fixture.source(destination)}${steps}
    to: [ ${to} ]
    policy: quick
`;
}

/** Messages `{ run: tag, n }` for n in [from, from + count). */
function batch(tag: string, from: number, count: number, headers?: RawHeaders): RawMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    data: { run: tag, n: from + i, text: `message ${from + i} of ${tag}` },
    ...(headers ? { headers } : {}),
  }));
}

/** Deliveries per `n`; throws on anything that is not one of the messages sent with this tag. */
function tally(tag: string, written: Written[], expected: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const item of written) {
    const data = item.data as { run?: unknown; n?: unknown; text?: unknown };
    assert.equal(data?.run, tag, `unexpected message in the output: ${JSON.stringify(item.data)}`);
    const n = Number(data.n);
    assert.ok(Number.isInteger(n) && n >= 0 && n < expected, `unexpected n in ${JSON.stringify(item.data)}`);
    assert.deepEqual(data, { run: tag, n, text: `message ${n} of ${tag}` }, "data carried as sent");
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}

/** Wait until every one of `expected` messages was written at least once; returns the deliveries per n. */
async function arrival(
  fixture: Fixture,
  destination: Destination,
  expected: number,
  timeoutMs = ARRIVAL_MS,
): Promise<Map<number, number>> {
  let counts = new Map<number, number>();
  try {
    await eventually(
      async () => {
        counts = tally(destination.tag, await fixture.read(destination), expected);
        return counts.size === expected;
      },
      timeoutMs,
      `all ${expected} messages in the output`,
    );
  } catch (error) {
    const missing = Array.from({ length: expected }, (_, n) => n).filter((n) => !counts.has(n));
    throw new Error(
      `${(error as Error).message}: ${counts.size}/${expected} arrived, missing n = ${missing.slice(0, 30).join(",")}${missing.length > 30 ? ",..." : ""}`,
    );
  }
  return counts;
}

async function atLeast(fixture: Fixture, destination: Destination, count: number, expected: number) {
  await eventually(
    async () => tally(destination.tag, await fixture.read(destination), expected).size >= count,
    ARRIVAL_MS,
    `${count} messages flowing`,
  );
  return tally(destination.tag, await fixture.read(destination), expected).size;
}

function duplicates(counts: Map<number, number>): number {
  let extra = 0;
  for (const count of counts.values()) extra += count - 1;
  return extra;
}

// ---- `junction run` as a child process -------------------------------------------------------------

interface Child {
  process: ChildProcess;
  dir: string;
  logFile: string;
  adminUrl: string;
}

/** Run the integration with the real CLI (through tsx), its store in `dir`. */
async function spawnIntegration(yaml: string, dir = tempDir()): Promise<Child> {
  const adminPort = await freePort();
  const httpPort = await freePort();
  const file = join(dir, "junction.yaml");
  writeFileSync(
    file,
    `${yaml}
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:${httpPort}" }
  admin: { listen: "127.0.0.1:${adminPort}" }
  shutdown: { timeout: 5s }
`,
  );
  const logFile = join(dir, "junction.log");
  const child = spawnJunction(["run", "-c", file], {
    logFile,
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${LEAK_REPORT}`.trim() },
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await waitReady(`${adminUrl}/readyz`, 90_000, child);
  } catch (error) {
    child.kill("SIGKILL");
    await exited(child);
    throw new Error(`${(error as Error).message}\n${logTail(logFile)}`);
  }
  return { process: child, dir, logFile, adminUrl };
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---- the scenarios --------------------------------------------------------------------------------

const selected = FIXTURES.filter((fixture) => !ONLY || ONLY.includes(fixture.name));
const gates = new Map(
  await Promise.all(
    selected.map(async (fixture) => [fixture.name, await serviceTest(fixture.service)] as const),
  ),
);

/** Teardown in reverse order of setup (engines stop before their destinations are removed). */
function teardown(t: TestContext): (step: () => Promise<unknown>) => void {
  const steps: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step().catch(() => {});
  });
  return (step) => steps.push(step);
}

// Three connectors run side by side (each one's scenarios in order): the suite stays within about
// two minutes on two busy cores. More at once starves the `junction run` children (each loads the
// whole engine through tsx) and the in-process engines. CONFORMANCE_CONCURRENCY=1: one at a time.
const CONCURRENCY = Number(process.env.CONFORMANCE_CONCURRENCY ?? 3);

describe("conformance: sources and sinks against their real systems", { concurrency: CONCURRENCY }, () => {
  for (const fixture of selected) {
    describe(fixture.name, () => {
      const gate = gates.get(fixture.name) ?? {};
      const options = { ...gate, timeout: TEST_MS };
      /** Register scenario `id` unless the fixture runs only some. */
      const scenario = (id: string, title: string, fn: (t: TestContext) => Promise<void>) => {
        if (!fixture.scenarios || fixture.scenarios.includes(id)) test(`${id}. ${title}`, options, fn);
      };
      let count = 0;
      /** A fresh destination and the means to tear down what the test sets up. */
      const setup = async (t: TestContext, what: string) => {
        const defer = teardown(t);
        const name = fixture.name.replace(/[^a-z0-9]/g, "");
        const destination = await fixture.create(`${RUN}-${name}-${++count}-${what}`);
        defer(() => fixture.cleanup(destination));
        const run = async (yaml: string, dir?: string): Promise<RunningEngine> => {
          const running = await startEngine(yaml, dir ? { dir } : {});
          defer(() => running.stop());
          return running;
        };
        return { destination, defer, run };
      };

      before(async () => {
        if (!gate.skip) await fixture.open();
      });
      after(async () => {
        if (!gate.skip) await fixture.close();
      });

      scenario(
        "1",
        "connects and closes cleanly: `junction run` exits 0 on SIGTERM, no handle left",

        async (t) => {
          const { destination } = await setup(t, "clean");
          const child = await spawnIntegration(integration(fixture, destination));
          try {
            // One message through proves the source and the sink are both connected.
            await fixture.publish(destination, batch(destination.tag, 0, 1));
            await arrival(fixture, destination, 1).catch((error: Error) => {
              throw new Error(`${error.message}\n${logTail(child.logFile)}`);
            });
            child.process.kill("SIGTERM");
            const exit = await Promise.race([exited(child.process), sleep(25_000).then(() => undefined)]);
            assert.ok(
              exit,
              `still running 25 s after SIGTERM: something keeps it alive\n${logTail(child.logFile)}`,
            );
            assert.deepEqual(exit, { code: 0, signal: null }, logTail(child.logFile));
          } finally {
            if (child.process.exitCode === null && child.process.signalCode === null)
              child.process.kill("SIGKILL");
            await exited(child.process);
          }
        },
      );

      scenario(
        "2",
        `delivers a batch: ${N} messages published raw arrive once each, with their data`,

        async (t) => {
          const { destination, run } = await setup(t, "batch");
          const running = await run(integration(fixture, destination));
          await fixture.publish(destination, batch(destination.tag, 0, N));
          const counts = await arrival(fixture, destination, N);
          await sleep(500); // late duplicates would show now
          const final = tally(destination.tag, await fixture.read(destination), N);
          assert.equal(final.size, N);
          assert.equal(duplicates(final), 0, "no fault, so no duplicate");
          assert.equal(counts.size, N);
          assert.deepEqual(await running.engine.store.deadLetters({ route: destination.route }), []);
        },
      );

      scenario(
        "3a",
        "redelivers after a nack: sink failures on first attempts are retried, none lost",

        async (t) => {
          const { destination, run, defer } = await setup(t, "nack");
          const receiver = await new Receiver().start();
          defer(() => receiver.close());
          const attempts = new Map<number, number>();
          let refused = 0;
          // Every 5th message is refused (503, retryable) on its first attempt.
          receiver.status = (request) => {
            const n = Number(JSON.parse(request.body).n);
            const attempt = (attempts.get(n) ?? 0) + 1;
            attempts.set(n, attempt);
            if (n % 5 === 0 && attempt === 1) {
              refused++;
              return 503;
            }
            return 201;
          };
          const running = await run(
            integration(fixture, destination, { extraSinks: [`{ http: { url: "${receiver.url}/in" } }`] }),
          );
          await fixture.publish(destination, batch(destination.tag, 0, N));
          const counts = await arrival(fixture, destination, N);
          await eventually(
            () => new Set(receiver.requests.map((request) => JSON.parse(request.body).n)).size === N,
            ARRIVAL_MS,
            `all ${N} at the HTTP sink`,
          );
          assert.equal(refused, Math.ceil(N / 5), "each 5th message was refused once");
          assert.deepEqual(await running.engine.store.deadLetters({ route: destination.route }), []);
          t.diagnostic(
            `${fixture.name}: ${refused} refused, ${duplicates(counts)} duplicate writes by the connector sink`,
          );
        },
      );

      scenario(
        "3b",
        "survives a crash before the ack: SIGKILL mid-stream, restart, nothing acknowledged is lost",

        async (t) => {
          const { destination, run } = await setup(t, "crash");
          const yaml = integration(fixture, destination, { perSecond: 20 });
          const child = await spawnIntegration(yaml);
          let atKill = 0;
          try {
            await fixture.publish(destination, batch(destination.tag, 0, N));
            atKill = await atLeast(fixture, destination, 5, N + 10);
          } finally {
            child.process.kill("SIGKILL");
            await exited(child.process);
          }
          // Published while Junction is down: the system keeps them.
          await fixture.publish(destination, batch(destination.tag, N, 10));
          await run(yaml, child.dir);
          const counts = await arrival(fixture, destination, N + 10);
          t.diagnostic(
            `${fixture.name}: ${atKill} arrived before the kill, ${duplicates(counts)} duplicates after the restart`,
          );
          assert.ok(atKill < N, `the kill landed mid-stream (${atKill}/${N} had arrived)`);
        },
      );

      scenario(
        "4",
        "survives the connection being cut mid-stream (TCP proxy), then refused for 1 s: everything arrives after reconnecting",

        async (t) => {
          const { destination, run, defer } = await setup(t, "cut");
          const proxy = await new TcpProxy(fixture.port).start();
          defer(() => proxy.close());
          await run(integration(fixture, destination, { port: proxy.port, perSecond: 20 }));
          await fixture.publish(destination, batch(destination.tag, 0, N));
          const before = await atLeast(fixture, destination, 10, 2 * N);
          proxy.cut();
          const half = Math.floor(N / 2);
          await fixture.publish(destination, batch(destination.tag, N, half));
          // Then the server looks down for a moment: reconnect attempts are refused.
          proxy.refuse(true);
          await fixture.publish(destination, batch(destination.tag, N + half, N - half));
          await sleep(1000);
          proxy.refuse(false);
          const counts = await arrival(fixture, destination, 2 * N);
          assert.ok(before < N, `the cut landed mid-stream (${before}/${N} had arrived)`);
          assert.ok(proxy.connections > 0, "reconnected through the proxy");
          t.diagnostic(`${fixture.name}: cut after ${before}, ${duplicates(counts)} duplicates`);
        },
      );

      scenario("5", "carries the correlation id, traceparent and a user header through", async (t) => {
        const { destination, run } = await setup(t, "headers");
        const running = await run(integration(fixture, destination));
        const headers: RawHeaders = {
          correlationId: `corr-${destination.tag}`,
          traceparent: TRACEPARENT,
          tenant: "acme",
        };
        await fixture.publish(destination, batch(destination.tag, 0, 1, headers));
        await arrival(fixture, destination, 1);
        const [written] = await fixture.read(destination);
        const { carries } = fixture;
        if (carries.correlationId) {
          assert.equal(written.correlationId, headers.correlationId, "correlation id out");
          const journal = await running.engine.store.journal({ correlationId: headers.correlationId });
          assert.ok(journal.length > 0, "journalled under the correlation id it came in with");
        } else if (written.correlationId !== undefined) {
          // Not taken from the system, but what the sink wrote out is Junction's own correlation id.
          const journal = await running.engine.store.journal({ correlationId: written.correlationId });
          assert.ok(
            journal.length > 0,
            `the correlation id written out (${written.correlationId}) is in the journal`,
          );
        }
        // The trace id is kept; the parent span id may be Junction's own hop.
        const traceId = (traceparent: string | undefined) => traceparent?.split("-")[1];
        if (carries.traceparent)
          assert.equal(traceId(written.traceparent), traceId(TRACEPARENT), "trace id out");
        if (carries.userHeader) assert.equal(written.tenant, headers.tenant, "user header out");
        // What the README says is not carried is indeed not: keep the documentation honest.
        if (!carries.correlationId) assert.notEqual(written.correlationId, headers.correlationId);
        if (!carries.traceparent) assert.notEqual(traceId(written.traceparent), traceId(TRACEPARENT));
        if (!carries.userHeader) assert.notEqual(written.tenant, headers.tenant);
        t.diagnostic(`${fixture.name} carries: ${carries.how}`);
      });
    });
  }
});
