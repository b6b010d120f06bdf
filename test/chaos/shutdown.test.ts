import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/engine.js";
import { exited, freePort, spawnJunction, waitReady } from "../helpers/process.js";
import { Receiver } from "../helpers/receiver.js";

test("SIGTERM stops intake, drains in-flight work, exits 0; a restart delivers the rest", {
  timeout: 180_000,
}, async () => {
  const receiver = await new Receiver().start();
  receiver.delayMs = 100; // a slow downstream: work is in flight when the signal lands
  const dir = tempDir();
  const [httpPort, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, "junction.yaml");
  writeFileSync(
    config,
    `
routes:
  slow:
    from: { webhook: { path: /in } }
    concurrency: 4
    to: [ { http: { url: "${receiver.url}/out" } } ]
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:${httpPort}" }
  admin: { listen: "127.0.0.1:${adminPort}" }
  shutdown: { timeout: 5s }
`,
  );
  const logFile = join(dir, "junction.log");
  let child = spawnJunction(["run", "-c", config], { logFile });
  await waitReady(`http://127.0.0.1:${adminPort}/readyz`, 30_000, child);
  const ids: string[] = [];
  for (let index = 0; index < 40; index++) {
    const response = await fetch(`http://127.0.0.1:${httpPort}/in`, {
      method: "POST",
      body: JSON.stringify({ index }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(response.status, 202);
    ids.push(((await response.json()) as { id: string }).id);
  }
  const signalled = Date.now();
  child.kill("SIGTERM");
  // Intake stops at once: new requests are refused.
  await new Promise((resolve) => setTimeout(resolve, 150));
  const refused = await fetch(`http://127.0.0.1:${httpPort}/in`, {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  }).then(
    (response) => response.status,
    () => "connection refused",
  );
  assert.notEqual(refused, 202);
  const { code } = await exited(child);
  assert.equal(code, 0, "exit 0 after a clean drain");
  assert.ok(Date.now() - signalled < 8000, "within the shutdown bound");
  const deliveredBeforeRestart = receiver.effects.size;
  assert.ok(deliveredBeforeRestart < ids.length, "the test must stop with work left over to be meaningful");

  child = spawnJunction(["run", "-c", config], { logFile });
  await waitReady(`http://127.0.0.1:${adminPort}/readyz`, 30_000, child);
  const deadline = Date.now() + 20_000;
  while (ids.some((id) => !receiver.effects.has(id)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGTERM");
  await exited(child);
  await receiver.close();
  assert.deepEqual(
    ids.filter((id) => !receiver.effects.has(id)),
    [],
    "every accepted message is delivered after the restart",
  );
  const duplicates = [...receiver.effects.values()].filter((count) => count > 1).length;
  assert.equal(duplicates, 0, "a clean shutdown finishes or releases work: no redelivery of completed sends");
});
