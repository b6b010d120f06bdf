import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Agent, request } from "undici";
import { tempDir } from "../helpers/engine.js";
import { exited, freePort, spawnJunction, waitReady } from "../helpers/process.js";
import { Receiver } from "../helpers/receiver.js";

/**
 * The crash promise: orders are posted to the webhook while the engine is SIGKILLed and restarted
 * at random moments. Every order that got a 202 must reach the sink (lost = 0). Duplicated
 * deliveries are allowed (at-least-once) and counted.
 */
const ORDERS = Number(process.env.CRASH_ORDERS ?? 5000);
const KILLS = Number(process.env.CRASH_KILLS ?? 6);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test(`SIGKILL ${KILLS}× while posting ${ORDERS} orders: every 202 reaches the sink (seed ${SEED})`, {
  timeout: 240_000,
}, async () => {
  const rand = random(SEED);
  const receiver = await new Receiver().start();
  // The sink fails now and then, so retries are in flight when the kills land.
  receiver.status = () => (rand() < 0.03 ? 503 : 201);
  const dir = tempDir({ "order.json": JSON.stringify({ type: "object", required: ["orderId"] }) });
  const [httpPort, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, "junction.yaml");
  writeFileSync(
    config,
    `
channels:
  orders: { queue: { partitionBy: customerId } }
policies:
  quick: { retry: { attempts: 1000, initial: 20ms, max: 200ms } }
routes:
  intake:
    from: { webhook: { path: /orders } }
    steps: [ { validate: { schema: order.json } } ]
    to: [ { channel: orders } ]
  deliver:
    from: { channel: orders }
    concurrency: 16
    steps: [ { map: { jsonata: '{ "orderId": orderId, "total": $sum(items.price) }' } } ]
    to: [ { http: { url: "${receiver.url}/shipments", idempotencyKey: "{{ $message.id }}" } } ]
    policy: quick
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:${httpPort}" }
  admin: { listen: "127.0.0.1:${adminPort}" }
`,
  );
  const logFile = join(dir, "junction.log");
  let child: ChildProcess = spawnJunction(["run", "-c", config], { logFile });
  await waitReady(`http://127.0.0.1:${adminPort}/readyz`, 30_000, child);

  const accepted = new Set<string>();
  let refused = 0;
  let next = 0;
  const dispatcher = new Agent({ connections: 16, connect: { timeout: 2000 } });
  const poster = async () => {
    while (next < ORDERS) {
      const index = next++;
      const body = JSON.stringify({
        orderId: `o-${index}`,
        customerId: `c-${index % 50}`,
        items: [
          { sku: "A", price: index % 7 },
          { sku: "B", price: 1 },
        ],
      });
      for (;;) {
        try {
          const response = await request(`http://127.0.0.1:${httpPort}/orders`, {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
            dispatcher,
            signal: AbortSignal.timeout(5000),
          });
          if (response.statusCode === 202) {
            accepted.add(((await response.body.json()) as { id: string }).id);
            break;
          }
          await response.body.dump();
          refused++;
        } catch {
          refused++; // the engine is down: the client retries, as a real sender would
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const posting = Promise.all(Array.from({ length: 12 }, poster));

  let kills = 0;
  const killing = (async () => {
    while (kills < KILLS) {
      await new Promise((resolve) => setTimeout(resolve, 300 + rand() * 1500));
      child.kill("SIGKILL");
      await exited(child);
      kills++;
      child = spawnJunction(["run", "-c", config], { logFile });
      await waitReady(`http://127.0.0.1:${adminPort}/readyz`, 30_000, child);
    }
  })();
  await killing;
  await posting;

  const deadline = Date.now() + 90_000;
  const missing = () => [...accepted].filter((id) => !receiver.effects.has(id));
  while (missing().length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));

  child.kill("SIGTERM");
  const { code } = await exited(child);
  await dispatcher.close();
  await receiver.close();

  const duplicates = [...receiver.effects.values()].filter((count) => count > 1).length;
  const lost = missing();
  console.log(
    `crash loop: seed ${SEED}, ${kills} kills, ${accepted.size} accepted, ${refused} refused/retried by the client, ` +
      `${receiver.effects.size} delivered, ${duplicates} delivered more than once, ${lost.length} lost`,
  );
  assert.equal(kills, KILLS);
  assert.ok(accepted.size >= ORDERS, `all ${ORDERS} orders were eventually accepted`);
  assert.deepEqual(lost.slice(0, 10), [], `lost ${lost.length} acknowledged orders (log: ${logFile})`);
  assert.equal(code, 0, "the last engine stops cleanly on SIGTERM");
});
