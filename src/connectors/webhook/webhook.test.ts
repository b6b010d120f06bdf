import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";

const SECRET = "webhook-test-secret";

function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

function stripeSign(body: string, timestamp: number, secret = SECRET): string {
  return `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

describe("webhook source", () => {
  let running: RunningEngine;
  let receiver: Receiver;

  before(async () => {
    receiver = await new Receiver().start();
    running = await startEngine(
      `
routes:
  plain:
    from: { webhook: { path: /in, bodyLimit: 2kb } }
    to: [ { http: { url: "${receiver.url}/out" } } ]
  signed:
    from: { webhook: { path: /signed, verify: { hmacSha256: "\${SECRET}" } } }
    to: [ { http: { url: "${receiver.url}/signed" } } ]
  stripe:
    from: { webhook: { path: /stripe, verify: { stripe: { secret: "\${SECRET}", tolerance: 5m } } } }
    to: [ { http: { url: "${receiver.url}/stripe" } } ]
  full:
    from: { webhook: { path: /full } }
    maxDepth: 3
    to: [ { http: { url: "${receiver.url}/full" } } ]
`,
      { env: { SECRET } },
    );
  });

  after(async () => {
    await running.stop();
    await receiver.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${running.url}${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });

  /** After every bad request the engine must still accept and deliver a good one. */
  async function stillServing(): Promise<void> {
    const response = await post("/in", JSON.stringify({ ok: true }));
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    await eventually(() => receiver.effects.has(id), 5000, `delivery of ${id}`);
  }

  test("answers 202 with the message id after the commit and delivers it", async () => {
    const response = await post("/in", JSON.stringify({ orderId: "A-1" }), { "x-correlation-id": "corr-1" });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await eventually(() => receiver.effects.has(id), 5000, "delivery");
    const request = receiver.requests.find((r) => r.headers["ce-id"] === id)!;
    assert.deepEqual(JSON.parse(request.body), { orderId: "A-1" });
    assert.equal(request.headers["x-correlation-id"], "corr-1");
    assert.match(String(request.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  test("malformed JSON gets 400 with a problem body", async () => {
    const response = await post("/in", '{"orderId": ');
    assert.equal(response.status, 400);
    assert.match(String(response.headers.get("content-type")), /application\/problem\+json/);
    const body = (await response.json()) as { status: number; detail: string };
    assert.equal(body.status, 400);
    assert.match(body.detail, /malformed JSON/);
    await stillServing();
  });

  test("a wrong or missing content type gets 415", async () => {
    const wrong = await post("/in", "x", { "content-type": "image/png" });
    assert.equal(wrong.status, 415);
    const missing = await fetch(`${running.url}/in`, { method: "POST", body: new Uint8Array([1, 2, 3]) });
    assert.equal(missing.status, 415);
    await stillServing();
  });

  test("an oversized body gets 413", async () => {
    const response = await post("/in", JSON.stringify({ filler: "x".repeat(4096) }));
    assert.equal(response.status, 413);
    assert.match(String(response.headers.get("content-type")), /problem\+json/);
    await stillServing();
  });

  test("GitHub-style HMAC: good signature accepted, bad or missing gets 401", async () => {
    const body = JSON.stringify({ event: "push" });
    assert.equal((await post("/signed", body, { "x-hub-signature-256": sign(body) })).status, 202);
    assert.equal((await post("/signed", body, { "x-hub-signature-256": sign(body, "wrong") })).status, 401);
    assert.equal((await post("/signed", body)).status, 401);
    const tampered = await post("/signed", JSON.stringify({ event: "push!" }), {
      "x-hub-signature-256": sign(body),
    });
    assert.equal(tampered.status, 401);
    await stillServing();
  });

  test("Stripe-style signature with a timestamp: fresh accepted, stale or forged refused", async () => {
    const body = JSON.stringify({ type: "charge.succeeded" });
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await post("/stripe", body, { "stripe-signature": stripeSign(body, now) })).status, 202);
    const stale = await post("/stripe", body, { "stripe-signature": stripeSign(body, now - 3600) });
    assert.equal(stale.status, 401);
    assert.match(((await stale.json()) as { detail: string }).detail, /tolerance/);
    assert.equal(
      (await post("/stripe", body, { "stripe-signature": stripeSign(body, now, "x") })).status,
      401,
    );
  });

  test("XML with an external entity is refused and never resolved", async () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE o [<!ENTITY e SYSTEM "file:///etc/passwd">]><order><id>&e;</id></order>';
    const response = await post("/in", xxe, { "content-type": "application/xml" });
    assert.equal(response.status, 400);
    const text = await response.text();
    assert.doesNotMatch(text, /root:/);
    const good = await post("/in", '<order id="7"><sku>A</sku><sku>B</sku></order>', {
      "content-type": "application/xml",
    });
    assert.equal(good.status, 202);
    const { id } = (await good.json()) as { id: string };
    await eventually(() => receiver.effects.has(id), 5000, "xml delivery");
    const delivered = JSON.parse(receiver.requests.find((r) => r.headers["ce-id"] === id)!.body);
    assert.deepEqual(delivered, { order: { "@id": "7", sku: ["A", "B"] } });
  });

  test("a body is delivered as parsed, whatever its layout; NDJSON lines too, CRLF included", async () => {
    const order = { orderId: "A-2", note: 'Zoë \u00e9 "quoted"', lines: [{ sku: "X", qty: 2e1 }, null] };
    const pretty = `\n${JSON.stringify(order, null, 2)}\n`;
    const response = await post("/in", pretty);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const lines = await post("/in", '{ "n" : 1 }\r\n{"n":[2, 3]}\r\n', {
      "content-type": "application/x-ndjson",
    });
    const { ids } = (await lines.json()) as { ids: string[] };
    for (const wanted of [id, ...ids]) await eventually(() => receiver.effects.has(wanted), 5000, "delivery");
    const delivered = (wanted: string) =>
      JSON.parse(receiver.requests.find((r) => r.headers["ce-id"] === wanted)!.body);
    assert.deepEqual(delivered(id), order);
    assert.deepEqual(delivered(ids[0]), { n: 1 });
    assert.deepEqual(delivered(ids[1]), { n: [2, 3] });
  });

  test("NDJSON bodies become one message per line; form bodies become objects", async () => {
    const response = await post("/in", '{"n":1}\n{"n":2}\n\n{"n":3}\n', {
      "content-type": "application/x-ndjson",
    });
    assert.equal(response.status, 202);
    const { ids } = (await response.json()) as { ids: string[] };
    assert.equal(ids.length, 3);
    const badLine = await post("/in", '{"n":1}\nnot json\n', { "content-type": "application/x-ndjson" });
    assert.equal(badLine.status, 400);
    assert.match(((await badLine.json()) as { detail: string }).detail, /line 2/);
    const form = await post("/in", "a=1&b=2&b=3", { "content-type": "application/x-www-form-urlencoded" });
    const { id } = (await form.json()) as { id: string };
    await eventually(() => receiver.effects.has(id), 5000, "form delivery");
    assert.deepEqual(JSON.parse(receiver.requests.find((r) => r.headers["ce-id"] === id)!.body), {
      a: "1",
      b: ["2", "3"],
    });
  });

  test("a repeated Idempotency-Key returns the first answer and stores nothing new", async () => {
    const before = receiver.requests.length;
    const first = await post("/in", JSON.stringify({ n: 1 }), { "idempotency-key": "key-42" });
    const second = await post("/in", JSON.stringify({ n: 2 }), { "idempotency-key": "key-42" });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    const a = (await first.json()) as { id: string };
    const b = (await second.json()) as { id: string };
    assert.equal(b.id, a.id);
    assert.equal(second.headers.get("idempotent-replayed"), "true");
    await eventually(() => receiver.effects.has(a.id), 5000, "delivery");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.requests.length - before, 1);
  });

  test("above the route's high-water mark the webhook answers 503 with Retry-After", async () => {
    receiver.status = (request) => (request.url === "/full" ? 503 : 201);
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let index = 0; index < 12; index++) {
        const response = await post("/full", JSON.stringify({ index }));
        statuses.push(response.status);
        if (response.status === 503) retryAfter = response.headers.get("retry-after");
        await response.arrayBuffer();
      }
      assert.ok(statuses.includes(202), `some accepted: ${statuses}`);
      assert.ok(statuses.includes(503), `some refused: ${statuses}`);
      assert.match(String(retryAfter), /^[0-9]+$/);
    } finally {
      receiver.status = 201;
    }
    await stillServing();
  });
});

describe("webhook with intakeWait: held for room above the high-water mark", () => {
  let running: RunningEngine;
  let receiver: Receiver;
  /** Values of `n` as they reach the slow downstream system, before it answers. */
  const arrived: number[] = [];

  before(async () => {
    receiver = await new Receiver().start();
    receiver.delayFor = (body) => {
      const { n, slowMs } = JSON.parse(body) as { n: number; slowMs: number };
      arrived.push(n);
      return slowMs;
    };
    running = await startEngine(`
routes:
  held:
    from: { webhook: { path: /held } }
    maxDepth: 1
    intakeWait: 5s
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/held" } } ]
  briefly:
    from: { webhook: { path: /briefly } }
    maxDepth: 1
    intakeWait: 300ms
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/briefly" } } ]
`);
  });

  after(async () => {
    await running.stop();
    await receiver.close();
  });

  /** POST one order; resolves with its status and how long the answer took. */
  async function post(path: string, n: number, slowMs: number) {
    const started = performance.now();
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify({ n, slowMs }),
      headers: { "content-type": "application/json" },
    });
    await response.arrayBuffer();
    return {
      status: response.status,
      ms: performance.now() - started,
      retryAfter: response.headers.get("retry-after"),
    };
  }

  /** Resolves once the `junction_intake_waiting` gauge shows `count` requests held on route "held". */
  async function heldOnRoute(count: number, what: string) {
    const shown = new RegExp(`junction_intake_waiting\\{route="held"\\} ${count}\\b`);
    await eventually(
      async () =>
        shown.test(await running.engine.metrics.registry.getSingleMetricAsString("junction_intake_waiting")),
      5000,
      what,
    );
  }

  test("a request above the mark is held until the consumer takes the next message, then accepted", async () => {
    assert.equal((await post("/held", 1, 600)).status, 202);
    await eventually(() => arrived.includes(1), 5000, "the first order at the slow sink");
    assert.equal((await post("/held", 2, 0)).status, 202, "the inbox had room for one");
    // The inbox is at its mark (2 waits behind 1, which the sink holds for 600 ms): 3 is held.
    const held = post("/held", 3, 0);
    await heldOnRoute(1, "the held request in the junction_intake_waiting gauge");
    const third = await held;
    assert.equal(third.status, 202, "held, then accepted: not refused");
    assert.ok(third.ms >= 200, `held until 2 was claimed, ${Math.round(third.ms)} ms`);
    await eventually(() => [1, 2, 3].every((n) => arrived.includes(n)), 10_000, "all three delivered");
  });

  test("a dozen requests held at once are all accepted, with no listener-leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      assert.equal((await post("/held", 21, 800)).status, 202);
      await eventually(() => arrived.includes(21), 5000, "the first order at the slow sink");
      assert.equal((await post("/held", 22, 0)).status, 202, "the inbox had room for one");
      const held = Array.from({ length: 12 }, (_, i) => post("/held", 23 + i, 0));
      await heldOnRoute(12, "twelve requests held at once");
      const statuses = (await Promise.all(held)).map((answer) => answer.status);
      assert.deepEqual(statuses, Array(12).fill(202));
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.filter((text) => text.startsWith("MaxListenersExceededWarning")),
        [],
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  test("still above the mark when the wait runs out: 503 with Retry-After, and nothing lost", async () => {
    assert.equal((await post("/briefly", 11, 2000)).status, 202);
    await eventually(() => arrived.includes(11), 5000, "the first order at the slow sink");
    assert.equal((await post("/briefly", 12, 0)).status, 202);
    const refused = await post("/briefly", 13, 0);
    assert.equal(refused.status, 503);
    assert.match(String(refused.retryAfter), /^[0-9]+$/);
    assert.ok(
      refused.ms >= 250 && refused.ms < 1800,
      `refused after the 300 ms wait, ${Math.round(refused.ms)} ms`,
    );
    await eventually(() => arrived.includes(12), 10_000, "the accepted one is still delivered");
    assert.ok(!arrived.includes(13), "the refused one was never stored");
  });
});
