import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../api/errors.js";
import { FormatError } from "./codec.js";
import { decodeFormatted, resolveFormat } from "./payload.js";

const dir = mkdtempSync(join(tmpdir(), "junction-format-"));
writeFileSync(join(dir, "line.proto"), 'syntax = "proto3"; message Line { string sku = 1; int32 qty = 2; }');

test("a format names exactly one known codec", () => {
  assert.equal(resolveFormat(undefined, { configDir: dir }, "x"), undefined);
  assert.throws(
    () => resolveFormat({ cbor: {} }, { configDir: dir }, "amqp sink"),
    (error: unknown) => {
      return error instanceof ConfigError && /amqp sink: unknown format "cbor"/.test(error.message);
    },
  );
  assert.throws(
    () => resolveFormat({ json: {}, csv: {} }, { configDir: dir }, "s"),
    /exactly one codec \(got 2\)/,
  );
});

test("file paths are taken from the configuration's folder and loaded at start", () => {
  const format = resolveFormat({ protobuf: { proto: "line.proto", type: "Line" } }, { configDir: dir }, "s")!;
  assert.equal(format.contentType, "application/x-protobuf");
  const bytes = format.encode({ sku: "A", qty: 3 });
  assert.deepEqual(format.decode(bytes), { sku: "A", qty: 3 });
  assert.throws(
    () =>
      resolveFormat({ protobuf: { proto: "line.proto", type: "Nope" } }, { configDir: dir }, "nats source"),
    /nats source: protobuf: no message type Nope/,
  );
});

test("list formats write a single record as a list of one, and decode failures are values", () => {
  const format = resolveFormat({ ndjson: {} }, { configDir: dir }, "s")!;
  assert.equal(format.multiple, true);
  assert.equal(format.encode({ a: 1 }).toString("utf8").trim(), '{"a":1}');
  const failed = decodeFormatted(format, Buffer.from('{"a":1}\n{"a":\n'));
  assert.equal(failed.ok, false);
  if (!failed.ok) {
    assert.ok(failed.error instanceof FormatError);
    assert.match(failed.reason, /line 2/);
  }
});
