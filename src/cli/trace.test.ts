import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, startEngine } from "../../test/helpers/engine.js";
import { runJunction } from "../../test/helpers/process.js";
import { Receiver } from "../../test/helpers/receiver.js";

test("junction trace follows a message through routes, channels and splits, by message or correlation id", {
  timeout: 120_000,
}, async () => {
  const erp = await new Receiver().start();
  const running = await startEngine(`
channels:
  orders: { topic: {} }
routes:
  intake:
    from: { webhook: { path: /orders } }
    to: [ { channel: orders } ]
  lines:
    from: { channel: orders }
    steps: [ { split: { jsonata: lines } } ]
    to: [ { http: { url: "${erp.url}/lines" } } ]
`);
  const response = await fetch(`${running.url}/orders`, {
    method: "POST",
    body: JSON.stringify({ lines: [{ sku: "A" }, { sku: "B" }] }),
    headers: { "content-type": "application/json", "x-correlation-id": "order-77" },
  });
  const { id } = (await response.json()) as { id: string };
  await eventually(() => erp.requests.length === 2, 5000, "both lines");
  const text = await runJunction(["trace", id, "--admin", running.adminUrl]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^correlation order-77: 3 messages/);
  assert.match(text.stdout, new RegExp(`message ${id}\\n.*received\\s+intake from:webhook`));
  assert.match(text.stdout, /processed\s+intake → orders/);
  assert.equal(text.stdout.match(/sent\s+lines to\[0\]:http/g)?.length, 2);
  const json = await runJunction(["trace", "order-77", "--json", "--admin", running.adminUrl]);
  const trace = JSON.parse(json.stdout) as { correlationId: string; hops: { route: string }[] };
  assert.equal(trace.correlationId, "order-77");
  assert.ok(trace.hops.some((hop) => hop.route === "lines"));
  const missing = await runJunction(["trace", "nope", "--admin", running.adminUrl]);
  assert.equal(missing.code, 1);
  await running.stop();
  await erp.close();
});
