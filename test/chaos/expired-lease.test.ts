import assert from "node:assert/strict";
import { test } from "node:test";
import { IdempotentReceiver } from "../helpers/idempotent-receiver.js";
import { EngineProcess, postJson, sleep, summary, until } from "./harness.js";

/**
 * A zombie worker: its lease ran out while it was still sending (the sink was slower than the
 * route's lease), the message was claimed again and finished by another attempt, and only then
 * does the first attempt come back and acknowledge. That late acknowledgement must not touch any
 * other message. (The store's notes ask for this: a worker whose lease was taken over cannot ack.)
 *
 * Timeline: X's first send hangs for 3 s; its 500 ms lease expires and X is sent again and acked;
 * then Y arrives, fails once (503) and waits for its retry; then X's first send returns and acks.
 * Pass: Y is still retried and delivered.
 */
test("a late ack from an attempt whose lease expired does not remove another message", {
  timeout: 90_000,
}, async () => {
  const receiver = await new IdempotentReceiver({
    identify: (request) => String((request.json as { name?: string })?.name),
  }).start();
  let xRequests = 0;
  let yRequests = 0;
  receiver.delayMs = (request) => {
    const name = (request.json as { name?: string })?.name;
    return name === "X" && ++xRequests === 1 ? 3_000 : 0; // the first attempt of X hangs
  };
  receiver.status = (request) => {
    const name = (request.json as { name?: string })?.name;
    return name === "Y" && ++yRequests === 1 ? 503 : 200; // Y fails once, then would succeed
  };
  // No Idempotency-Key on this route, so the receiver does not hold X's second send behind the first.
  const engine = await EngineProcess.create(`
policies:
  patient: { timeout: 10s, retry: { attempts: 5, initial: 3s, jitter: none } }
routes:
  work:
    from: { webhook: { path: /in } }
    lease: 500ms
    to: [ { http: { url: "${receiver.url}/effects" } } ]
    policy: patient
`);
  try {
    await engine.start();
    const x = await postJson(`${engine.url}/in`, { name: "X" });
    assert.equal(x.status, 202);
    // X is claimed again after its lease expired, sent, and acknowledged.
    await until(() => receiver.effects.get("X") === 1 && xRequests >= 2, 15_000, "X's second attempt");
    await until(() => engine.drained(), 5_000, "X acknowledged");
    const y = await postJson(`${engine.url}/in`, { name: "Y" });
    assert.equal(y.status, 202);
    await until(() => yRequests >= 1, 5_000, "Y's first attempt");
    // X's first attempt returns (~3 s after it started) and acknowledges its old delivery.
    await until(() => receiver.effects.get("X") === 2, 10_000, "X's first attempt to return");
    const afterLateAck = await engine.channels();
    // Y's retry is due ~3 s after its failure.
    const delivered = await until(() => receiver.effects.has("Y"), 12_000, "Y to be delivered").catch(
      () => false,
    );
    const deadLetters = await engine.admin<Record<string, number>>("/api/dlq/depth");
    summary("expired-lease", {
      xAttempts: xRequests,
      yAttempts: yRequests,
      yDelivered: delivered,
      inboxAfterLateAck: JSON.stringify(afterLateAck.map((c) => [c.subscription, c.depth, c.inFlight])),
      deadLetters: JSON.stringify(deadLetters),
    });
    assert.ok(
      delivered,
      `Y was accepted (202) but never delivered and is neither queued nor dead-lettered ` +
        `(channels after X's late ack: ${JSON.stringify(afterLateAck)}; dead letters: ${JSON.stringify(deadLetters)}). ` +
        "The late ack of X's expired delivery removed Y's delivery: the store reuses delivery ids " +
        "(INTEGER PRIMARY KEY without AUTOINCREMENT) and acks by id without checking the lease.",
    );
  } finally {
    await sleep(10);
    await engine.kill();
    await receiver.close();
  }
});
