import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startEngine, tempDir } from "../../test/helpers/engine.js";

const yaml = `
schemas:
  order: { file: order.avsc }
routes:
  orders:
    from: { webhook: { path: /orders } }
    steps: [ { validate: { subject: order } } ]
    to: [ { log: {} } ]
`;
const order = (fields: unknown[]) => JSON.stringify({ type: "record", name: "Order", fields });

test("declared schemas: same file is a no-op, a compatible change is the next version, an incompatible one stops the start", async () => {
  const dir = tempDir({ "order.avsc": order([{ name: "id", type: "string" }]) });
  let running = await startEngine(yaml, { dir });
  await running.stop();
  running = await startEngine(yaml, { dir });
  const versions = async () =>
    (await (await fetch(`${running.adminUrl}/registry/subjects/order/versions`)).json()) as number[];
  assert.deepEqual(await versions(), [1], "the same file again made no version");
  await running.stop();

  writeFileSync(
    join(dir, "order.avsc"),
    order([
      { name: "id", type: "string" },
      { name: "note", type: "string", default: "" },
    ]),
  );
  running = await startEngine(yaml, { dir });
  assert.deepEqual(await versions(), [1, 2]);
  await running.stop();

  writeFileSync(
    join(dir, "order.avsc"),
    order([
      { name: "id", type: "string" },
      { name: "total", type: "int" },
    ]),
  );
  await assert.rejects(startEngine(yaml, { dir }), (error: Error) => {
    assert.match(
      error.message,
      /schemas\.order\.file \(order\.avsc\).*incompatible.*READER_FIELD_MISSING_DEFAULT_VALUE/,
    );
    return true;
  });
});
