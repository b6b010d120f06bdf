import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { JunctionError, ValidationError } from "../api/errors.js";
import { decodeError, encodeError, FormatError, lineColumn } from "./codec.js";
import { codecFor, codecForMediaType, codecs, formatOptionSchema, mediaTypeOf } from "./index.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });

describe("codec registry", () => {
  it("lists every codec once, by name", () => {
    const names = codecs.map((codec) => codec.name);
    assert.deepEqual(names, [
      "json",
      "ndjson",
      "csv",
      "xml",
      "yaml",
      "avro",
      "avro-confluent",
      "protobuf",
      "text",
      "bytes",
    ]);
    for (const codec of codecs) assert.equal(codecFor(codec.name), codec);
    assert.equal(codecFor("nope"), undefined);
  });

  it("gives each media type to exactly one codec", () => {
    const seen = new Map<string, string>();
    for (const codec of codecs) {
      assert.ok(codec.mediaTypes.length > 0, codec.name);
      for (const type of codec.mediaTypes) {
        assert.equal(seen.get(type), undefined, `${type} claimed by ${seen.get(type)} and ${codec.name}`);
        seen.set(type, codec.name);
        assert.equal(codecForMediaType(type)?.name, codec.name);
      }
    }
  });

  it("finds codecs by content type, with parameters, suffixes and text/* fallback", () => {
    const cases: [string, string | undefined][] = [
      ["application/json; charset=utf-8", "json"],
      ["Application/JSON", "json"],
      ["application/cloudevents+json", "json"],
      ["application/x-ndjson", "ndjson"],
      ["text/csv; header=present", "csv"],
      ["application/xml", "xml"],
      ["text/xml", "xml"],
      ["application/soap+xml; charset=utf-8", "xml"],
      ["application/yaml", "yaml"],
      ["avro/binary", "avro"],
      ["application/vnd.confluent.avro", "avro-confluent"],
      ["application/x-protobuf", "protobuf"],
      ["text/plain; charset=utf-8", "text"],
      ["text/markdown", "text"],
      ["application/octet-stream", "bytes"],
      ["image/png", undefined],
      ["", undefined],
    ];
    for (const [type, name] of cases) assert.equal(codecForMediaType(type)?.name, name, type);
    assert.equal(mediaTypeOf(" Text/CSV ; x=y"), "text/csv");
  });

  it("describes every option, and the option schemas compile and accept their examples", () => {
    for (const codec of codecs) {
      const schema = codec.options as {
        description?: string;
        properties?: Record<string, { description?: string }>;
      };
      assert.ok(schema.description, `${codec.name} options have a description`);
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        assert.ok(property.description, `${codec.name}.${key} has a description`);
      }
      assert.ok(ajv.compile(codec.options));
    }
    const format = ajv.compile(formatOptionSchema());
    const valid = [
      { json: {} },
      { csv: { delimiter: ";", types: { qty: "integer", at: "date" }, lineEnding: "crlf" } },
      { xml: { namespaces: "strip", arrays: ["order.line"], alwaysArray: false } },
      { yaml: { multiple: true, maxAliasCount: 10 } },
      { avro: { schema: { type: "record", name: "R", fields: [] }, longs: "string" } },
      { "avro-confluent": { schemaId: 7 } },
      { protobuf: { proto: "order.proto", type: "shop.Order", delimited: true } },
      { text: { invalid: "replace" } },
      { bytes: {} },
    ];
    for (const option of valid)
      assert.ok(format(option), `${JSON.stringify(option)}: ${ajv.errorsText(format.errors)}`);
    const invalid = [
      { csv: { delimiter: "" } },
      { xml: { namespaces: "drop" } },
      { json: {}, csv: {} },
      { protobuf: { proto: "x.proto" } },
      { avro: {} },
      { text: { invalid: "ignore" } },
      { yaml: { maxAliasCount: -1 } },
      { nope: {} },
    ];
    for (const option of invalid) assert.equal(format(option), false, JSON.stringify(option));
  });
});

describe("format errors", () => {
  it("are ValidationErrors with a stable code, not retryable, and name where they failed", () => {
    const error = decodeError("csv", "bad cell", { line: 3, column: 2, field: "qty", offset: undefined });
    assert.ok(error instanceof FormatError);
    assert.ok(error instanceof ValidationError);
    assert.ok(error instanceof JunctionError);
    assert.equal(error.code, "JUNCTION_DECODE_FAILED");
    assert.equal(error.retryable, false);
    assert.equal(error.message, "csv: bad cell (line 3, column 2, field qty)");
    assert.deepEqual(error.details, { format: "csv", line: 3, column: 2, field: "qty" });
    assert.deepEqual(error.position, { line: 3, column: 2, field: "qty" });
    const encode = encodeError("avro", "bad", { offset: 5, record: 2 });
    assert.equal(encode.code, "JUNCTION_ENCODE_FAILED");
    assert.equal(encode.message, "avro: bad (byte 5, record 2)");
  });

  it("count lines and columns from 1", () => {
    assert.deepEqual(lineColumn("ab\ncd", 0), { line: 1, column: 1 });
    assert.deepEqual(lineColumn("ab\ncd", 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn("ab\n", 3), { line: 2, column: 1 });
  });
});
