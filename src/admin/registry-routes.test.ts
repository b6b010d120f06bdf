import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { type RunningEngine, startEngine } from "../../test/helpers/engine.js";
import { createAdminServer } from "./server.js";

const orderV1 = {
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "id", type: "string" },
    { name: "total", type: "int" },
  ],
};
const orderV2 = {
  ...orderV1,
  fields: [...orderV1.fields, { name: "currency", type: "string", default: "EUR" }],
};
const incompatible = { ...orderV1, fields: [...orderV1.fields, { name: "customer", type: "string" }] };

let running: RunningEngine;
let registryUrl: string;

before(async () => {
  running = await startEngine(
    `
schemas:
  invoice: { file: invoice.json, compatibility: FULL }
routes:
  noop:
    from: { generate: { count: 1, interval: 1h, data: {} } }
    to: [{ log: {} }]
`,
    { files: { "invoice.json": JSON.stringify({ type: "object", properties: { n: { type: "integer" } } }) } },
  );
  registryUrl = `${running.adminUrl}/registry`;
});
after(async () => {
  await running.stop();
});

const call = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${registryUrl}${path}`, {
    method,
    headers: body ? { "content-type": "application/vnd.schemaregistry.v1+json" } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: (await response.json()) as any,
  };
};

test("the Confluent client registers, encodes, decodes and looks up through Junction's registry", async () => {
  const client = new SchemaRegistry({ host: registryUrl });
  const subject = "orders-value";
  const { id } = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(orderV1) },
    { subject, compatibility: COMPATIBILITY.BACKWARD },
  );
  assert.ok(id >= 1);
  const again = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(orderV1) },
    { subject },
  );
  assert.equal(again.id, id, "registering the same schema again answers the same id");

  const encoded = await client.encode(id, { id: "o-1", total: 42 });
  assert.equal(encoded[0], 0, "Confluent wire format: magic byte");
  assert.equal(encoded.readInt32BE(1), id);
  assert.deepEqual({ ...(await client.decode(encoded)) }, { id: "o-1", total: 42 });

  const { id: id2 } = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(orderV2) },
    { subject, compatibility: COMPATIBILITY.BACKWARD },
  );
  assert.notEqual(id2, id);
  assert.equal(await client.getLatestSchemaId(subject), id2);
  assert.equal(
    await client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(orderV1) }),
    id,
  );

  await assert.rejects(
    client.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
    (error: Error) => {
      assert.match(error.message, /READER_FIELD_MISSING_DEFAULT_VALUE/);
      assert.match(error.message, /customer/);
      return true;
    },
  );
  assert.equal(await client.getLatestSchemaId(subject), id2, "the refused schema made no version");
});

test("REST: versions, ids, lookups, compatibility checks and config answer as Confluent's API does", async () => {
  const subject = "rest-value";
  const created = await call("POST", `/subjects/${subject}/versions`, { schema: JSON.stringify(orderV1) });
  assert.equal(created.status, 200);
  assert.equal(created.type, "application/vnd.schemaregistry.v1+json");
  const { id } = created.body;

  assert.ok((await call("GET", "/subjects")).body.includes(subject));
  assert.deepEqual((await call("GET", `/subjects/${subject}/versions`)).body, [1]);
  const latest = await call("GET", `/subjects/${subject}/versions/latest`);
  assert.deepEqual(latest.body, { subject, version: 1, id, schema: JSON.stringify(orderV1) });
  assert.deepEqual((await call("GET", `/subjects/${subject}/versions/1/schema`)).body, orderV1);
  assert.deepEqual((await call("GET", `/schemas/ids/${id}`)).body, { schema: JSON.stringify(orderV1) });
  // The same schema text has one global id across subjects.
  assert.deepEqual(
    (await call("GET", `/schemas/ids/${id}/versions`)).body.filter((usage: any) => usage.subject === subject),
    [{ subject, version: 1 }],
  );
  assert.deepEqual((await call("GET", "/schemas/types")).body, ["JSON", "PROTOBUF", "AVRO"]);
  assert.equal(
    (await call("POST", `/subjects/${subject}`, { schema: JSON.stringify(orderV1) })).body.version,
    1,
  );

  const check = await call("POST", `/compatibility/subjects/${subject}/versions/latest?verbose=true`, {
    schema: JSON.stringify(incompatible),
  });
  assert.equal(check.body.is_compatible, false);
  assert.match(check.body.messages[0], /READER_FIELD_MISSING_DEFAULT_VALUE at \/fields\/2/);
  assert.equal(
    (await call("POST", `/compatibility/subjects/${subject}/versions/1`, { schema: JSON.stringify(orderV2) }))
      .body.is_compatible,
    true,
  );

  const refused = await call("POST", `/subjects/${subject}/versions`, {
    schema: JSON.stringify(incompatible),
  });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error_code, 409);

  // Errors carry Confluent's codes.
  assert.equal((await call("GET", "/subjects/nope/versions")).body.error_code, 40401);
  assert.equal((await call("GET", `/subjects/${subject}/versions/9`)).body.error_code, 40402);
  assert.equal((await call("GET", "/schemas/ids/99999")).body.error_code, 40403);
  assert.equal((await call("GET", `/subjects/${subject}/versions/abc`)).body.error_code, 42202);
  assert.equal(
    (await call("POST", `/subjects/${subject}/versions`, { schema: "{nope" })).body.error_code,
    42201,
  );
  assert.equal(
    (await call("PUT", `/config/${subject}`, { compatibility: "SIDEWAYS" })).body.error_code,
    42203,
  );
  assert.equal((await call("GET", `/config/${subject}`)).body.error_code, 40408);

  // Config: NONE lets the incompatible schema in.
  assert.deepEqual((await call("PUT", `/config/${subject}`, { compatibility: "NONE" })).body, {
    compatibility: "NONE",
  });
  assert.deepEqual((await call("GET", `/config/${subject}`)).body, { compatibilityLevel: "NONE" });
  assert.equal((await call("GET", "/config")).body.compatibilityLevel, "BACKWARD");
  assert.equal(
    (await call("POST", `/subjects/${subject}/versions`, { schema: JSON.stringify(incompatible) })).status,
    200,
  );

  // Deletes: soft, then permanent.
  assert.equal(
    (await call("DELETE", `/subjects/${subject}/versions/2?permanent=true`)).body.error_code,
    40407,
  );
  assert.equal((await call("DELETE", `/subjects/${subject}/versions/2`)).body, 2);
  assert.deepEqual((await call("GET", `/subjects/${subject}/versions`)).body, [1]);
  assert.deepEqual((await call("DELETE", `/subjects/${subject}`)).body, [1]);
  assert.equal((await call("GET", `/subjects/${subject}/versions`)).body.error_code, 40401);
  assert.deepEqual((await call("DELETE", `/subjects/${subject}?permanent=true`)).body, [1, 2]);
});

test("REST: schemas declared in the configuration are registered, with their compatibility", async () => {
  const latest = await call("GET", "/subjects/invoice/versions/latest");
  assert.equal(latest.body.schemaType, "JSON");
  assert.equal(latest.body.version, 1);
  assert.deepEqual((await call("GET", "/config/invoice")).body, { compatibilityLevel: "FULL" });
  // FULL: an added property on the open model breaks backward; a changed type breaks both ways.
  const check = await call("POST", "/compatibility/subjects/invoice/versions/latest?verbose=true", {
    schemaType: "JSON",
    schema: JSON.stringify({ type: "object", properties: { n: { type: "string" } } }),
  });
  assert.equal(check.body.is_compatible, false);
  assert.ok(check.body.messages.some((message: string) => message.includes("forward")));
});

test("the Confluent client registers and round-trips a JSON Schema subject", async () => {
  const client = new SchemaRegistry({ host: registryUrl });
  const schema = JSON.stringify({
    type: "object",
    properties: { sku: { type: "string" }, qty: { type: "integer" } },
    required: ["sku"],
  });
  const { id } = await client.register({ type: SchemaType.JSON, schema }, { subject: "stock-value" });
  const encoded = await client.encode(id, { sku: "TEA", qty: 3 });
  assert.deepEqual(await client.decode(encoded), { sku: "TEA", qty: 3 });
  assert.equal((await call("GET", "/subjects/stock-value/versions/1")).body.schemaType, "JSON");
});

test("with an admin token the registry needs it: Bearer, or Basic with the token as password", async () => {
  const app = createAdminServer(running.engine, { token: "s3cret" });
  try {
    assert.equal((await app.inject({ method: "GET", url: "/registry/subjects" })).statusCode, 401);
    const basic = `Basic ${Buffer.from("ci:s3cret").toString("base64")}`;
    const wrong = `Basic ${Buffer.from("ci:nope").toString("base64")}`;
    assert.equal(
      (await app.inject({ method: "GET", url: "/registry/subjects", headers: { authorization: basic } }))
        .statusCode,
      200,
    );
    assert.equal(
      (await app.inject({ method: "GET", url: "/registry/subjects", headers: { authorization: wrong } }))
        .statusCode,
      401,
    );
    assert.equal(
      (
        await app.inject({
          method: "GET",
          url: "/registry/subjects",
          headers: { authorization: "Bearer s3cret" },
        })
      ).statusCode,
      200,
    );
  } finally {
    await app.close();
  }
});
