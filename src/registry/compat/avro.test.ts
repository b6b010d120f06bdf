import assert from "node:assert/strict";
import { test } from "node:test";
import { avroReaderIssues, parseAvro } from "./avro.js";

const record = (fields: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "record", name: "Order", namespace: "shop", fields, ...extra });
const field = (name: string, type: unknown, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  ...extra,
});

/**
 * Reader/writer pairs and the answer of the Avro specification's "Schema Resolution" section:
 * null when the reader can read the writer's data, else the rule that breaks.
 */
const cases: { name: string; reader: string; writer: string; rule: string | null }[] = [
  {
    name: "identical",
    reader: record([field("id", "string")]),
    writer: record([field("id", "string")]),
    rule: null,
  },
  {
    name: "reader adds a field with a default",
    reader: record([field("id", "string"), field("note", "string", { default: "" })]),
    writer: record([field("id", "string")]),
    rule: null,
  },
  {
    name: "reader adds a field without a default",
    reader: record([field("id", "string"), field("total", "int")]),
    writer: record([field("id", "string")]),
    rule: "READER_FIELD_MISSING_DEFAULT_VALUE",
  },
  {
    name: "writer field missing from reader is ignored",
    reader: record([field("id", "string")]),
    writer: record([field("id", "string"), field("total", "int")]),
    rule: null,
  },
  ...(
    [
      ["int", "long"],
      ["int", "float"],
      ["int", "double"],
      ["long", "float"],
      ["long", "double"],
      ["float", "double"],
      ["string", "bytes"],
      ["bytes", "string"],
    ] as const
  ).map(([from, to]) => ({
    name: `promotion ${from} → ${to}`,
    reader: record([field("x", to)]),
    writer: record([field("x", from)]),
    rule: null,
  })),
  ...(
    [
      ["long", "int"],
      ["double", "float"],
      ["float", "long"],
      ["string", "int"],
      ["boolean", "int"],
    ] as const
  ).map(([from, to]) => ({
    name: `no promotion ${from} → ${to}`,
    reader: record([field("x", to)]),
    writer: record([field("x", from)]),
    rule: "TYPE_MISMATCH",
  })),
  {
    name: "enum reader lacks a writer symbol",
    reader: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID"] })]),
    writer: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID", "SHIPPED"] })]),
    rule: "MISSING_ENUM_SYMBOLS",
  },
  {
    name: "enum reader lacks a symbol but has a default",
    reader: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID"], default: "NEW" })]),
    writer: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID", "SHIPPED"] })]),
    rule: null,
  },
  {
    name: "enum reader adds a symbol",
    reader: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID", "SHIPPED"] })]),
    writer: record([field("s", { type: "enum", name: "Status", symbols: ["NEW", "PAID"] })]),
    rule: null,
  },
  {
    name: "reader union contains the writer type",
    reader: record([field("x", ["null", "string"])]),
    writer: record([field("x", "string")]),
    rule: null,
  },
  {
    name: "reader union accepts the writer's int by promotion",
    reader: record([field("x", ["null", "long"])]),
    writer: record([field("x", "int")]),
    rule: null,
  },
  {
    name: "writer union branch missing from reader union",
    reader: record([field("x", ["null", "string"])]),
    writer: record([field("x", ["null", "string", "int"])]),
    rule: "MISSING_UNION_BRANCH",
  },
  {
    name: "writer union, reader not a union",
    reader: record([field("x", "string")]),
    writer: record([field("x", ["null", "string"])]),
    rule: "TYPE_MISMATCH",
  },
  {
    name: "reader union without the writer's type",
    reader: record([field("x", ["null", "int"])]),
    writer: record([field("x", "string")]),
    rule: "MISSING_UNION_BRANCH",
  },
  {
    name: "nested record gains a field without default",
    reader: record([
      field("customer", {
        type: "record",
        name: "Customer",
        fields: [field("id", "string"), field("email", "string")],
      }),
    ]),
    writer: record([
      field("customer", { type: "record", name: "Customer", fields: [field("id", "string")] }),
    ]),
    rule: "READER_FIELD_MISSING_DEFAULT_VALUE",
  },
  {
    name: "array items promoted",
    reader: record([field("xs", { type: "array", items: "long" })]),
    writer: record([field("xs", { type: "array", items: "int" })]),
    rule: null,
  },
  {
    name: "array items changed",
    reader: record([field("xs", { type: "array", items: "string" })]),
    writer: record([field("xs", { type: "array", items: "int" })]),
    rule: "TYPE_MISMATCH",
  },
  {
    name: "map values changed",
    reader: record([field("m", { type: "map", values: "int" })]),
    writer: record([field("m", { type: "map", values: "string" })]),
    rule: "TYPE_MISMATCH",
  },
  {
    name: "record renamed without alias",
    reader: JSON.stringify({ type: "record", name: "Purchase", fields: [field("id", "string")] }),
    writer: record([field("id", "string")]),
    rule: "NAME_MISMATCH",
  },
  {
    name: "record renamed with alias",
    reader: JSON.stringify({
      type: "record",
      name: "Purchase",
      aliases: ["Order"],
      fields: [field("id", "string")],
    }),
    writer: record([field("id", "string")]),
    rule: null,
  },
  {
    name: "field renamed with alias",
    reader: record([field("orderId", "string", { aliases: ["id"] })]),
    writer: record([field("id", "string")]),
    rule: null,
  },
  {
    name: "field renamed without alias or default",
    reader: record([field("orderId", "string")]),
    writer: record([field("id", "string")]),
    rule: "READER_FIELD_MISSING_DEFAULT_VALUE",
  },
  {
    name: "fixed size changed",
    reader: record([field("h", { type: "fixed", name: "Hash", size: 32 })]),
    writer: record([field("h", { type: "fixed", name: "Hash", size: 16 })]),
    rule: "FIXED_SIZE_MISMATCH",
  },
  {
    name: "recursive record compared once",
    reader: JSON.stringify({
      type: "record",
      name: "Node",
      fields: [field("value", "long"), field("next", ["null", "Node"], { default: null })],
    }),
    writer: JSON.stringify({
      type: "record",
      name: "Node",
      fields: [field("value", "int"), field("next", ["null", "Node"], { default: null })],
    }),
    rule: null,
  },
];

for (const item of cases) {
  test(`avro resolution: ${item.name}`, () => {
    const issues = avroReaderIssues(parseAvro(item.reader), parseAvro(item.writer));
    if (item.rule === null) assert.deepEqual(issues, []);
    else {
      assert.ok(issues.length > 0, "expected an incompatibility");
      assert.equal(issues[0].rule, item.rule, issues.map((issue) => issue.message).join("; "));
    }
  });
}

test("avro: the issue names the field path", () => {
  const [issue] = avroReaderIssues(
    parseAvro(record([field("id", "string"), field("total", "int")])),
    parseAvro(record([field("id", "string")])),
  );
  assert.equal(issue.path, "/fields/1");
  assert.match(issue.message, /"total"/);
});
