import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CircuitBreaker } from "./circuit-breaker.js";
import { retryDelay, retryPlan } from "./retry.js";
import { TokenBucket } from "./token-bucket.js";

describe("circuit breaker", () => {
  test("opens after consecutive failures, half-opens after the delay, closes on a successful trial", () => {
    let now = 0;
    const changes: string[] = [];
    const breaker = new CircuitBreaker(
      { after: 3, halfOpenAfterMs: 1000 },
      (state) => changes.push(state),
      () => now,
    );
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    assert.equal(breaker.state, "closed", "a success resets the count");
    breaker.failure();
    assert.equal(breaker.state, "open");
    assert.equal(breaker.allowance(10), 0);
    now = 999;
    assert.equal(breaker.waitMs, 1);
    now = 1000;
    assert.equal(breaker.state, "half-open");
    assert.equal(breaker.allowance(10), 1, "one trial");
    assert.equal(breaker.allowance(10), 0, "only one trial at a time");
    breaker.failure();
    assert.equal(breaker.state, "open", "a failed trial reopens");
    now = 2000;
    assert.equal(breaker.allowance(5), 1);
    breaker.success();
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.allowance(5), 5);
    assert.deepEqual(changes, ["open", "half-open", "open", "half-open", "closed"]);
  });

  test("opens on the failure rate over the window once enough calls were seen", () => {
    let now = 0;
    const breaker = new CircuitBreaker(
      { failureRate: 0.5, minimumCalls: 10, windowMs: 10_000, halfOpenAfterMs: 1000 },
      () => {},
      () => now,
    );
    for (let index = 0; index < 8; index++) {
      now += 100;
      if (index % 2 === 0) breaker.failure();
      else breaker.success();
    }
    assert.equal(breaker.state, "closed", "not enough calls yet");
    now += 100;
    breaker.success();
    now += 100;
    breaker.failure();
    assert.equal(breaker.state, "open", "5 of 10 failed");
  });

  test("a saved state is restored", () => {
    let now = 0;
    const first = new CircuitBreaker(
      { after: 1, halfOpenAfterMs: 5000 },
      () => {},
      () => now,
    );
    first.failure();
    const restored = new CircuitBreaker(
      { after: 1, halfOpenAfterMs: 5000 },
      () => {},
      () => now,
    );
    restored.restore(first.snapshot());
    assert.equal(restored.state, "open");
    now = 5000;
    assert.equal(restored.state, "half-open");
  });
});

describe("retry delays", () => {
  test("exponential backoff with full jitter stays within [0, min(max, initial·2^(n−1))]", () => {
    const plan = retryPlan({ retry: { initial: "100ms", max: "1s", multiplier: 2, jitter: "full" } });
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** (attempt - 1));
      assert.equal(
        retryDelay(plan, attempt, undefined, () => 0.999999),
        Math.round(0.999999 * ceiling),
      );
      assert.equal(
        retryDelay(plan, attempt, undefined, () => 0),
        0,
      );
    }
    const equal = retryPlan({ retry: { initial: "100ms", max: "1s", jitter: "equal" } });
    assert.equal(
      retryDelay(equal, 3, undefined, () => 0),
      200,
    );
    const none = retryPlan({ retry: { initial: "100ms", backoff: "fixed", jitter: "none" } });
    assert.equal(retryDelay(none, 5), 100);
  });

  test("Retry-After wins, capped by the maximum delay", () => {
    const plan = retryPlan({ retry: { initial: "100ms", max: "2s" } });
    assert.equal(retryDelay(plan, 1, 1500), 1500);
    assert.equal(retryDelay(plan, 1, 60_000), 2000);
  });
});

describe("token bucket", () => {
  test("lets a burst through, then paces to the rate", async () => {
    const bucket = new TokenBucket(50, 5);
    const started = performance.now();
    for (let index = 0; index < 15; index++) await bucket.take();
    const elapsed = performance.now() - started;
    // 5 at once, then 10 more at 50/s: about 200 ms.
    assert.ok(elapsed >= 180, `paced: ${elapsed} ms`);
  });

  test("a waiting take is abandoned when its signal aborts", async () => {
    const bucket = new TokenBucket(1, 1);
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
  });
});

describe("retry policy options", () => {
  test("retryOn and deadLetterOn override an error's own classification", async () => {
    const { ConnectionError, DeliveryRejectedError } = await import("../api/errors.js");
    const { isRetryable } = await import("./retry.js");
    const plan = retryPlan({
      retry: { retryOn: { statuses: [409] }, deadLetterOn: { codes: ["JUNCTION_HTTP_503"] } },
    });
    assert.equal(
      isRetryable(
        plan,
        new DeliveryRejectedError("conflict", { code: "JUNCTION_HTTP_409", details: { status: 409 } }),
      ),
      true,
    );
    assert.equal(
      isRetryable(
        plan,
        new DeliveryRejectedError("bad", { code: "JUNCTION_HTTP_400", details: { status: 400 } }),
      ),
      false,
    );
    assert.equal(
      isRetryable(plan, new ConnectionError("gone for good", { code: "JUNCTION_HTTP_503" })),
      false,
    );
    assert.equal(isRetryable(plan, new ConnectionError("down")), true);
  });

  test("the retry budget caps retries at a share of first attempts", async () => {
    const { RetryBudget } = await import("./retry.js");
    let now = 1_000_000;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0 }, () => now);
    for (let index = 0; index < 100; index++) budget.record(false);
    for (let index = 0; index < 20; index++) budget.record(true);
    assert.equal(budget.exhausted(), false, "20 retries for 100 first attempts is within 20%");
    budget.record(true);
    assert.equal(budget.exhausted(), true);
    now += 11_000;
    assert.equal(budget.exhausted(), false, "the window moved on");
  });
});
