import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";
import type { StepContext } from "../api/step.js";
import { SchemaRegistry } from "../registry/registry.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { validateStep } from "./validate.js";

const message = (data: unknown) => ({ id: "m-1", correlationId: "m-1", headers: {}, data }) as any;

describe("validate { subject }: registered JSON Schema, Avro and Protobuf versions", () => {
  const store = new SqliteStore({ path: ":memory:", durability: "process" });
  const registry = new SchemaRegistry(store.schemaRegistry());
  const context = { store, configDir: process.cwd() } as unknown as StepContext;
  const signal = new AbortController().signal;

  before(() => {
    registry.setCompatibility("", "NONE");
    registry.register("order", {
      schemaType: "JSON",
      schema: JSON.stringify({ type: "object", required: ["id"], properties: { id: { type: "string" } } }),
    });
    registry.register("order", {
      schemaType: "JSON",
      schema: JSON.stringify({
        type: "object",
        required: ["id", "items"],
        properties: {
          id: { type: "string" },
          items: {
            type: "array",
            items: { type: "object", properties: { qty: { type: "integer", minimum: 1 } } },
          },
        },
      }),
    });
    registry.register("payment", {
      schema: JSON.stringify({
        type: "record",
        name: "Payment",
        fields: [
          { name: "id", type: "string" },
          { name: "amount", type: "double" },
          {
            name: "card",
            type: { type: "record", name: "Card", fields: [{ name: "last4", type: "string" }] },
          },
        ],
      }),
    });
    registry.register("shipment", {
      schemaType: "PROTOBUF",
      schema: 'syntax = "proto3";\nmessage Shipment { string id = 1; int32 parcels = 2; }',
    });
  });
  after(async () => {
    await store.close();
  });

  test("a passing message carries dataschema naming subject and version", async () => {
    const run = validateStep.create({ subject: "order@1" }, context);
    const [out] = await run({ message: message({ id: "o-1" }) }, signal);
    assert.equal(out.message.dataschema, "/subjects/order/versions/1");
    const latest = validateStep.create({ subject: "order" }, context);
    const [out2] = await latest({ message: message({ id: "o-1", items: [] }) }, signal);
    assert.equal(out2.message.dataschema, "/subjects/order/versions/2");
  });

  test("the version named is the one used: order@1 accepts what order@2 refuses", async () => {
    const v1 = validateStep.create({ subject: "order@1" }, context);
    const v2 = validateStep.create({ subject: "order@latest" }, context);
    const data = { id: "o-2", items: [{ qty: 0 }] };
    assert.equal((await v1({ message: message(data) }, signal)).length, 1);
    await assert.rejects(v2({ message: message(data) }, signal), (error: any) => {
      assert.equal(error.code, "JUNCTION_SCHEMA_VIOLATION");
      assert.deepEqual(error.details.reasons, ["items[0].qty must be >= 1"]);
      assert.equal(error.details.version, 2);
      return true;
    });
  });

  test("avro subjects report the failing field paths", async () => {
    const run = validateStep.create({ subject: "payment@1" }, context);
    await run({ message: message({ id: "p", amount: 1.5, card: { last4: "4242" } }) }, signal);
    await assert.rejects(
      run({ message: message({ id: "p", amount: "lots", card: {} }) }, signal),
      (error: any) => {
        assert.match(error.message, /amount must be double, got "lots"/);
        assert.match(error.message, /card\.last4 is required/);
        return true;
      },
    );
  });

  test("protobuf subjects check the first message type", async () => {
    const run = validateStep.create({ subject: "shipment" }, context);
    await run({ message: message({ id: "s", parcels: 2 }) }, signal);
    await assert.rejects(
      run({ message: message({ id: "s", parcels: "two" }) }, signal),
      /parcels: integer expected/,
    );
  });

  test("an unknown subject or version stops the start with a config error", () => {
    assert.throws(() => validateStep.create({ subject: "nope" }, context), /Subject 'nope' not found/);
    assert.throws(() => validateStep.create({ subject: "order@7" }, context), /Version 7 not found/);
  });
});

describe("validate by subject and canonical routes in a running engine", () => {
  let running: RunningEngine;
  let receiver: Receiver;

  before(async () => {
    receiver = await new Receiver().start();
    running = await startEngine(
      `
systems:
  shop: {}
schemas:
  invoice: { file: invoice.avsc }
  order: { file: order.json, compatibility: FULL }
models:
  order:
    schema: order@1
    systems:
      shop: { to: shop-to-order.jsonata }
routes:
  invoices:
    from: { webhook: { path: /invoices } }
    steps: [ { validate: { subject: invoice@1 } } ]
    to: [ { http: { url: "${receiver.url}/invoices" } } ]
  shop-orders:
    from: { webhook: { path: /shop } }
    steps: [ { map: { jsonata: '{ "id": ref, "total": amount }' } } ]
    canonical: order
    to: [ { http: { url: "${receiver.url}/orders" } } ]
`,
      {
        files: {
          "invoice.avsc": JSON.stringify({
            type: "record",
            name: "Invoice",
            fields: [
              { name: "number", type: "string" },
              { name: "amount", type: "double" },
            ],
          }),
          "order.json": JSON.stringify({
            type: "object",
            required: ["id", "total"],
            properties: { id: { type: "string" }, total: { type: "number" } },
          }),
          "shop-to-order.jsonata": '{ "id": ref, "total": amount }',
        },
      },
    );
  });
  after(async () => {
    await running.stop();
    await receiver.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });

  test("an Avro subject: the valid invoice is delivered, the invalid one dead-lettered naming the field", async () => {
    await post("/invoices", { number: "F-1", amount: 12.5 });
    await post("/invoices", { number: "F-2", amount: "twelve" });
    await eventually(() => receiver.requests.some((request) => request.url === "/invoices"));
    const [letter] = await eventually(async () => {
      const letters = await running.engine.store.deadLetters({ route: "invoices" });
      return letters.length ? letters : undefined;
    });
    assert.equal(letter.error.code, "JUNCTION_SCHEMA_VIOLATION");
    assert.match(letter.error.message, /invoice@1: amount must be double, got "twelve"/);
    assert.equal(letter.step, "steps[0]:validate");
    assert.equal(receiver.requests.filter((request) => request.url === "/invoices").length, 1);
  });

  test("a canonical route checks its mapped output before its targets", async () => {
    await post("/shop", { ref: "A-1", amount: 30 });
    await post("/shop", { ref: "A-2" });
    await eventually(() => receiver.requests.some((request) => request.url === "/orders"));
    const [letter] = await eventually(async () => {
      const letters = await running.engine.store.deadLetters({ route: "shop-orders" });
      return letters.length ? letters : undefined;
    });
    assert.equal(letter.step, "canonical:validate");
    assert.match(letter.error.message, /order@1: total is required/);
    assert.deepEqual(JSON.parse(receiver.requests.find((request) => request.url === "/orders")!.body), {
      id: "A-1",
      total: 30,
    });
  });
});
