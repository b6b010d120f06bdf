import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent } from "undici";
import { IdempotentReceiver } from "../helpers/idempotent-receiver.js";
import {
  chaosSeed,
  EngineProcess,
  percentile,
  postJson,
  seededRandom,
  size,
  sleep,
  summary,
  until,
} from "./harness.js";

/**
 * Scenario 1, the crash promise. Orders go webhook → channel (a queue partitioned by customer) →
 * map → HTTP sink while the engine process is SIGKILLed at random moments and restarted.
 *
 * The client behaves like a careful real sender: it posts the orders of one customer one after
 * the other (the next only after the 202 of the one before), and retries a request that got no
 * answer with the same Idempotency-Key, so a request committed just before a kill is not stored
 * twice. The sink is an idempotent receiver (Idempotency-Key = message id) that applies each order
 * once and records effects per customer in the order they happened.
 *
 * Pass: lost 0 (every 202 has an effect), duplicate effects 0 (duplicate deliveries are counted and
 * allowed), unexpected 0 (no effect for a message the client was not given), per-customer order
 * violations 0, no dead letters, channels empty, exit 0 on SIGTERM, integrity_check ok.
 */
const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? size(10_000, 100_000));
const KILLS = Number(process.env.CHAOS_KILLS ?? size(20, 200));
const KEYS = 64;
const POSTERS = 16;
const SEED = chaosSeed();

