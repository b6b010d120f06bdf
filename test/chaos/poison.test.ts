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
 * Scenario 2, poison messages. 1% of the messages always fail at the sink (503, no Retry-After).
 * Policy: attempts 4, initial 20 ms, max 200 ms, full jitter, then a dead letter.
 *
 * Pass: each poison message is tried exactly 4 times at the sink; every retry delay the engine
 * chose lies in its full-jitter window [0, min(max, initial·2^(n−1))], the next attempt never comes
 * before that delay and not much after it (scheduling slack); the message is then dead-lettered
 * with its 4 attempts; healthy messages are not held up (p99 latency bound); after the sink is
 * fixed, replaying every dead letter through the admin API gives one effect per poison message.
 */
const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? size(2_000, 10_000));
const RATE = 400; // messages per second offered, below the engine's drain rate
const POSTERS = 8;
const ATTEMPTS = 4;
const INITIAL_MS = 20;
const MAX_MS = 200;
/** How late an attempt may come after its due time on a loaded 2-core machine. */
const SLACK_MS = 500;
const HEALTHY_P99_BOUND_MS = 1000;
const SEED = chaosSeed();

const jitterWindow = (attempt: number) => Math.min(MAX_MS, INITIAL_MS * 2 ** (attempt - 1));

interface Hop {
  outcome: string;
  messageId: string;
  detail?: { delayMs?: number; attempt?: number };
}

interface Letter {
  id: string;
  message: { id: string; data: { n: number; poison: boolean } };
  error: { code: string };
  attempts: { at: string; error: { code: string } }[];
}

