import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonSchemaReaderIssues } from "./json-schema.js";

const object = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  ...extra,
});
const closed = { additionalProperties: false };

/**
 * Old (writer) → new (reader) schema pairs under BACKWARD, with the answer Confluent documents for
 * JSON Schema ("JSON Schema compatibility rules"): null when compatible, else the difference type.
 */
const cases: { name: string; old: unknown; new: unknown; rule: string | null }[] = [
  {
    name: "identical",
    old: object({ id: { type: "string" } }),
    new: object({ id: { type: "string" } }),
    rule: null,
  },
  {
    name: "property added to a closed content model",
    old: object({ id: { type: "string" } }, closed),
    new: object({ id: { type: "string" }, note: { type: "string" } }, closed),
    rule: null,
  },
  {
    name: "property added to an open content model",
    old: object({ id: { type: "string" } }),
    new: object({ id: { type: "string" }, note: { type: "string" } }),
    rule: "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
  },
  {
    name: "property added, covered by a partially open content model",
    old: object({ id: { type: "string" } }, { additionalProperties: { type: "string" } }),
    new: object(
      { id: { type: "string" }, note: { type: "string" } },
      { additionalProperties: { type: "string" } },
    ),
    rule: null,
  },
  {
    name: "property added, not covered by a partially open content model",
    old: object({ id: { type: "string" } }, { additionalProperties: { type: "string" } }),
    new: object(
      { id: { type: "string" }, n: { type: "integer" } },
      { additionalProperties: { type: "string" } },
    ),
    rule: "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  },
  {
    name: "property removed from an open content model",
    old: object({ id: { type: "string" }, note: { type: "string" } }),
    new: object({ id: { type: "string" } }),
    rule: null,
  },
  {
    name: "property removed from a closed content model",
    old: object({ id: { type: "string" }, note: { type: "string" } }, closed),
    new: object({ id: { type: "string" } }, closed),
    rule: "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  },
  {
    name: "required property added",
    old: object({ id: { type: "string" }, note: { type: "string" } }),
    new: object({ id: { type: "string" }, note: { type: "string" } }, { required: ["note"] }),
    rule: "REQUIRED_ATTRIBUTE_ADDED",
  },
  {
    name: "required property removed",
    old: object({ id: { type: "string" } }, { required: ["id"] }),
    new: object({ id: { type: "string" } }),
    rule: null,
  },
  {
    name: "property type changed",
    old: object({ total: { type: "string" } }),
    new: object({ total: { type: "number" } }),
    rule: "TYPE_CHANGED",
  },
  {
    name: "type extended integer → number",
    old: object({ total: { type: "integer" } }),
    new: object({ total: { type: "number" } }),
    rule: null,
  },
  {
    name: "type narrowed number → integer",
    old: object({ total: { type: "number" } }),
    new: object({ total: { type: "integer" } }),
    rule: "TYPE_NARROWED",
  },
  {
    name: "type narrowed: null no longer allowed",
    old: object({ note: { type: ["string", "null"] } }),
    new: object({ note: { type: "string" } }),
    rule: "TYPE_NARROWED",
  },
  {
    name: "type extended: null now allowed",
    old: object({ note: { type: "string" } }),
    new: object({ note: { type: ["string", "null"] } }),
    rule: null,
  },
  {
    name: "enum widened",
    old: object({ s: { enum: ["NEW", "PAID"] } }),
    new: object({ s: { enum: ["NEW", "PAID", "SHIPPED"] } }),
    rule: null,
  },
  {
    name: "enum narrowed",
    old: object({ s: { enum: ["NEW", "PAID", "SHIPPED"] } }),
    new: object({ s: { enum: ["NEW", "PAID"] } }),
    rule: "ENUM_ARRAY_NARROWED",
  },
  {
    name: "type added to an enum of strings",
    old: object({ s: { enum: ["NEW", "PAID"] } }),
    new: object({ s: { type: "string", enum: ["NEW", "PAID"] } }),
    rule: null,
  },
  {
    name: "maxLength decreased",
    old: object({ s: { type: "string", maxLength: 20 } }),
    new: object({ s: { type: "string", maxLength: 10 } }),
    rule: "MAX_LENGTH_DECREASED",
  },
  {
    name: "maxLength increased",
    old: object({ s: { type: "string", maxLength: 10 } }),
    new: object({ s: { type: "string", maxLength: 20 } }),
    rule: null,
  },
  {
    name: "minimum increased",
    old: object({ n: { type: "number", minimum: 0 } }),
    new: object({ n: { type: "number", minimum: 1 } }),
    rule: "MINIMUM_INCREASED",
  },
  {
    name: "maximum added",
    old: object({ n: { type: "number" } }),
    new: object({ n: { type: "number", maximum: 100 } }),
    rule: "MAXIMUM_ADDED",
  },
  {
    name: "pattern added",
    old: object({ s: { type: "string" } }),
    new: object({ s: { type: "string", pattern: "^[A-Z]+$" } }),
    rule: "PATTERN_ADDED",
  },
  {
    name: "additionalProperties false added",
    old: object({ id: { type: "string" } }),
    new: object({ id: { type: "string" } }, closed),
    rule: "ADDITIONAL_PROPERTIES_REMOVED",
  },
  {
    name: "additionalProperties false removed",
    old: object({ id: { type: "string" } }, closed),
    new: object({ id: { type: "string" } }),
    rule: null,
  },
  {
    name: "array items type changed",
    old: object({ xs: { type: "array", items: { type: "string" } } }),
    new: object({ xs: { type: "array", items: { type: "integer" } } }),
    rule: "TYPE_CHANGED",
  },
  {
    name: "uniqueItems added",
    old: object({ xs: { type: "array", items: { type: "string" } } }),
    new: object({ xs: { type: "array", items: { type: "string" }, uniqueItems: true } }),
    rule: "UNIQUE_ITEMS_ADDED",
  },
  {
    name: "oneOf extended",
    old: object({ v: { oneOf: [{ type: "string" }, { type: "integer" }] } }),
    new: object({ v: { oneOf: [{ type: "string" }, { type: "integer" }, { type: "boolean" }] } }),
    rule: null,
  },
  {
    name: "oneOf narrowed",
    old: object({ v: { oneOf: [{ type: "string" }, { type: "integer" }] } }),
    new: object({ v: { oneOf: [{ type: "string" }] } }),
    rule: "SUM_TYPE_NARROWED",
  },
  {
    name: "nested object gains a required property",
    old: object({ customer: object({ id: { type: "string" } }) }),
    new: object({ customer: object({ id: { type: "string" } }, { required: ["id"] }) }),
    rule: "REQUIRED_ATTRIBUTE_ADDED",
  },
  {
    name: "local $ref followed",
    old: { $defs: { Money: { type: "number" } }, ...object({ total: { $ref: "#/$defs/Money" } }) },
    new: { $defs: { Money: { type: "string" } }, ...object({ total: { $ref: "#/$defs/Money" } }) },
    rule: "TYPE_CHANGED",
  },
];

for (const item of cases) {
  test(`json schema backward: ${item.name}`, () => {
    const issues = jsonSchemaReaderIssues(item.new as any, item.old as any);
    if (item.rule === null) assert.deepEqual(issues, []);
    else {
      assert.ok(issues.length > 0, "expected an incompatibility");
      assert.equal(issues[0].rule, item.rule, issues.map((issue) => issue.message).join("; "));
    }
  });
}

test("json schema: the issue names the property path", () => {
  const [issue] = jsonSchemaReaderIssues(
    object({ total: { type: "number" } }) as any,
    object({ total: { type: "string" } }) as any,
  );
  assert.equal(issue.path, "#/properties/total/type");
});
