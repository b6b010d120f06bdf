import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent } from "undici";
import { IdempotentReceiver } from "../helpers/idempotent-receiver.js";
import {
  chaosSeed,
  EngineProcess,
  percentile,
  postJson,
  Sampler,
  seededRandom,
  size,
  sleep,
  summary,
  until,
} from "./harness.js";

/**
 * Scenario 4, a slow consumer. Clients post as fast as they can for a sustained period into a route
 * whose sink takes ~20 ms per message with 4 at a time (~200 msg/s at best); the route's inbox has a
 * small high-water mark (maxDepth).
 *
 * Pass: above the mark the webhook answers 503 with Retry-After (and the inbox stays near the
 * mark: the backlog is bounded, not buffered in memory), engine RSS stays bounded, the admin API
 * keeps answering, and every message that got a 202 is delivered once after the load stops.
 *
 * The same with `intakeWait` on the route: above the mark each request is held until there is room,
 * so nothing is refused, the clients slow to the sink's pace and the inbox still stays at its mark.
 */
const LOAD_MS = size(10_000, 120_000);
const MAX_DEPTH = 200;
const POSTERS = 16;
const SINK_DELAY_MS = 20;
const CONCURRENCY = 4;
const RSS_LIMIT_MB = 300;
const SEED = chaosSeed();
const INTAKE_WAIT_S = 30;

test(
  `slow consumer: ${LOAD_MS / 1000} s of ingress faster than the sink, maxDepth ${MAX_DEPTH} (seed ${SEED})`,
  {
    timeout: size(3 * 60_000, 15 * 60_000),
  },
  () => slowConsumer("refuse"),
);

test(
  `slow consumer with intakeWait ${INTAKE_WAIT_S}s: requests above the mark are held, none refused (seed ${SEED})`,
  {
    timeout: size(3 * 60_000, 15 * 60_000),
  },
  () => slowConsumer("hold"),
);