test(`poison: 1% of ${MESSAGES} messages always fail; ${ATTEMPTS} attempts, jitter, dead letter, replay (seed ${SEED})`, {
  timeout: size(5 * 60_000, 20 * 60_000),
}, async () => {
  console.log(`chaos poison: seed=${SEED} (replay with CHAOS_SEED=${SEED})`);
  const rand = seededRandom(SEED);
  const receiver = await new IdempotentReceiver().start();
  let fixed = false;
  receiver.status = (request) => (!fixed && (request.json as { poison?: boolean })?.poison ? 503 : 200);
  const engine = await EngineProcess.create(`
channels:
  work: { queue: {} }
policies:
  poison:
    retry: { attempts: ${ATTEMPTS}, backoff: exponential, initial: ${INITIAL_MS}ms, max: ${MAX_MS}ms, jitter: full }
    deadLetter: true
routes:
  intake:
    from: { webhook: { path: /in } }
    to: [ { channel: work } ]
  deliver:
    from: { channel: work }
    concurrency: 16
    to: [ { http: { url: "${receiver.url}/effects", idempotencyKey: "{{ $message.id }}" } } ]
    policy: poison
`);
  const dispatcher = new Agent({ connections: POSTERS });
  let aborted = false; // set when the test ends: background loops stop
  try {
    await engine.start();
    // Exactly 1% poison, at random positions.
    const indices = Array.from({ length: MESSAGES }, (_, index) => index);
    for (let index = indices.length - 1; index > 0; index--) {
      const other = Math.floor(rand() * (index + 1));
      [indices[index], indices[other]] = [indices[other], indices[index]];
    }
    const poisonIndices = new Set(indices.slice(0, Math.max(1, Math.floor(MESSAGES / 100))));

    const acceptedAt = new Map<string, number>();
    const poisonIds = new Set<string>();
    const healthyIds = new Set<string>();
    const started = performance.now();
    const deadline = Date.now() + size(120_000, 600_000);
    let next = 0;
    const poster = async () => {
      for (;;) {
        const index = next++;
        if (index >= MESSAGES) return;
        const due = started + (index / RATE) * 1000;
        if (performance.now() < due) await sleep(due - performance.now());
        const poison = poisonIndices.has(index);
        for (;;) {
          if (aborted) return;
          if (Date.now() > deadline) throw new Error("posting did not finish in time");
          const result = await postJson(`${engine.url}/in`, { n: index, poison }, { dispatcher });
          if (result.status === 202 && result.id) {
            acceptedAt.set(result.id, performance.now());
            (poison ? poisonIds : healthyIds).add(result.id);
            break;
          }
          await sleep(50);
        }
      }
    };
    await Promise.all(Array.from({ length: POSTERS }, poster));
    const postSeconds = (performance.now() - started) / 1000;

    // Healthy messages delivered; poison ones dead-lettered after their attempts.
    await until(
      () => [...healthyIds].every((id) => receiver.effects.has(id)),
      size(120_000, 600_000),
      "healthy messages to arrive",
      200,
    );
    const letters = await until(
      async () => {
        const list = await engine.admin<Letter[]>("/api/dlq?route=deliver&limit=100000");
        return list.length >= poisonIds.size ? list : undefined;
      },
      60_000,
      "every poison message to be dead-lettered",
      200,
    );

    // Exactly `attempts` tries each, at the sink.
    const tries = [...poisonIds].map((id) => receiver.attemptsOf(id).length);
    // Delays: what the engine chose (journal) and what the sink saw.
    const chosenDelays: number[][] = [[], [], []];
    const lateness: number[] = [];
    const problems: string[] = [];
    for (const id of poisonIds) {
      const { hops } = await engine.admin<{ hops: Hop[] }>(`/api/trace/${id}`);
      const retries = hops.filter((hop) => hop.messageId === id && hop.outcome === "retry");
      const at = receiver.attemptsOf(id).map((attempt) => attempt.at);
      if (retries.length !== ATTEMPTS - 1) problems.push(`${id}: ${retries.length} retries journaled`);
      for (const hop of retries) {
        const attempt = hop.detail?.attempt ?? -1;
        const delay = hop.detail?.delayMs ?? -1;
        if (attempt < 1 || attempt >= ATTEMPTS) {
          problems.push(`${id}: retry hop with attempt ${attempt}`);
          continue;
        }
        chosenDelays[attempt - 1].push(delay);
        if (delay < 0 || delay > jitterWindow(attempt))
          problems.push(
            `${id}: delay ${delay} ms after attempt ${attempt} outside [0, ${jitterWindow(attempt)}]`,
          );
        const gap = at[attempt] - at[attempt - 1];
        if (!(gap >= delay - 2))
          problems.push(`${id}: attempt ${attempt + 1} came ${gap} ms after, due ${delay}`);
        if (!(gap <= jitterWindow(attempt) + SLACK_MS))
          problems.push(
            `${id}: attempt ${attempt + 1} came ${gap.toFixed(0)} ms after (window ${jitterWindow(attempt)})`,
          );
        lateness.push(gap - delay);
      }
    }
    const letterIds = new Set(letters.map((letter) => letter.message.id));
    const healthyLettered = [...letterIds].filter((id) => !poisonIds.has(id));
    const historyProblems = letters.filter(
      (letter) => letter.attempts.length !== ATTEMPTS || letter.error.code !== "JUNCTION_HTTP_503",
    );
    const healthyLatency = [...healthyIds].map((id) =>
      Math.max(0, receiver.effectAt.get(id)! - acceptedAt.get(id)!),
    );
    const poisonSpan = [...poisonIds].map((id) => {
      const at = receiver.attemptsOf(id).map((attempt) => attempt.at);
      return at[at.length - 1] - at[0];
    });

    // Fix the sink, replay every dead letter through the admin API.
    fixed = true;
    const replay = await engine.admin<{ replayed: { id: string; messageId: string }[]; skipped: string[] }>(
      "/api/dlq/replay",
      { method: "POST", body: { all: true } },
    );
    await until(
      () => [...poisonIds].every((id) => receiver.effects.has(id)),
      60_000,
      "replayed messages to arrive",
      100,
    );
    await until(() => engine.drained(), 30_000, "channels to be empty", 100);
    const audit = await engine.admin<{ action: string }[]>("/api/dlq/audit?limit=100000");
    const openAfter = await engine.admin<Record<string, number>>("/api/dlq/depth");
    const exitCode = await engine.stop();

    const duplicateEffects = receiver.duplicateEffects();
    summary("poison", {
      seed: SEED,
      messages: MESSAGES,
      poison: poisonIds.size,
      postSeconds,
      triesPerPoison: [...new Set(tries)].join("/"),
      deadLettered: letters.length,
      delay1Max: Math.max(...chosenDelays[0]),
      delay2Max: Math.max(...chosenDelays[1]),
      delay3Max: Math.max(...chosenDelays[2]),
      latenessP50Ms: percentile(lateness, 50),
      latenessMaxMs: Math.max(...lateness),
      healthyP50Ms: percentile(healthyLatency, 50),
      healthyP99Ms: percentile(healthyLatency, 99),
      healthyMaxMs: Math.max(...healthyLatency),
      poisonSpanP50Ms: percentile(poisonSpan, 50),
      replayed: replay.replayed.length,
      replayEffects: [...poisonIds].filter((id) => receiver.effects.get(id) === 1).length,
      duplicateEffects: duplicateEffects.length,
      duplicateDeliveries: receiver.counts.replayed,
    });

    assert.equal(acceptedAt.size, MESSAGES);
    assert.deepEqual(
      tries.filter((count) => count !== ATTEMPTS),
      [],
      `each poison message is tried exactly ${ATTEMPTS} times`,
    );
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} retry timing problems`);
    for (let attempt = 1; attempt < ATTEMPTS; attempt++) {
      // Full jitter spreads the delays over the window (not all at its top).
      assert.ok(
        chosenDelays[attempt - 1].some((delay) => delay < jitterWindow(attempt) / 2) || poisonIds.size < 5,
        `delays after attempt ${attempt} are jittered: ${chosenDelays[attempt - 1].join(",")}`,
      );
    }
    assert.deepEqual(
      [...letterIds].sort(),
      [...poisonIds].sort(),
      "exactly the poison messages are dead letters",
    );
    assert.deepEqual(healthyLettered, []);
    assert.deepEqual(
      historyProblems.map((letter) => letter.id),
      [],
      `each dead letter records ${ATTEMPTS} attempts and the 503`,
    );
    assert.ok(
      percentile(healthyLatency, 99) < HEALTHY_P99_BOUND_MS,
      `healthy p99 latency ${percentile(healthyLatency, 99).toFixed(0)} ms < ${HEALTHY_P99_BOUND_MS} ms`,
    );
    assert.ok(
      percentile(healthyLatency, 50) < percentile(poisonSpan, 50),
      "a healthy message typically arrives faster than a poison message goes through its retries",
    );
    assert.equal(replay.replayed.length, poisonIds.size, "every dead letter replayed");
    assert.deepEqual(replay.skipped, []);
    assert.deepEqual(
      [...poisonIds].filter((id) => receiver.effects.get(id) !== 1),
      [],
      "one effect per replayed poison message",
    );
    assert.deepEqual(
      [...poisonIds].filter((id) => receiver.attemptsOf(id).length !== ATTEMPTS + 1),
      [],
      "a replayed message is sent once more, under its original id",
    );
    assert.equal(
      audit.filter((record) => record.action === "replay").length,
      poisonIds.size,
      "replays audited",
    );
    assert.deepEqual(openAfter, {}, "no open dead letters after the replay");
    assert.deepEqual(duplicateEffects, [], "no duplicate effects");
    assert.equal(receiver.effects.size, MESSAGES, "every message has its effect");
    assert.equal(exitCode, 0);
    engine.remove();
  } finally {
    aborted = true;
    await engine.kill();
    await dispatcher.close();
    await receiver.close();
  }
});
