import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";

/** Every rule kind is made to fire, then to resolve, against a running engine. */
describe("alerts", () => {
  let running: RunningEngine;
  let pager: Receiver;
  let downstream: Receiver;
  let down = true;

  before(async () => {
    pager = await new Receiver().start();
    downstream = await new Receiver().start();
    downstream.status = (request) => (request.url === "/rejects" ? 422 : down ? 503 : 201);
    running = await startEngine(
      `
connections:
  erp: { http: { baseUrl: "${downstream.url}" }, circuitBreaker: { after: 2, halfOpenAfter: 200ms } }
channels:
  backlog: { queue: {} }
policies:
  slow: { retry: { attempts: 1000, initial: 100ms, max: 100ms } }
routes:
  rejects:
    from: { webhook: { path: /rejects } }
    to: [ { http: { url: "${downstream.url}/rejects" } } ]
  intake:
    from: { webhook: { path: /backlog } }
    to: [ { channel: backlog } ]
  drain:
    from: { channel: backlog }
    policy: slow
    to: [ { http: { connection: erp, path: /drain } } ]
  checked:
    from: { webhook: { path: /checked } }
    steps: [ { validate: { schema: order.json } } ]
    to: [ { log: { output: logger } } ]
  heartbeat:
    from: { webhook: { path: /heartbeat, system: sensor } }
    to: [ { log: { output: logger } } ]
systems:
  sensor: { owner: iot }
alerts:
  dead-letters:   { when: { deadLetters: { route: rejects, above: 1 } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  errors:         { when: { errorRate: { route: drain, above: 0.5, window: 1s, minimum: 2 } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  depth:          { when: { channelDepth: { channel: backlog, above: 2 } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  age:            { when: { channelAge: { channel: backlog, above: 300ms } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  lag:            { when: { consumerLag: { route: drain, above: 2 } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  circuit:        { when: { circuitOpen: { connection: erp } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  schema:         { when: { schemaViolations: { route: checked, above: 0.5, window: 1s } }, resolveAfter: 0s, notify: [ { http: { url: "${pager.url}/page" } } ] }
  silent-sensor:  { when: { silence: { system: sensor, for: 600ms } }, for: 100ms, resolveAfter: 0s, severity: critical, notify: [ { http: { url: "${pager.url}/page" } } ] }
`,
      { files: { "order.json": JSON.stringify({ type: "object", required: ["id"] }) } },
    );
  });

  after(async () => {
    await running.stop();
    await pager.close();
    await downstream.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
  const notices = (alert: string) =>
    pager.requests
      .map((request) => JSON.parse(request.body))
      .filter((notice) => notice.alert === alert)
      .map((notice) => notice.state);

  test("every rule kind fires, then resolves once the condition clears", { timeout: 180_000 }, async () => {
    await post("/rejects", { n: 1 });
    await post("/rejects", { n: 2 });
    for (let index = 0; index < 4; index++) await post("/backlog", { index });
    await post("/checked", { bad: true });
    await post("/checked", { bad: true });
    for (const alert of [
      "dead-letters",
      "errors",
      "depth",
      "age",
      "lag",
      "circuit",
      "schema",
      "silent-sensor",
    ]) {
      await eventually(() => notices(alert).includes("firing"), 20_000, `${alert} to fire`);
    }
    const silent = pager.requests
      .map((r) => JSON.parse(r.body))
      .find((notice) => notice.alert === "silent-sensor");
    assert.equal(silent.severity, "critical");
    assert.match(silent.summary, /nothing received from system sensor/);
    assert.equal(
      pager.requests.find((r) => JSON.parse(r.body).alert === "depth")?.headers["ce-type"],
      "junction.alert.firing",
    );

    // Clear every condition.
    for (const letter of await running.engine.store.deadLetters({ route: "rejects" })) {
      await running.engine.store.discardDeadLetters([letter.id], "test");
    }
    down = false;
    await post("/checked", { id: 1 });
    await post("/heartbeat", { ok: true });
    for (const alert of [
      "dead-letters",
      "errors",
      "depth",
      "age",
      "lag",
      "circuit",
      "schema",
      "silent-sensor",
    ]) {
      await eventually(() => notices(alert).includes("resolved"), 20_000, `${alert} to resolve`);
    }
    for (const alert of ["dead-letters", "depth", "circuit"]) {
      assert.deepEqual(notices(alert), ["firing", "resolved"], `${alert}: one notice per change`);
    }
    const status = (await (await fetch(`${running.adminUrl}/api/alerts`)).json()) as {
      name: string;
      state: string;
    }[];
    assert.equal(status.length, 8);
  });
});
