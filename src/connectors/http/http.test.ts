import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";

describe("http connector", () => {
  let running: RunningEngine;
  let api: Receiver;
  let throttled = 0;
  /**
   * A privileged port nothing listens on, so calls to it are refused. Not a port picked free and
   * released: a test running beside this one could take that one meanwhile.
   */
  const closedPort = 1;
  const bigStock = Array.from({ length: 20_000 }, (_, index) => `bin-${index}`);

  before(async () => {
    api = await new Receiver().start();
    api.earlyHints = (request) => request.url === "/v1/stock/HINTED";
    api.answer = (request) => (request.url === "/v1/stock/BIG" ? { bins: bigStock } : { ok: true });
    api.status = (request) => {
      if (request.url.startsWith("/throttled") && throttled > 0) {
        throttled--;
        return 429;
      }
      return request.url.startsWith("/stock") ? 200 : 201;
    };
    running = await startEngine(
      `
connections:
  api: { http: { baseUrl: "${api.url}/v1", headers: { x-api-version: "7" }, bearerToken: "\${TOKEN}", timeout: 300ms } }
policies:
  fast: { retry: { attempts: 4, initial: 10ms, max: 2s } }
  budget: { timeout: 300ms, retry: { attempts: 3, initial: 10ms, max: 20ms } }
routes:
  shipments:
    from: { webhook: { path: /ship } }
    to:
      - http:
          connection: api
          method: PUT
          path: "/shipments/{{ orderId }}"
          headers: { x-tenant: "{{ tenant }}" }
          idempotencyKey: "ship-{{ $message.id }}"
  throttled:
    from: { webhook: { path: /throttled } }
    policy: fast
    to: [ { http: { url: "${api.url}/throttled" } } ]
  slow:
    from: { webhook: { path: /slow } }
    policy: fast
    to: [ { http: { connection: api, path: /slow } } ]
  budgeted:
    from: { webhook: { path: /budget } }
    policy: budget
    to: [ { http: { url: "${api.url}/budget" } } ]
  enriched:
    from: { webhook: { path: /enrich } }
    steps:
      - enrich: { with: { http: { connection: api, method: GET, path: "/stock/{{ sku }}" } }, into: stock }
    to: [ { http: { url: "${api.url}/enriched" } } ]
  refused:
    from: { webhook: { path: /refused } }
    policy: fast
    to: [ { http: { url: "http://127.0.0.1:${closedPort}/nobody" } } ]
`,
      { env: { TOKEN: "tok-123" } },
    );
  });

  after(async () => {
    await running.stop();
    await api.close();
  });

  /** The first retry hop in a message's trace. */
  const firstRetry = (id: string, what: string) =>
    eventually(
      async () => {
        const hops = (await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] };
        return hops.hops.find((hop) => hop.outcome === "retry");
      },
      5000,
      what,
    );

  /** The enriched route's delivery of a message, as the receiver got it. */
  const enrichedDelivery = (id: string) =>
    eventually(
      () => api.requests.find((r) => r.url === "/enriched" && r.headers["ce-id"] === id),
      5000,
      "enriched delivery",
    );

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: string }).id;
  };

  test("renders method, path, headers and the idempotency key; sends the data as JSON with CloudEvents headers", async () => {
    const id = await post("/ship", { orderId: "SO-9", tenant: "acme" });
    const request = await eventually(
      () => api.requests.find((r) => r.headers["ce-id"] === id),
      5000,
      "delivery",
    );
    assert.equal(request.method, "PUT");
    assert.equal(request.url, "/v1/shipments/SO-9");
    assert.equal(request.headers["x-tenant"], "acme");
    assert.equal(request.headers["x-api-version"], "7");
    assert.equal(request.headers.authorization, "Bearer tok-123");
    assert.equal(request.headers["idempotency-key"], `ship-${id}`);
    assert.equal(request.headers["ce-specversion"], "1.0");
    assert.equal(request.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(request.body), { orderId: "SO-9", tenant: "acme" });
  });

  test("429 is retried after the server's Retry-After", async () => {
    throttled = 1;
    api.status = (request) => {
      if (request.url === "/throttled" && throttled > 0) {
        throttled--;
        return 429;
      }
      return request.url.startsWith("/stock") ? 200 : 201;
    };
    api.retryAfter = "1";
    const started = Date.now();
    const id = await post("/throttled", { n: 1 });
    await eventually(() => api.effects.has(id), 5000, "delivery after the throttle");
    api.retryAfter = undefined;
    assert.ok(Date.now() - started >= 950, "waited for Retry-After (1 s), not the 10 ms backoff");
    const hops = (await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] };
    const retry = hops.hops.find((hop) => hop.outcome === "retry");
    assert.equal(retry.error.code, "JUNCTION_HTTP_429");
    assert.equal(retry.detail.delayMs, 1000);
  });

  test("a slow answer is a retryable timeout", async () => {
    api.delayMs = 600;
    try {
      const id = await post("/slow", { n: 1 });
      const retry = await firstRetry(id, "a retry after the timeout");
      assert.equal(retry.error.code, "JUNCTION_HTTP_TIMEOUT");
      assert.equal(retry.error.retryable, true);
    } finally {
      api.delayMs = 0;
    }
  });

  test("a message over its route's time budget is aborted with that reason; one claimed beside it is not", async () => {
    api.delayFor = (body) => (body.includes('"hang":true') ? 2000 : undefined);
    try {
      // Posted together, so the route claims them in one batch and they share its deadline.
      const [slow, quick] = await Promise.all([
        post("/budget", { hang: true }),
        post("/budget", { hang: false }),
      ]);
      const hops = async (id: string) =>
        ((await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] }).hops;
      const retry = await eventually(
        async () => (await hops(slow)).find((hop) => hop.outcome === "retry"),
        5000,
        "a retry of the message over its budget",
      );
      assert.equal(retry.error.code, "JUNCTION_TIMEOUT");
      assert.match(retry.error.message, /not done within 300 ms/);
      await eventually(() =>
        api.requests.some((r) => r.url === "/budget" && r.body.includes('"hang":false')),
      );
      const quickHops = await eventually(async () => {
        const found = await hops(quick);
        return found.some((hop) => hop.outcome === "processed") ? found : undefined;
      });
      assert.ok(!quickHops.some((hop: any) => hop.outcome === "retry"), "the quick message was not aborted");
    } finally {
      api.delayFor = undefined;
    }
  });

  test("enrich merges the answer of a request into the data", async () => {
    const id = await post("/enrich", { sku: "TEA-01" });
    const request = await enrichedDelivery(id);
    assert.deepEqual(JSON.parse(request.body), { sku: "TEA-01", stock: { ok: true } });
    assert.ok(api.requests.some((r) => r.method === "GET" && r.url === "/v1/stock/TEA-01"));
  });

  test("an answer in many chunks is read whole", async () => {
    const id = await post("/enrich", { sku: "BIG" });
    const request = await enrichedDelivery(id);
    const answer = JSON.stringify({ bins: bigStock });
    assert.ok(answer.length > 200_000, "the answer spans many socket reads");
    assert.deepEqual(JSON.parse(request.body).stock.bins, bigStock);
  });

  test("an informational 103 before the answer is passed over", async () => {
    const id = await post("/enrich", { sku: "HINTED" });
    const request = await enrichedDelivery(id);
    assert.deepEqual(JSON.parse(request.body), { sku: "HINTED", stock: { ok: true } });
  });

  test("a refused connection is a retryable JUNCTION_HTTP_UNREACHABLE naming the call", async () => {
    const id = await post("/refused", { n: 1 });
    const retry = await firstRetry(id, "a retry after the refused connection");
    assert.equal(retry.error.code, "JUNCTION_HTTP_UNREACHABLE");
    assert.equal(retry.error.retryable, true);
    assert.match(retry.error.message, /^POST \/nobody failed: /);
  });
});
