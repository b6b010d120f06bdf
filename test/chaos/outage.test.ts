import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent } from "undici";
import { IdempotentReceiver } from "../helpers/idempotent-receiver.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import {
  chaosSeed,
  EngineProcess,
  postJson,
  Sampler,
  seededRandom,
  size,
  sleep,
  summary,
  until,
} from "./harness.js";

/**
 * Scenario 3, a downstream outage. A TCP proxy sits between Junction and the receiver. While
 * messages keep arriving, the proxy first refuses connections, then the receiver answers 500, then
 * everything recovers. Policy: retries and `circuitBreaker: { after: 5, halfOpenAfter: 1s }`.
 *
 * Pass: the breaker opens after the configured failures (GET /api/routes shows `circuit: "open"`),
 * attempts during the outage stay bounded (about one trial per half-open period, far fewer than
 * messages × attempts), the backlog waits in the store (channel depth grows, engine RSS bounded),
 * and after recovery everything is delivered once: no loss, no duplicate effects.
 */
const RATE = 200; // messages per second, all through the scenario
const WARM_MS = size(2_000, 5_000);
const SEED = chaosSeed();
const rand = seededRandom(SEED);
/** Phase lengths vary by ±25% with the seed. */
const REFUSE_MS = Math.round(size(4_000, 20_000) * (0.75 + rand() / 2));
const ERROR_MS = Math.round(size(4_000, 20_000) * (0.75 + rand() / 2));
const AFTER_MS = size(2_000, 5_000);
const AFTER = 5;
const HALF_OPEN_MS = 1_000;
const CONCURRENCY = 8;
const RSS_LIMIT_MB = 300;

/**
 * From the engine's log: the failed attempts of the route before the circuit first half-opened,
 * that is the failures that opened it plus those already in flight. Undefined if it never opened.
 */
function failuresBeforeFirstTrial(log: string): number | undefined {
  let failures = 0;
  let opened = false;
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; route?: string; state?: string };
    if (entry.route === "deliver" && entry.msg?.startsWith("will retry")) failures++;
    if (entry.state === "open") opened = true;
    if (entry.state === "half-open") return opened ? failures : undefined;
  }
  return opened ? failures : undefined;
}

