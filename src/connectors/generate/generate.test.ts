import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";

test("generate emits templated data on a timer and resumes its count after a restart", async () => {
  const receiver = await new Receiver().start();
  const dir = tempDir();
  const yaml = `
routes:
  ticks:
    from: { generate: { interval: 10ms, batch: 2, count: 6, data: { n: "{{ index }}", label: "tick {{ index }}" } } }
    to: [ { http: { url: "${receiver.url}/ticks" } } ]
`;
  let running = await startEngine(yaml, { dir });
  await eventually(() => receiver.requests.length >= 2, 5000, "first ticks");
  await running.stop();
  running = await startEngine(yaml, { dir });
  await eventually(() => receiver.requests.length >= 6, 5000, "all ticks");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await running.stop();
  await receiver.close();
  const bodies = receiver.requests.map((request) => JSON.parse(request.body));
  assert.equal(bodies.length, 6, "count holds across restarts");
  assert.deepEqual(
    bodies.map((body) => body.n).sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(bodies.find((body) => body.n === 3).label, "tick 3");
});
