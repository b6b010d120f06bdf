import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, startEngine, tempDir } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";

test("routes writing to one connection share its breaker: open stops claiming, the state survives a restart, recovery delivers everything", {
  timeout: 180_000,
}, async () => {
  const crm = await new Receiver().start();
  let down = true;
  let failedCalls = 0;
  crm.status = () => {
    if (down) failedCalls++;
    return down ? 503 : 201;
  };
  const dir = tempDir();
  const yaml = `
connections:
  crm: { http: { baseUrl: "${crm.url}" }, circuitBreaker: { after: 3, halfOpenAfter: 3s }, rateLimit: { perSecond: 200 } }
policies:
  quick: { retry: { attempts: 1000, initial: 10ms, max: 30ms } }
routes:
  contacts:
    from: { webhook: { path: /contacts } }
    concurrency: 1
    policy: quick
    to: [ { http: { connection: crm, path: /contacts } } ]
  deals:
    from: { webhook: { path: /deals } }
    concurrency: 1
    policy: quick
    to: [ { http: { connection: crm, path: /deals } } ]
`;
  let running = await startEngine(yaml, { dir });
  const post = async (path: string, n: number) => {
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify({ n }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(response.status, 202);
  };
  for (let n = 0; n < 5; n++) {
    await post("/contacts", n);
    await post("/deals", n);
  }
  const breakers = await eventually(
    async () => {
      const list = (await (await fetch(`${running.adminUrl}/api/breakers`)).json()) as {
        key: string;
        state: string;
      }[];
      return list.find((breaker) => breaker.key === "connection:crm" && breaker.state === "open");
    },
    5000,
    "the shared breaker to open",
  );
  assert.ok(breakers);
  const routes = (await (await fetch(`${running.adminUrl}/api/routes`)).json()) as {
    name: string;
    circuit: string;
  }[];
  assert.deepEqual(
    routes.map((route) => route.circuit),
    ["open", "open"],
    "both routes see the one breaker",
  );
  const whileOpen = failedCalls;
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.equal(failedCalls, whileOpen, "no calls while the circuit is open: the backlog waits on disk");
  assert.ok(failedCalls <= 5, `few calls burnt before opening: ${failedCalls}`);

  await running.stop();
  running = await startEngine(yaml, { dir });
  const afterRestart = (await (await fetch(`${running.adminUrl}/api/breakers`)).json()) as {
    key: string;
    state: string;
  }[];
  assert.equal(
    afterRestart.find((breaker) => breaker.key === "connection:crm")?.state,
    "open",
    "the open state survived the restart",
  );

  down = false;
  await eventually(() => crm.requests.length === 10, 15_000, "every message after recovery");
  const recovered = (await (await fetch(`${running.adminUrl}/api/breakers`)).json()) as {
    key: string;
    state: string;
  }[];
  assert.equal(recovered.find((breaker) => breaker.key === "connection:crm")?.state, "closed");
  await running.stop();
  await crm.close();
});