/** `refuse`: 503 above the mark at once; `hold`: the route's intakeWait holds requests for room. */
async function slowConsumer(mode: "refuse" | "hold"): Promise<void> {
  console.log(`chaos slow-consumer (${mode}): seed=${SEED} (replay with CHAOS_SEED=${SEED})`);
  const rand = seededRandom(SEED);
  const receiver = await new IdempotentReceiver().start();
  // ~20 ms of work per message, a little uneven.
  receiver.delayMs = () => SINK_DELAY_MS / 2 + rand() * SINK_DELAY_MS;
  const engine = await EngineProcess.create(`
routes:
  slow:
    from: { webhook: { path: /in } }
    maxDepth: ${MAX_DEPTH}
    intakeWait: ${mode === "hold" ? `${INTAKE_WAIT_S}s` : "0s"}
    concurrency: ${CONCURRENCY}
    to: [ { http: { url: "${receiver.url}/effects", idempotencyKey: "{{ $message.id }}" } } ]
`);
  const dispatcher = new Agent({ connections: POSTERS });
  let rss: Sampler | undefined;
  let watching = true; // the background watcher runs while true; cleared whatever happened
  let aborted = false;
  try {
    await engine.start();
    await sleep(500);
    const baselineRss = engine.rssMb() ?? 0;
    rss = new Sampler(() => engine.rssMb(), 250);

    const accepted = new Set<string>();
    const counts = { posted: 0, refused: 0, withoutRetryAfter: 0, badRetryAfter: 0, errors: 0, other: 0 };
    const retryAfters = new Set<string>();
    const started = performance.now();
    const stopAt = started + LOAD_MS;
    const maxRequests = 200_000; // bounded in count as well as in time
    const poster = async (id: number) => {
      let index = 0;
      while (performance.now() < stopAt && counts.posted < maxRequests && !aborted) {
        counts.posted++;
        const result = await postJson(`${engine.url}/in`, { poster: id, n: index++ }, { dispatcher });
        if (result.status === 202 && result.id) {
          accepted.add(result.id);
          continue;
        }
        if (result.status === 503) {
          counts.refused++;
          if (result.retryAfter === undefined) counts.withoutRetryAfter++;
          else {
            retryAfters.add(result.retryAfter);
            if (!/^[1-9][0-9]*$/.test(result.retryAfter)) counts.badRetryAfter++;
          }
          // An impatient client: back off a little, far less than asked, to keep the pressure on.
          await sleep(50);
          continue;
        }
        if (result.status === "error") counts.errors++;
        else counts.other++;
        await sleep(50);
      }
    };

    // Depth of the route's inbox and admin API latency, sampled during the load.
    const depths: number[] = [];
    const adminLatency: number[] = [];
    const watcher = (async () => {
      while (watching) {
        const asked = performance.now();
        try {
          const channel = (await engine.channels()).find((c) => c.subscription === "route:slow");
          adminLatency.push(performance.now() - asked);
          if (channel) depths.push(channel.depth);
        } catch {
          adminLatency.push(performance.now() - asked);
        }
        await sleep(100);
      }
    })();

    await Promise.all(Array.from({ length: POSTERS }, (_, id) => poster(id)));
    const loadSeconds = (performance.now() - started) / 1000;
    const effectsAtStop = receiver.counts.effects;
    watching = false;
    await watcher;

    await until(
      () => [...accepted].every((id) => receiver.effects.has(id)),
      size(60_000, 300_000),
      "every accepted message to arrive",
      200,
    );
    const drainSeconds = (performance.now() - started) / 1000 - loadSeconds;
    await until(() => engine.drained(), 30_000, "the inbox to be empty", 100);
    rss.stop();
    const exitCode = await engine.stop();

    const maxDepth = Math.max(...depths);
    const duplicateEffects = receiver.duplicateEffects();
    summary(`slow-consumer-${mode}`, {
      seed: SEED,
      loadSeconds,
      posted: counts.posted,
      accepted: accepted.size,
      refused503: counts.refused,
      retryAfter: [...retryAfters].join("/"),
      acceptedPerSecond: accepted.size / loadSeconds,
      sinkPerSecond: effectsAtStop / loadSeconds,
      maxDepth,
      depthSamples: depths.length,
      rssBaselineMb: Math.round(baselineRss),
      rssMaxMb: Math.round(rss.max),
      adminP99Ms: percentile(adminLatency, 99),
      drainSeconds,
      delivered: receiver.effects.size,
      duplicateDeliveries: receiver.counts.replayed,
      duplicateEffects: duplicateEffects.length,
      clientErrors: counts.errors,
    });

    if (mode === "refuse") assert.ok(counts.refused > 0, "the webhook pushed back above the high-water mark");
    else {
      assert.equal(counts.refused, 0, "held for room, never refused");
      const sinkPerSecond = effectsAtStop / loadSeconds;
      assert.ok(
        accepted.size / loadSeconds < sinkPerSecond * 1.5 + MAX_DEPTH / loadSeconds,
        `the clients were slowed to the sink's pace: ${(accepted.size / loadSeconds).toFixed(0)} accepted/s, sink ${sinkPerSecond.toFixed(0)}/s`,
      );
    }
    assert.equal(counts.withoutRetryAfter, 0, "every 503 carries Retry-After");
    assert.equal(counts.badRetryAfter, 0, `Retry-After is a positive number of seconds: ${[...retryAfters]}`);
    assert.equal(counts.other, 0, "no answers other than 202 and 503");
    assert.equal(counts.errors, 0, "no failed requests");
    assert.ok(
      maxDepth <= MAX_DEPTH + POSTERS,
      `the inbox stays at its high-water mark: depth ${maxDepth} <= ${MAX_DEPTH} + ${POSTERS} racing posts`,
    );
    assert.ok(
      depths.length > 10 && maxDepth >= MAX_DEPTH / 2,
      `the load really filled the inbox (${maxDepth})`,
    );
    assert.ok(
      rss.max > 0 && rss.max < RSS_LIMIT_MB,
      `engine RSS ${rss.max.toFixed(0)} MB < ${RSS_LIMIT_MB} MB`,
    );
    assert.ok(rss.max - baselineRss < 100, `RSS grew ${(rss.max - baselineRss).toFixed(0)} MB (< 100 MB)`);
    assert.ok(percentile(adminLatency, 99) < 2_000, "the admin API keeps answering under load");
    assert.deepEqual(
      [...accepted].filter((id) => !receiver.effects.has(id)),
      [],
      "nothing accepted is lost",
    );
    assert.deepEqual(duplicateEffects, [], "no duplicate effects");
    assert.equal(exitCode, 0);
    engine.remove();
  } finally {
    watching = false;
    aborted = true;
    rss?.stop();
    await engine.kill();
    await dispatcher.close();
    await receiver.close();
  }
}
