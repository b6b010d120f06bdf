import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ConfigError } from "../api/errors.js";
import { ENCODE_FAILED } from "./codec.js";
import { type ProtobufOptions, protobufCodec } from "./protobuf.js";
import { decodesOrRefuses, RUNS, refused, roundTrip } from "./test-helpers.js";

const COMMON = `
syntax = "proto3";
package shop.common;
message Money { string currency = 1; sint64 units = 2; int32 nanos = 3; }
`;

const ORDER = `
syntax = "proto3";
package shop.v1;
import "common.proto";

enum Status { STATUS_UNSPECIFIED = 0; NEW = 1; SHIPPED = 2; }

message Line { string sku = 1; uint32 quantity = 2; shop.common.Money price = 3; }

message Order {
  string id = 1;
  int64 sequence = 2;
  uint64 checksum = 3;
  fixed64 stamp = 4;
  Status status = 5;
  repeated Line lines = 6;
  map<string, string> labels = 7;
  map<int64, bool> flags = 8;
  bytes payload = 9;
  double weight = 10;
  float ratio = 11;
  bool gift = 12;
  oneof contact { string email = 13; string phone = 14; }
  Order parent = 15;
  repeated sint32 deltas = 16;
  string customer_name = 17;
}
`;

describe("protobuf codec", () => {
  let dir: string;
  let options: ProtobufOptions;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "junction-proto-"));
    writeFileSync(join(dir, "common.proto"), COMMON);
    writeFileSync(join(dir, "order.proto"), ORDER);
    options = { proto: join(dir, "order.proto"), type: "shop.v1.Order" };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const full = {
    id: "ord-1 Zoë 🚀",
    sequence: "-9223372036854775808",
    checksum: "18446744073709551615",
    stamp: "9007199254740993",
    status: "SHIPPED",
    lines: [
      { sku: "A", quantity: 4294967295, price: { currency: "EUR", units: "-12", nanos: -500000000 } },
      { sku: "", quantity: 0, price: null },
    ],
    labels: { "": "", région: "île" },
    flags: { "-1": true, "9223372036854775807": false },
    payload: "AAEC/w==",
    weight: 1.5e300,
    ratio: 0.5,
    gift: true,
    email: "a@example.com",
    parent: {
      id: "ord-0",
      sequence: "0",
      checksum: "0",
      stamp: "0",
      status: "STATUS_UNSPECIFIED",
      lines: [],
      labels: {},
      flags: {},
      payload: "",
      weight: 0,
      ratio: 0,
      gift: false,
      parent: null,
      deltas: [],
      customerName: "",
    },
    deltas: [-2147483648, 2147483647, 0],
    customerName: "Ada",
  };

  it("round-trips a message loaded from a .proto file: longs as strings, enums as names, bytes as base64", () => {
    assert.deepEqual(roundTrip(protobufCodec, full, options), full);
  });

  it("fills defaults for absent fields, or leaves them out", () => {
    const empty = protobufCodec.encode({}, options);
    assert.equal(empty.length, 0);
    const filled = protobufCodec.decode(empty, options) as Record<string, unknown>;
    assert.equal(filled.sequence, "0");
    assert.equal(filled.status, "STATUS_UNSPECIFIED");
    assert.deepEqual(filled.lines, []);
    assert.equal(filled.parent, null);
    assert.deepEqual(protobufCodec.decode(empty, { ...options, defaults: false }), {});
  });

  it("accepts numbers, BigInts, numeric strings and enum numbers on encode", () => {
    const back = roundTrip(
      protobufCodec,
      { sequence: 5, checksum: 2n ** 64n - 1n, status: 1, lines: [{ quantity: "7" }] },
      {
        ...options,
        defaults: false,
      },
    );
    assert.deepEqual(back, {
      sequence: "5",
      checksum: "18446744073709551615",
      status: "NEW",
      lines: [{ quantity: 7 }],
    });
  });

  it("keeps field names as written with keepCase", () => {
    const keep = { ...options, keepCase: true };
    assert.deepEqual(roundTrip(protobufCodec, { customer_name: "x" }, { ...keep, defaults: false }), {
      customer_name: "x",
    });
    refused(() => protobufCodec.encode({ customerName: "x" }, keep), {
      code: ENCODE_FAILED,
      message: /no field "customerName"/,
    });
  });

  it("reads .proto text given inline", () => {
    const inline = { protoText: COMMON, type: "shop.common.Money" };
    assert.deepEqual(roundTrip(protobufCodec, { currency: "USD", units: "1", nanos: 2 }, inline), {
      currency: "USD",
      units: "1",
      nanos: 2,
    });
  });

  it("writes and reads length-delimited streams as records", () => {
    const delimited = { ...options, delimited: true, defaults: false };
    assert.equal(protobufCodec.multiple(delimited), true);
    const records = [{ id: "a" }, {}, { id: "c", lines: [{ sku: "x" }] }];
    assert.deepEqual(roundTrip(protobufCodec, records, delimited), records);
    const bytes = protobufCodec.encode(records, delimited);
    refused(() => protobufCodec.decode(bytes.subarray(0, bytes.length - 2), delimited), {
      message: /truncated/,
      position: { record: 2 },
    });
  });

  it("verifies on encode and names the field", () => {
    const cases: [unknown, RegExp, string][] = [
      [{ sequence: "12x" }, /not an integer \(int64\)/, "sequence"],
      [{ checksum: "-1" }, /out of range for uint64/, "checksum"],
      [{ lines: [{ quantity: -1 }] }, /out of range for uint32/, "lines[0].quantity"],
      [{ lines: [{ price: { nanos: 2 ** 31 } }] }, /out of range for int32/, "lines[0].price.nanos"],
      [{ status: "LOST" }, /not a value of enum Status/, "status"],
      [{ lines: {} }, /takes a list/, "lines"],
      [{ labels: { a: 1 } }, /not a string/, "labels.a"],
      [{ flags: { x: true } }, /map key "x" is not a int64/, "flags.x"],
      [{ payload: "not base64!" }, /not base64/, "payload"],
      [{ gift: "yes" }, /not a boolean/, "gift"],
      [{ weight: "heavy" }, /not a number/, "weight"],
      [{ unknown: 1 }, /has no field "unknown"/, "unknown"],
      [{ parent: { parent: { id: 5 } } }, /not a string/, "parent.parent.id"],
    ];
    for (const [value, message, field] of cases) {
      refused(() => protobufCodec.encode(value, options), {
        code: ENCODE_FAILED,
        message,
        position: { field },
      });
    }
    refused(() => protobufCodec.encode({ email: "a", phone: "b" }, options), {
      code: ENCODE_FAILED,
      message: /oneof contact/,
    });
    refused(() => protobufCodec.encode("text", options), {
      code: ENCODE_FAILED,
      message: /must be an object/,
    });
  });

  it("never pollutes Object.prototype through map keys", () => {
    const labels: Record<string, unknown> = {};
    Object.defineProperty(labels, "__proto__", { value: "x", enumerable: true });
    refused(() => protobufCodec.encode({ labels }, options), { code: ENCODE_FAILED, message: /__proto__/ });
    // labels (field 7) { key: "__proto__", value: "polluted" }, written by hand.
    const key = Buffer.from("__proto__");
    const value = Buffer.from("polluted");
    const entry = Buffer.concat([
      Buffer.from([0x0a, key.length]),
      key,
      Buffer.from([0x12, value.length]),
      value,
    ]);
    const bytes = Buffer.concat([Buffer.from([0x3a, entry.length]), entry]);
    protobufCodec.decode(bytes, options);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.toString.call({}), "[object Object]");
  });

  it("refuses a truncated buffer with a typed error naming the byte", () => {
    const bytes = protobufCodec.encode(full, options);
    for (const cut of [1, 5, bytes.length - 1]) {
      refused(() => protobufCodec.decode(bytes.subarray(0, cut), options), {
        message: /truncated|wire type|range/,
      });
    }
    refused(() => protobufCodec.decode(new Uint8Array([0x0f]), options), {
      message: /invalid wire type 7/,
      position: { offset: 1 },
    });
  });

  it("reports schema problems as configuration errors", () => {
    assert.throws(
      () => protobufCodec.decode(new Uint8Array(), { ...options, type: "shop.v1.Missing" }),
      ConfigError,
    );
    assert.throws(
      () => protobufCodec.decode(new Uint8Array(), { protoText: "message {", type: "X" }),
      ConfigError,
    );
    assert.throws(
      () => protobufCodec.decode(new Uint8Array(), { proto: join(dir, "nope.proto"), type: "X" }),
      ConfigError,
    );
    assert.throws(() => protobufCodec.decode(new Uint8Array(), { type: "X" }), ConfigError);
  });

  it("round-trips generated messages (property)", () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
    const line = fc.record(
      { sku: fc.string({ unit: "grapheme", maxLength: 8 }), quantity: fc.nat() },
      { requiredKeys: [] },
    );
    const order = fc.record(
      {
        id: fc.string({ unit: "grapheme", maxLength: 12 }),
        sequence: int64,
        checksum: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
        status: fc.constantFrom("STATUS_UNSPECIFIED", "NEW", "SHIPPED"),
        lines: fc.array(line, { maxLength: 3 }),
        labels: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
        weight: fc.double({ noNaN: true }).filter((weight) => !Object.is(weight, -0)),
        gift: fc.boolean(),
        deltas: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 4 }),
      },
      { requiredKeys: [] },
    );
    const defaults = {
      id: "",
      sequence: "0",
      checksum: "0",
      stamp: "0",
      status: "STATUS_UNSPECIFIED",
      lines: [],
      labels: {},
      flags: {},
      payload: "",
      weight: 0,
      ratio: 0,
      gift: false,
      parent: null,
      deltas: [],
      customerName: "",
    };
    fc.assert(
      fc.property(order, (value) => {
        // proto3 carries no presence: what comes back is the value over the defaults.
        const expected = {
          ...defaults,
          ...value,
          labels: { ...value.labels },
          lines: (value.lines ?? []).map((line) => ({ sku: "", quantity: 0, price: null, ...line })),
        };
        assert.deepEqual(roundTrip(protobufCodec, value, options), expected);
      }),
      { numRuns: 200 },
    );
  });

  it("never crashes or hangs on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (bytes, delimited) =>
        decodesOrRefuses(protobufCodec, bytes, delimited ? { ...options, delimited: true } : options),
      ),
      { numRuns: RUNS },
    );
    const valid = protobufCodec.encode(full, options);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (changes) => {
          const bytes = Buffer.from(valid);
          for (const [at, byte] of changes) bytes[at] = byte;
          decodesOrRefuses(protobufCodec, bytes, options);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
