import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../test/helpers/engine.js";
import { ExtractError, extractSchema } from "./extract.js";

test("extract: an OpenAPI 3.0 component becomes JSON Schema, refs carried as $defs, nullable as a null type", () => {
  const dir = tempDir({
    "api.yaml": `openapi: 3.0.3
info: { title: t, version: "1" }
paths: {}
components:
  schemas:
    Money: { type: number }
    Line: { type: object, properties: { price: { $ref: "#/components/schemas/Money" } } }
    Order:
      type: object
      properties:
        note: { type: string, nullable: true }
        lines: { type: array, items: { $ref: "#/components/schemas/Line" } }
`,
  });
  const extracted = extractSchema(join(dir, "api.yaml"), { component: "Order" });
  assert.equal(extracted.schemaType, "JSON");
  const schema = JSON.parse(extracted.schema);
  assert.deepEqual(schema.properties.note, { type: ["string", "null"] });
  assert.equal(schema.properties.lines.items.$ref, "#/$defs/Line");
  assert.deepEqual(Object.keys(schema.$defs).sort(), ["Line", "Money"], "references followed transitively");
});

test("extract: an AsyncAPI 3 message with an Avro multi-format payload is an Avro schema", () => {
  const avro = { type: "record", name: "Placed", fields: [{ name: "id", type: "string" }] };
  const dir = tempDir({
    "events.yaml": `asyncapi: 3.0.0
info: { title: t, version: "1" }
channels: {}
components:
  messages:
    placed:
      name: OrderPlaced
      payload:
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        schema: ${JSON.stringify(avro)}
`,
  });
  const extracted = extractSchema(join(dir, "events.yaml"), { message: "OrderPlaced" });
  assert.equal(extracted.schemaType, "AVRO");
  assert.deepEqual(JSON.parse(extracted.schema), avro);
});

test("extract: plain schema files by extension, and usage errors", () => {
  const dir = tempDir({ "a.avsc": '"string"', "b.proto": 'syntax = "proto3"; message B {}', "c.json": "{}" });
  assert.equal(extractSchema(join(dir, "a.avsc")).schemaType, "AVRO");
  assert.equal(extractSchema(join(dir, "b.proto")).schemaType, "PROTOBUF");
  assert.equal(extractSchema(join(dir, "c.json")).schemaType, "JSON");
  assert.throws(() => extractSchema(join(dir, "c.json"), { component: "X" }), ExtractError);
  assert.throws(() => extractSchema(join(dir, "nope.json")), /cannot read/);
});
