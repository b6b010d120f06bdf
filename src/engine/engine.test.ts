import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";

const json = { "content-type": "application/json" };

describe("engine: steps, routing and failures", () => {
  let running: RunningEngine;
  let receiver: Receiver;
  let flaky = 0;

  before(async () => {
    receiver = await new Receiver().start();
    receiver.status = (request) => {
      if (request.url === "/rejects") return 422;
      if (request.url === "/flaky" && flaky > 0) {
        flaky--;
        return 503;
      }
      return 201;
    };
    running = await startEngine(`
channels:
  eu: { queue: {} }
  world: { queue: {} }
  fanout: { topic: {} }
policies:
  fast: { retry: { attempts: 3, initial: 10ms, max: 50ms } }
routes:
  router:
    from: { webhook: { path: /orders } }
    steps:
      - filter: { jsonata: 'status != "draft"' }
      - set: { headers: { x-country: "{{ country }}" }, subject: "order/{{ orderId }}" }
      - switch:
          cases:
            - when: 'country in ["DE", "FR"]'
              to: [ { channel: eu } ]
          otherwise: { to: [ { channel: world } ] }
    to: [ { log: {} } ]
  eu-out:
    from: { channel: eu }
    steps: [ { split: { jsonata: items } } ]
    to: [ { http: { url: "${receiver.url}/eu" } } ]
  world-out:
    from: { channel: world }
    to: [ { http: { url: "${receiver.url}/world" } } ]
  loop:
    from: { webhook: { path: /loop } }
    steps: [ { map: { jsonata: '($f := function($x){ $f($x + 1) }; $f(1))' } } ]
    to: [ { http: { url: "${receiver.url}/never" } } ]
  rejected:
    from: { webhook: { path: /rejects } }
    to: [ { http: { url: "${receiver.url}/rejects" } } ]
  retried:
    from: { webhook: { path: /flaky } }
    policy: fast
    to: [ { http: { url: "${receiver.url}/flaky-ok" } }, { http: { url: "${receiver.url}/flaky" } } ]
  fan:
    from: { webhook: { path: /fan } }
    to: [ { channel: fanout } ]
  fan-a:
    from: { channel: fanout }
    to: [ { http: { url: "${receiver.url}/fan-a" } } ]
  fan-b:
    from: { channel: fanout }
    to: [ { http: { url: "${receiver.url}/fan-b" } } ]
`);
  });

  after(async () => {
    await running.stop();
    await receiver.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { ...json, ...headers },
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: string }).id;
  };
  const at = (url: string) => receiver.requests.filter((request) => request.url === url);

  test("filter, set and switch route by content; split makes one message per element", async () => {
    await post("/orders", { orderId: "d1", status: "draft", country: "DE", items: [1] });
    const eu = await post(
      "/orders",
      { orderId: "e1", status: "paid", country: "DE", items: [{ sku: "A" }, { sku: "B" }] },
      { "x-correlation-id": "corr-eu" },
    );
    await post("/orders", { orderId: "w1", status: "paid", country: "US", items: [{ sku: "C" }] });
    await eventually(() => at("/eu").length === 2 && at("/world").length === 1, 5000, "routing");
    assert.deepEqual(
      at("/eu")
        .map((request) => JSON.parse(request.body).sku)
        .sort(),
      ["A", "B"],
    );
    for (const request of at("/eu")) {
      assert.equal(
        request.headers["x-correlation-id"],
        "corr-eu",
        "correlation id kept across routes and splits",
      );
      assert.notEqual(request.headers["ce-id"], eu, "split parts get their own ids");
      assert.equal(request.headers["ce-subject"], "order/e1");
    }
    assert.equal(JSON.parse(at("/world")[0].body).orderId, "w1");
    const trace = (await (await fetch(`${running.adminUrl}/api/trace/${eu}`)).json()) as {
      hops: { route: string; outcome: string }[];
    };
    const routes = new Set(trace.hops.map((hop) => hop.route));
    assert.ok(
      routes.has("router") && routes.has("eu-out"),
      "the journal follows the correlation id across routes",
    );
  });

  test("a mapping that never ends fails that message with a timeout; other routes keep running", async () => {
    const started = Date.now();
    const id = await post("/loop", { n: 1 });
    const world = await post("/orders", { orderId: "w2", status: "paid", country: "US" });
    await eventually(() => receiver.effects.has(world), 3000, "another route delivering meanwhile");
    const letter = await eventually(
      async () => {
        const letters = (await (await fetch(`${running.adminUrl}/api/dlq?route=loop`)).json()) as any[];
        return letters.find((candidate) => candidate.message.id === id);
      },
      10_000,
      "the looping message to be dead-lettered",
    );
    assert.equal(letter.error.code, "JUNCTION_EXPRESSION_TIMEOUT");
    assert.match(letter.step, /map/);
    assert.ok(Date.now() - started < 8000);
    assert.equal(at("/never").length, 0);
  });

  test("a permanent 4xx goes straight to the dead-letter store with the reason", async () => {
    const id = await post("/rejects", { x: 1 });
    const letter = await eventually(
      async () => {
        const letters = (await (await fetch(`${running.adminUrl}/api/dlq?route=rejected`)).json()) as any[];
        return letters.find((candidate) => candidate.message.id === id);
      },
      5000,
      "dead letter",
    );
    assert.equal(letter.error.code, "JUNCTION_HTTP_422");
    assert.equal(letter.error.retryable, false);
    assert.equal(letter.attempts.length, 1);
    assert.deepEqual(letter.message.data, { x: 1 });
  });

  test("retryable failures are retried; a target that already confirmed is not written again", async () => {
    flaky = 2;
    const id = await post("/flaky", { y: 1 });
    await eventually(
      () => at("/flaky").some((request) => request.headers["ce-id"] === id),
      5000,
      "eventual success",
    );
    assert.equal(
      at("/flaky-ok").filter((request) => request.headers["ce-id"] === id).length,
      1,
      "no duplicate on the healthy target",
    );
    flaky = 10;
    const doomed = await post("/flaky", { y: 2 });
    const letter = await eventually(
      async () => {
        const letters = (await (await fetch(`${running.adminUrl}/api/dlq?route=retried`)).json()) as any[];
        return letters.find((candidate) => candidate.message.id === doomed);
      },
      5000,
      "exhausted retries",
    );
    assert.equal(letter.attempts.length, 3, "every attempt is recorded");
    assert.equal(letter.error.code, "JUNCTION_HTTP_503");
    flaky = 0;
  });

  test("a topic gives every subscribing route its own copy", async () => {
    const id = await post("/fan", { z: 1 });
    await eventually(() => at("/fan-a").length === 1 && at("/fan-b").length === 1, 5000, "both copies");
    assert.equal(at("/fan-a")[0].headers["ce-id"], id);
    assert.equal(at("/fan-b")[0].headers["ce-id"], id);
  });

  test("the admin API lists routes and channels", async () => {
    const routes = (await (await fetch(`${running.adminUrl}/api/routes`)).json()) as any[];
    assert.ok(routes.find((route) => route.name === "router" && route.to[0].connector === "log"));
    const channels = (await (await fetch(`${running.adminUrl}/api/channels`)).json()) as any[];
    assert.ok(channels.find((channel) => channel.channel === "fanout" && channel.kind === "topic"));
    assert.equal((await fetch(`${running.adminUrl}/readyz`)).status, 200);
  });
});
