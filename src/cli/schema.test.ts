import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningEngine, startEngine, tempDir } from "../../test/helpers/engine.js";
import { runJunction } from "../../test/helpers/process.js";

const fixtures = new URL("./fixtures/schema/", import.meta.url).pathname;
const fixture = (name: string) => join(fixtures, name);

describe("junction schema: check (OpenAPI, AsyncAPI) with exit codes, register, list, show", () => {
  let running: RunningEngine;
  const dir = tempDir();
  const cli = (...args: string[]) => runJunction(["schema", ...args, "--admin", running.adminUrl]);

  before(async () => {
    copyFileSync(fixture("order.json"), join(dir, "order.json"));
    running = await startEngine(
      `
schemas:
  order: { file: order.json }
routes:
  orders:
    from: { webhook: { path: /orders } }
    steps: [ { validate: { subject: order@1 } } ]
    to: [ { log: {} } ]
`,
      { dir },
    );
  });
  after(async () => {
    await running.stop();
  });

  test("an OpenAPI component that only adds to a closed model is compatible: exit 0", async () => {
    const result = await cli("check", "order", fixture("openapi-compatible.yaml"), "--component", "Order");
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /is compatible \(BACKWARD, latest version 1\)/);
  });

  test("an incompatible OpenAPI component: exit 1 with the field and the rule", async () => {
    const result = await cli("check", "order", fixture("openapi-incompatible.yaml"), "--component", "Order");
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /INCOMPATIBLE/);
    assert.match(result.stdout, /TYPE_CHANGED at #\/properties\/total\/type/);
    assert.match(result.stdout, /ENUM_ARRAY_NARROWED at #\/properties\/currency\/enum/);
    assert.match(result.stdout, /property "customer" is now required/);
  });

  test("an AsyncAPI 2 message payload, --json: exit 1, reasons in the document", async () => {
    const result = await cli(
      "check",
      "order",
      fixture("asyncapi2.yaml"),
      "--message",
      "OrderPlaced",
      "--json",
    );
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.compatible, false);
    assert.equal(report.compatibility, "BACKWARD");
    assert.equal(report.latest, 1);
    // The payload narrowed total to integer and dropped currency from a closed model.
    assert.ok(report.messages.some((m: string) => m.startsWith("TYPE_NARROWED at #/properties/total/type")));
    assert.ok(
      report.messages.some((m: string) => m.startsWith("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")),
    );
  });

  test("an AsyncAPI 3 message payload checked on the store file directly (--store)", async () => {
    const result = await runJunction([
      "schema",
      "check",
      "order",
      fixture("asyncapi3.yaml"),
      "--message",
      "OrderPlaced",
      "--store",
      join(dir, "store.db"),
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /MAXIMUM_ADDED at #\/properties\/total\/maximum/);
  });

  test("usage errors exit 2: no --component for an OpenAPI file, an unknown message", async () => {
    const missing = await cli("check", "order", fixture("openapi-compatible.yaml"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /name the schema with --component/);
    const unknown = await cli("check", "order", fixture("asyncapi2.yaml"), "--message", "Nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no message "Nope".*OrderPlaced/);
  });

  test("register a compatible version, then list and show it", async () => {
    const registered = await cli(
      "register",
      "order",
      fixture("openapi-compatible.yaml"),
      "--component",
      "Order",
      "--json",
    );
    assert.equal(registered.code, 0, registered.stderr);
    assert.equal(JSON.parse(registered.stdout).version, 2);
    const refused = await cli(
      "register",
      "order",
      fixture("openapi-incompatible.yaml"),
      "--component",
      "Order",
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /incompatible.*TYPE_CHANGED/);
    const list = JSON.parse((await cli("list", "--json")).stdout);
    assert.deepEqual(
      list.map((item: any) => [item.subject, item.version, item.schemaType]),
      [["order", 2, "JSON"]],
    );
    const shown = JSON.parse((await cli("show", "order@2", "--json")).stdout);
    assert.equal(JSON.parse(shown.schema).properties.currency.$ref, "#/$defs/Currency");
  });
});
