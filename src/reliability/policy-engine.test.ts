import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";

test("maxElapsed ends retries in time; retryOn retries a 409; deadLetterOn stops a 503 at once", {
  timeout: 120_000,
}, async () => {
  const api = await new Receiver().start();
  let conflicts = 2;
  api.status = (request) => {
    if (request.url === "/conflict" && conflicts > 0) {
      conflicts--;
      return 409;
    }
    return request.url === "/down" || request.url === "/retired" ? 503 : 201;
  };
  const running = await startEngine(`
policies:
  bounded: { retry: { attempts: 1000, initial: 10ms, max: 20ms, maxElapsed: 400ms } }
  conflicts: { retry: { attempts: 5, initial: 10ms, max: 20ms, retryOn: { statuses: [409] } } }
  retired: { retry: { attempts: 5, initial: 10ms, deadLetterOn: { statuses: [503] } } }
routes:
  bounded:
    from: { webhook: { path: /bounded } }
    policy: bounded
    to: [ { http: { url: "${api.url}/down" } } ]
  conflicts:
    from: { webhook: { path: /conflict } }
    policy: conflicts
    to: [ { http: { url: "${api.url}/conflict" } } ]
  retired:
    from: { webhook: { path: /retired } }
    policy: retired
    to: [ { http: { url: "${api.url}/retired" } } ]
`);
  const post = (path: string) =>
    fetch(`${running.url}${path}`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
  const started = Date.now();
  await post("/bounded");
  await post("/conflict");
  await post("/retired");
  const letters = async (route: string) => running.engine.store.deadLetters({ route });
  const bounded = await eventually(async () => (await letters("bounded"))[0], 10_000, "bounded to give up");
  assert.ok(Date.now() - started >= 400, "not before maxElapsed");
  assert.ok(
    bounded.attempts.length > 3 && bounded.attempts.length < 1000,
    `attempts: ${bounded.attempts.length}`,
  );
  await eventually(() => api.effects.size === 1, 5000, "the 409 retried until accepted");
  const retired = await eventually(
    async () => (await letters("retired"))[0],
    5000,
    "503 dead-lettered at once",
  );
  assert.equal(retired.attempts.length, 1);
  assert.deepEqual(await letters("conflicts"), []);
  await running.stop();
  await api.close();
});