test(`crash loop: ${MESSAGES} orders, ${KILLS} SIGKILLs (seed ${SEED})`, {
  timeout: size(20 * 60_000, 120 * 60_000),
}, async () => {
  console.log(`chaos crash-loop: seed=${SEED} (replay with CHAOS_SEED=${SEED})`);
  const rand = seededRandom(SEED);
  const sinkRand = seededRandom(SEED ^ 0x5bd1e995);
  const started = performance.now();
  const receiver = await new IdempotentReceiver({
    identify: (request) => String((request.json as { orderId?: string })?.orderId),
    partitionOf: (request) => (request.json as { customerId?: string })?.customerId ?? null,
  }).start();
  // The sink fails now and then, so retries (durable delays, blocked keys) are in flight when kills land.
  receiver.status = () => (sinkRand() < 0.02 ? 503 : 200);
  const engine = await EngineProcess.create(`
channels:
  orders: { queue: { partitionBy: customerId } }
policies:
  steady: { retry: { attempts: 1000, initial: 20ms, max: 200ms } }
routes:
  intake:
    from: { webhook: { path: /orders } }
    to: [ { channel: orders } ]
  deliver:
    from: { channel: orders }
    concurrency: 16
    steps:
      - map: { jsonata: '{ "orderId": orderId, "customerId": customerId, "seq": seq, "total": $sum(items.price) }' }
    to: [ { http: { url: "${receiver.url}/shipments", idempotencyKey: "{{ $message.id }}" } } ]
    policy: steady
`);
  const dispatcher = new Agent({ connections: POSTERS, connect: { timeout: 2000 } });
  let aborted = false; // set when the test ends: background loops stop
  let killing: Promise<void> | undefined;
  try {
    await engine.start();

    // Orders of one customer are posted by one poster, in order.
    const perPoster: number[][] = Array.from({ length: POSTERS }, () => []);
    for (let index = 0; index < MESSAGES; index++) perPoster[(index % KEYS) % POSTERS].push(index);
    const acceptedByKey = new Map<string, string[]>(); // customer -> orderIds in 202 order
    const acceptedIds = new Set<string>();
    const counts = { accepted: 0, clientRetries: 0, replayedIntake: 0, backpressure: 0 };
    const postingDeadline = Date.now() + size(15 * 60_000, 90 * 60_000);
    const poster = async (indices: number[]) => {
      for (const index of indices) {
        const customerId = `c-${index % KEYS}`;
        const orderId = `o-${index}`;
        const body = {
          orderId,
          customerId,
          seq: Math.floor(index / KEYS),
          items: [
            { sku: "A", price: index % 7 },
            { sku: "B", price: 1 },
          ],
        };
        for (;;) {
          if (aborted) return;
          if (Date.now() > postingDeadline) throw new Error(`posting did not finish (order ${index})`);
          const result = await postJson(`${engine.url}/orders`, body, {
            dispatcher,
            headers: { "idempotency-key": `order-${SEED}-${index}` },
            timeoutMs: 5000,
          });
          if (result.status === 202 && result.id) {
            if (result.replayed) counts.replayedIntake++;
            acceptedIds.add(result.id);
            const list = acceptedByKey.get(customerId) ?? [];
            list.push(orderId);
            acceptedByKey.set(customerId, list);
            counts.accepted++;
            break;
          }
          if (result.status === 503) counts.backpressure++;
          counts.clientRetries++; // the engine is down or restarting: retry, as a real sender would
          await sleep(result.status === "error" ? 100 : 25);
        }
      }
    };
    const posting = Promise.all(perPoster.map(poster));

    let kills = 0;
    let postedAt = 0;
    void posting.then(() => {
      postedAt = performance.now();
    });
    killing = (async () => {
      while (kills < KILLS && !aborted) {
        await sleep(50 + rand() * 1950);
        await engine.kill();
        kills++;
        if (!aborted) await engine.start();
      }
    })();
    await Promise.all([posting, killing]);
    const killedAt = performance.now();

    const missing = () => [...acceptedByKey.values()].flat().filter((id) => !receiver.effects.has(id));
    await until(
      () => missing().length === 0,
      size(180_000, 900_000),
      "every accepted order to arrive",
      250,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}; ${missing().length} missing (log: ${engine.logFile})`);
    });
    await until(() => engine.drained(), 60_000, "channels to be empty", 250);
    const channels = await engine.channels();
    const deadLetters = await engine.admin<Record<string, number>>("/api/dlq/depth");
    const drainedAt = performance.now();
    const exitCode = await engine.stop();
    const integrity = engine.integrityCheck();

    // Per customer, effects must follow the order in which the client got its 202s.
    let orderViolations = 0;
    for (const [customer, accepted] of acceptedByKey) {
      const position = new Map(accepted.map((orderId, index) => [orderId, index]));
      let highest = -1;
      for (const orderId of receiver.order.get(customer) ?? []) {
        const at = position.get(orderId) ?? -1;
        if (at < highest) orderViolations++;
        highest = Math.max(highest, at);
      }
    }
    const unexpected = [...receiver.attempts]
      .filter(([key, attempts]) => attempts.some((a) => a.status < 300) && !acceptedIds.has(key))
      .map(([key]) => key);
    const duplicateEffects = receiver.duplicateEffects();
    const lost = missing();
    summary("crash-loop", {
      seed: SEED,
      messages: MESSAGES,
      kills,
      accepted: counts.accepted,
      intakeReplays: counts.replayedIntake,
      clientRetries: counts.clientRetries,
      delivered: receiver.effects.size,
      lost: lost.length,
      duplicateDeliveries: receiver.counts.replayed,
      duplicateEffects: duplicateEffects.length,
      unexpected: unexpected.length,
      orderViolations,
      sink503: receiver.counts.failed,
      deadLetters: Object.values(deadLetters).reduce((a, b) => a + b, 0),
      restartP50Ms: Math.round(percentile(engine.startTimes, 50)),
      restartMaxMs: Math.round(Math.max(...engine.startTimes)),
      postSeconds: Math.round((postedAt - started) / 1000),
      killSeconds: Math.round((killedAt - started) / 1000),
      totalSeconds: Math.round((drainedAt - started) / 1000),
      integrity,
    });
    assert.equal(kills, KILLS);
    assert.equal(counts.accepted, MESSAGES, "every order was eventually accepted");
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} accepted orders lost (log: ${engine.logFile})`);
    assert.deepEqual(duplicateEffects.slice(0, 10), [], "no order applied twice");
    assert.deepEqual(unexpected.slice(0, 10), [], "no effect for a message the client was not given");
    assert.equal(orderViolations, 0, "per-customer order of effects follows the order of acceptance");
    assert.equal(receiver.counts.withoutKey, 0, "every delivery carries an Idempotency-Key");
    assert.deepEqual(deadLetters, {}, "no dead letters");
    assert.ok(
      channels.every((channel) => channel.depth === 0 && channel.inFlight === 0),
      `channels empty: ${JSON.stringify(channels)}`,
    );
    assert.equal(exitCode, 0, "the last engine stops cleanly on SIGTERM");
    assert.equal(integrity, "ok", "PRAGMA integrity_check");
    engine.remove();
  } finally {
    aborted = true;
    await killing?.catch(() => {});
    await engine.kill();
    await dispatcher.close();
    await receiver.close();
  }
});
