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
  bounded: { retry: { attempts: 1000, initial: 10ms, max: 20ms, maxElapsed: 1s } }
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
  try {
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
    assert.ok(Date.now() - started >= 1000, "not before maxElapsed");
    // 1000 attempts up to 20 ms apart would go on for seconds; maxElapsed ends them after about 1 s,
    // however slow the first attempt was on a loaded machine.
    assert.ok(
      bounded.attempts.length >= 3 && bounded.attempts.length < 500,
      `attempts: ${bounded.attempts.length}`,
    );
    // Each retry waits its backoff (at most 20 ms here), never a whole idle poll of the route (1 s),
    // as it did when it came due between an empty claim and the route's wait.
    const times = bounded.attempts.map((attempt) => Date.parse(attempt.at));
    const longest = Math.max(...times.slice(1).map((time, index) => time - times[index]));
    assert.ok(longest < 900, `longest wait between attempts ${longest} ms`);
    await eventually(() => api.effects.size === 1, 5000, "the 409 retried until accepted");
    const retired = await eventually(
      async () => (await letters("retired"))[0],
      5000,
      "503 dead-lettered at once",
    );
    assert.equal(retired.attempts.length, 1);
    assert.deepEqual(await letters("conflicts"), []);
  } finally {
    // Also after a failed assertion: an open server would keep the test process from exiting.
    await running.stop();
    await api.close();
  }
});
