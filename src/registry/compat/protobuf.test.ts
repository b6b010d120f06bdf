import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProtobuf, protobufChangeIssues } from "./protobuf.js";

const proto3 = (body: string, pkg = "") => `syntax = "proto3";\n${pkg ? `package ${pkg};\n` : ""}${body}`;

/**
 * Previous → new schema under BACKWARD, with the answers of Confluent Schema Registry's Protobuf
 * compatibility rules (its diff-schema-examples test cases): true when compatible.
 */
const cases: { name: string; old: string; new: string; compatible: boolean; rule?: string }[] = [
  {
    name: "field added",
    old: proto3("message T { string a = 1; }"),
    new: proto3("message T { string a = 1; string b = 2; }"),
    compatible: true,
  },
  {
    name: "field removed",
    old: proto3("message T { string a = 1; string b = 2; }"),
    new: proto3("message T { string a = 1; }"),
    compatible: true,
  },
  {
    name: "package changed",
    old: proto3("message T { string a = 1; }", "foo"),
    new: proto3("message T { string a = 1; }", "bar"),
    compatible: false,
    rule: "PACKAGE_CHANGED",
  },
  {
    name: "name qualification changed",
    old: proto3("message T { Status s = 2; message Status { string a = 1; } }", "foo"),
    new: proto3("message T { .foo.T.Status s = 2; message Status { string a = 1; } }", "foo"),
    compatible: true,
  },
  {
    name: "required field added (proto2)",
    old: 'syntax = "proto2";\nmessage T { optional string a = 1; }',
    new: 'syntax = "proto2";\nmessage T { optional string a = 1; required string b = 2; }',
    compatible: false,
    rule: "REQUIRED_FIELD_ADDED",
  },
  {
    name: "required field removed (proto2)",
    old: 'syntax = "proto2";\nmessage T { optional string a = 1; required string b = 2; }',
    new: 'syntax = "proto2";\nmessage T { optional string a = 1; }',
    compatible: false,
    rule: "REQUIRED_FIELD_REMOVED",
  },
  {
    name: "field renamed (same number)",
    old: proto3("message T { string a = 1; }"),
    new: proto3("message T { string renamed = 1; }"),
    compatible: true,
  },
  {
    name: "int32 → int64 (same wire type)",
    old: proto3("message T { int32 n = 2; }"),
    new: proto3("message T { int64 n = 2; }"),
    compatible: true,
  },
  {
    name: "string → bytes",
    old: proto3("message T { string s = 2; }"),
    new: proto3("message T { bytes s = 2; }"),
    compatible: true,
  },
  {
    name: "int32 → enum",
    old: proto3("message T { int32 n = 2; }"),
    new: proto3("message T { Status n = 2; }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
    compatible: true,
  },
  {
    name: "int32 → message",
    old: proto3("message T { int32 n = 2; }"),
    new: proto3("message T { M n = 2; }\nmessage M { string s = 1; }"),
    compatible: false,
    rule: "FIELD_KIND_CHANGED",
  },
  {
    name: "int32 → string",
    old: proto3("message T { int32 n = 2; }"),
    new: proto3("message T { string n = 2; }"),
    compatible: false,
    rule: "FIELD_SCALAR_KIND_CHANGED",
  },
  {
    name: "message type changed",
    old: proto3("message T { M2 n = 2; }\nmessage M2 { string s = 1; }"),
    new: proto3("message T { M3 n = 2; }\nmessage M3 { string s = 1; }"),
    compatible: false,
    rule: "MESSAGE_REMOVED",
  },
  {
    name: "map value type changed",
    old: proto3("message T { map<string, int32> m = 2; }"),
    new: proto3("message T { map<string, string> m = 2; }"),
    compatible: false,
    rule: "FIELD_SCALAR_KIND_CHANGED",
  },
  {
    name: "enum constant renamed",
    old: proto3("message T { Status s = 2; }\nenum Status { ACTIVE = 0; INACTIVE = 1; }"),
    new: proto3("message T { Status s = 2; }\nenum Status { ACTIVE = 0; NOT_ACTIVE = 1; }"),
    compatible: true,
  },
  {
    name: "one field moved into a new oneof",
    old: proto3("message T { string a = 1; string b = 2; }"),
    new: proto3("message T { string a = 1; oneof o { string b = 2; int32 c = 3; } }"),
    compatible: true,
  },
  {
    name: "two fields moved into a new oneof",
    old: proto3("message T { string a = 1; string b = 2; }"),
    new: proto3("message T { oneof o { string a = 1; string b = 2; int32 c = 3; } }"),
    compatible: false,
    rule: "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
  },
  {
    name: "field added to a oneof",
    old: proto3("message T { oneof o { string a = 1; string b = 2; } }"),
    new: proto3("message T { oneof o { string a = 1; string b = 2; int32 c = 3; } }"),
    compatible: true,
  },
  {
    name: "field removed from a oneof",
    old: proto3("message T { oneof o { string a = 1; string b = 2; int32 c = 3; } }"),
    new: proto3("message T { oneof o { string a = 1; string b = 2; } }"),
    compatible: false,
    rule: "ONEOF_FIELD_REMOVED",
  },
  {
    name: "field moved into an existing oneof",
    old: proto3("message T { string a = 1; oneof o { string b = 2; string c = 3; } }"),
    new: proto3("message T { oneof o { string a = 1; string b = 2; string c = 3; } }"),
    compatible: false,
    rule: "FIELD_MOVED_TO_EXISTING_ONEOF",
  },
  {
    name: "optional → repeated message",
    old: proto3("message T { optional S s = 2; message S { string a = 1; } }"),
    new: proto3("message T { repeated S s = 2; message S { string a = 1; } }"),
    compatible: true,
  },
  {
    name: "optional → repeated string",
    old: proto3("message T { optional string s = 1; }"),
    new: proto3("message T { repeated string s = 1; }"),
    compatible: true,
  },
  {
    name: "optional → repeated number",
    old: proto3("message T { optional int32 n = 1; }"),
    new: proto3("message T { repeated int32 n = 1; }"),
    compatible: false,
    rule: "FIELD_NUMERIC_LABEL_CHANGED",
  },
  {
    name: "message added",
    old: proto3("message T { string a = 1; }"),
    new: proto3("message T { string a = 1; }\nmessage U { string a = 1; }"),
    compatible: true,
  },
  {
    name: "messages reordered",
    old: proto3("message T { string a = 1; }\nmessage U { string a = 1; }"),
    new: proto3("message U { string a = 1; }\nmessage T { string a = 1; }"),
    compatible: true,
  },
  {
    name: "message removed",
    old: proto3("message T { string a = 1; }\nmessage U { string a = 1; }"),
    new: proto3("message T { string a = 1; }"),
    compatible: false,
    rule: "MESSAGE_REMOVED",
  },
  {
    name: "nested message gains a field",
    old: proto3("message W { int32 n = 1; message T { string a = 1; } }"),
    new: proto3("message W { int32 n = 1; message T { string a = 1; string b = 2; } }"),
    compatible: true,
  },
];

for (const item of cases) {
  test(`protobuf backward: ${item.name}`, () => {
    const issues = protobufChangeIssues(parseProtobuf(item.old), parseProtobuf(item.new));
    assert.equal(issues.length === 0, item.compatible, issues.map((issue) => issue.message).join("; "));
    if (item.rule)
      assert.ok(
        issues.some((issue) => issue.rule === item.rule),
        issues.map((i) => i.rule).join(","),
      );
  });
}
