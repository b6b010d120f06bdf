import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";

test("dedupe: a repeated key is acknowledged as a duplicate, concurrent repeats give one effect, a failed first try is not a duplicate", {
  timeout: 120_000,
}, async () => {
  const erp = await new Receiver().start();
  let failFirst = true;
  erp.status = (request) => {
    if (JSON.parse(request.body).orderId === "flaky" && failFirst) {
      failFirst = false;
      return 503;
    }
    return 201;
  };
  const running = await startEngine(`
policies:
  quick: { retry: { attempts: 5, initial: 50ms, max: 100ms } }
routes:
  orders:
    from: { webhook: { path: /orders } }
    concurrency: 8
    policy: quick
    steps: [ { dedupe: { key: orderId, window: 1h } } ]
    to: [ { http: { url: "${erp.url}/orders" } } ]
  short:
    from: { webhook: { path: /short } }
    steps: [ { dedupe: { key: orderId, window: 300ms } } ]
    to: [ { http: { url: "${erp.url}/short" } } ]
`);
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    return ((await response.json()) as { id: string }).id;
  };
  const effectsFor = (orderId: string, url = "/orders") =>
    erp.requests.filter((request) => request.url === url && JSON.parse(request.body).orderId === orderId)
      .length;

  const first = await post("/orders", { orderId: "A" });
  await eventually(() => effectsFor("A") === 1, 5000, "first A");
  const repeat = await post("/orders", { orderId: "A" });
  const trace = await eventually(
    async () => {
      const hops = (await (await fetch(`${running.adminUrl}/api/trace/${repeat}`)).json()) as {
        hops: { outcome: string }[];
      };
      return hops.hops.find((hop) => hop.outcome === "duplicate");
    },
    5000,
    "the repeat journaled as a duplicate",
  );
  assert.ok(trace);
  assert.notEqual(first, repeat);

  await Promise.all(Array.from({ length: 6 }, () => post("/orders", { orderId: "B" })));
  await eventually(() => effectsFor("B") === 1, 5000, "B");

  await post("/orders", { orderId: "flaky" });
  await post("/orders", { orderId: "flaky" });
  await eventually(() => effectsFor("flaky") === 1, 5000, "flaky delivered once after its retry");

  await post("/short", { orderId: "C" });
  await eventually(() => effectsFor("C", "/short") === 1, 5000, "C");
  await new Promise((resolve) => setTimeout(resolve, 400));
  await post("/short", { orderId: "C" });
  await eventually(() => effectsFor("C", "/short") === 2, 5000, "C again after its window");

  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(effectsFor("A"), 1);
  assert.equal(effectsFor("B"), 1);
  assert.equal(effectsFor("flaky"), 1);
  await running.stop();
  await erp.close();
});