test(`outage: refused, then 500, then recovery, behind a circuit breaker (seed ${SEED})`, {
  timeout: size(4 * 60_000, 15 * 60_000),
}, async () => {
  console.log(
    `chaos outage: seed=${SEED} (replay with CHAOS_SEED=${SEED}); refuse ${REFUSE_MS} ms, 500 for ${ERROR_MS} ms`,
  );
  const receiver = await new IdempotentReceiver().start();
  let failing = false;
  receiver.status = () => (failing ? 500 : 200);
  const proxy = await new TcpProxy(receiver.port).start();
  const engine = await EngineProcess.create(`
channels:
  work: { queue: {} }
policies:
  guarded:
    retry: { attempts: 1000, initial: 100ms, max: 1s }
    circuitBreaker: { after: ${AFTER}, halfOpenAfter: ${HALF_OPEN_MS}ms }
routes:
  intake:
    from: { webhook: { path: /in } }
    to: [ { channel: work } ]
  deliver:
    from: { channel: work }
    concurrency: ${CONCURRENCY}
    to: [ { http: { url: "http://127.0.0.1:${proxy.port}/effects", idempotencyKey: "{{ $message.id }}", timeout: 5s } } ]
    policy: guarded
`);
  const dispatcher = new Agent({ connections: 8 });
  let rss: Sampler | undefined;
  // Background loops run while these are true; the finally block clears them whatever happened.
  let posting = true;
  let watching = true;
  try {
    await engine.start();
    await sleep(500);
    const baselineRss = engine.rssMb() ?? 0;
    rss = new Sampler(() => engine.rssMb(), 250);

    const accepted = new Set<string>();
    let sent = 0;
    const started = performance.now();
    const poster = async (offset: number, stride: number) => {
      for (let index = offset; posting && index < 1_000_000; index += stride) {
        const due = started + (index / RATE) * 1000;
        if (performance.now() < due) await sleep(due - performance.now());
        if (!posting) return;
        sent++;
        for (let tries = 0; tries < 100 && posting; tries++) {
          const result = await postJson(`${engine.url}/in`, { n: index }, { dispatcher });
          if (result.status === 202 && result.id) {
            accepted.add(result.id);
            break;
          }
          await sleep(50);
        }
      }
    };
    const posters = Array.from({ length: 4 }, (_, offset) => poster(offset, 4));

    // Watch the route while the outage runs.
    const watch = { firstOpenMs: -1, states: new Set<string>(), maxDepth: 0 };
    type Phase = "warm" | "refuse" | "error" | "recovered";
    let phase = "warm" as Phase;
    let outageStartedAt = 0;
    let failedAtOutage = 0;
    const watcher = (async () => {
      while (watching) {
        try {
          const route = await engine.route("deliver");
          const channel = (await engine.channels()).find((c) => c.subscription === "work");
          if (phase === "refuse" || phase === "error") {
            watch.states.add(route.circuit);
            watch.maxDepth = Math.max(watch.maxDepth, channel?.depth ?? 0);
            if (route.circuit === "open" && watch.firstOpenMs < 0) {
              watch.firstOpenMs = performance.now() - outageStartedAt;
            }
          }
        } catch {
          // a slow answer under load: try again
        }
        await sleep(50);
      }
    })();

    await sleep(WARM_MS);
    const before = await engine.route("deliver");
    failedAtOutage = before.failed;
    assert.equal(before.circuit, "closed");
    outageStartedAt = performance.now();
    const sentAtOutage = sent;
    phase = "refuse";
    proxy.refuse(true);
    await sleep(REFUSE_MS);
    const requestsBeforeErrors = receiver.counts.requests;
    failing = true;
    phase = "error";
    proxy.refuse(false);
    await sleep(ERROR_MS);
    const during = await engine.route("deliver");
    const attemptsDuringOutage = during.failed - failedAtOutage;
    const errorPhaseRequests = receiver.counts.requests - requestsBeforeErrors;
    const outageMs = performance.now() - outageStartedAt;
    const sentDuringOutage = sent - sentAtOutage;
    failing = false;
    phase = "recovered";
    const recoveredAt = performance.now();
    await sleep(AFTER_MS);
    posting = false;
    await Promise.all(posters);

    await until(
      () => [...accepted].every((id) => receiver.effects.has(id)),
      size(120_000, 600_000),
      "every accepted message to arrive after recovery",
      200,
    );
    const deliveredMs = performance.now() - recoveredAt;
    await until(() => engine.drained(), 30_000, "channels to be empty", 100);
    const after = await engine.route("deliver");
    const deadLetters = await engine.admin<Record<string, number>>("/api/dlq/depth");
    watching = false;
    await watcher;
    rss.stop();
    const exitCode = await engine.stop();
    const failedBeforeTrial = failuresBeforeFirstTrial(engine.log());

    // One trial per half-open period, plus the messages in flight when the circuit opened.
    const attemptBound = AFTER + CONCURRENCY + 2 * Math.ceil(outageMs / HALF_OPEN_MS) + 5;
    const duplicateEffects = receiver.duplicateEffects();
    summary("outage", {
      seed: SEED,
      sent,
      accepted: accepted.size,
      outageSeconds: outageMs / 1000,
      failedBeforeFirstTrial: failedBeforeTrial,
      openAfterMs: Math.round(watch.firstOpenMs),
      circuitStates: [...watch.states].join("/"),
      attemptsDuringOutage,
      attemptBound,
      errorPhaseRequests,
      messagesDuringOutage: sentDuringOutage,
      maxBacklog: watch.maxDepth,
      rssBaselineMb: Math.round(baselineRss),
      rssMaxMb: Math.round(rss.max),
      deliveredSecondsAfterRecovery: deliveredMs / 1000,
      delivered: receiver.effects.size,
      duplicateDeliveries: receiver.counts.replayed,
      duplicateEffects: duplicateEffects.length,
      circuitAtEnd: after.circuit,
    });

    assert.ok(watch.firstOpenMs >= 0, `GET /api/routes showed the circuit open (seen: ${[...watch.states]})`);
    assert.ok(
      failedBeforeTrial !== undefined,
      `the engine log records the circuit opening (${engine.logFile})`,
    );
    assert.ok(
      failedBeforeTrial >= AFTER && failedBeforeTrial < AFTER + CONCURRENCY,
      `${failedBeforeTrial} failures before the first trial: the configured ${AFTER}, plus at most the ` +
        `${CONCURRENCY - 1} others in flight when it opened`,
    );
    assert.ok(watch.firstOpenMs < 5_000, `opened ${watch.firstOpenMs.toFixed(0)} ms into the outage`);
    assert.ok(
      attemptsDuringOutage <= attemptBound,
      `${attemptsDuringOutage} attempts during a ${(outageMs / 1000).toFixed(1)} s outage (bound ${attemptBound}; ` +
        `${sentDuringOutage} messages arrived meanwhile)`,
    );
    assert.ok(
      watch.maxDepth >= sentDuringOutage / 2,
      `the backlog waits in the store: depth ${watch.maxDepth} for ~${sentDuringOutage} messages`,
    );
    assert.ok(
      rss.max > 0 && rss.max < RSS_LIMIT_MB,
      `engine RSS ${rss.max.toFixed(0)} MB < ${RSS_LIMIT_MB} MB`,
    );
    assert.ok(rss.max - baselineRss < 100, `RSS grew ${(rss.max - baselineRss).toFixed(0)} MB (< 100 MB)`);
    assert.equal(accepted.size, sent, "every message sent was accepted (the webhook never refuses)");
    assert.deepEqual(
      [...accepted].filter((id) => !receiver.effects.has(id)),
      [],
      "nothing lost",
    );
    assert.deepEqual(duplicateEffects, [], "no duplicate effects");
    assert.deepEqual(deadLetters, {}, "no dead letters");
    assert.equal(after.circuit, "closed", "the circuit closes again after recovery");
    assert.equal(exitCode, 0);
    engine.remove();
  } finally {
    posting = false;
    watching = false;
    rss?.stop();
    await engine.kill();
    await dispatcher.close();
    await proxy.close();
    await receiver.close();
  }
});
