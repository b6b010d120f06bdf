import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import fc from "fast-check";
import { ConfigError } from "../api/errors.js";
import { avroCodec, avroConfluentCodec, confluentSchemaId } from "./avro.js";
import { ENCODE_FAILED } from "./codec.js";
import { decodesOrRefuses, HANG_GUARD_MS, RUNS, refused, roundTrip, timed } from "./test-helpers.js";

const order = {
  type: "record",
  name: "Order",
  namespace: "shop",
  fields: [
    { name: "id", type: "string" },
    { name: "quantity", type: "int" },
    { name: "sequence", type: "long" },
    { name: "price", type: "double" },
    { name: "paid", type: "boolean" },
    { name: "total", type: { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 } },
    {
      name: "rate",
      type: { type: "fixed", name: "Rate", size: 4, logicalType: "decimal", precision: 8, scale: 4 },
    },
    { name: "placedAt", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "seenAt", type: { type: "long", logicalType: "timestamp-micros" } },
    { name: "day", type: { type: "int", logicalType: "date" } },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["NEW", "PAID", "SHIPPED"] } },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attributes", type: { type: "map", values: "string" } },
    { name: "note", type: ["null", "string"], default: null },
    { name: "raw", type: "bytes" },
  ],
};

const sample = {
  id: "ord-1 Zoë 🚀",
  quantity: -3,
  sequence: 4503599627370496,
  price: 19.99,
  paid: true,
  total: "-1234567890.05",
  rate: "0.0001",
  placedAt: "2024-05-01T10:00:00.123Z",
  seenAt: "1969-12-31T23:59:59.999999Z",
  day: "2024-02-29",
  status: "PAID",
  tags: ["", "ü"],
  attributes: { "": "", k: "v" },
  note: null,
  raw: Buffer.from([0, 255]),
};

describe("avro codec", () => {
  const options = { schema: order };

  it("round-trips records with unicode, empty values, logical types and big numbers", () => {
    assert.deepEqual({ ...(roundTrip(avroCodec, sample, options) as object) }, sample);
    const empty = {
      ...sample,
      id: "",
      tags: [],
      attributes: {},
      note: "",
      raw: Buffer.alloc(0),
      total: "0.00",
    };
    assert.deepEqual({ ...(roundTrip(avroCodec, empty, options) as object) }, empty);
  });

  it("accepts Dates, numbers and BigInts for logical types on encode", () => {
    const value = {
      ...sample,
      placedAt: new Date("2024-05-01T10:00:00.123Z"),
      seenAt: new Date(0),
      day: new Date("2024-02-29T23:00:00Z"),
      total: 12n,
      rate: 1.5,
    };
    const back = avroCodec.decode(avroCodec.encode(value, options), options) as Record<string, unknown>;
    assert.equal(back.placedAt, "2024-05-01T10:00:00.123Z");
    assert.equal(back.seenAt, "1970-01-01T00:00:00.000000Z");
    assert.equal(back.day, "2024-02-29");
    assert.equal(back.total, "12.00");
    assert.equal(back.rate, "1.5000");
  });

  it("gives longs as exact strings with longs: string", () => {
    const schema = {
      type: "record",
      name: "L",
      fields: [
        { name: "n", type: "long" },
        { name: "t", type: { type: "long", logicalType: "timestamp-micros" } },
      ],
    };
    const longs = { schema, longs: "string" as const };
    for (const n of ["9223372036854775807", "-9223372036854775808", "0"]) {
      const back = roundTrip(avroCodec, { n, t: "2100-04-11T23:47:16.854775Z" }, longs) as Record<
        string,
        unknown
      >;
      assert.equal(back.n, n);
      assert.equal(back.t, "2100-04-11T23:47:16.854775Z");
    }
    assert.equal((roundTrip(avroCodec, { n: 2n ** 62n, t: 0 }, longs) as { n: string }).n, String(2n ** 62n));
    // As numbers, a long beyond 2^53 fails rather than lose precision.
    const bytes = avroCodec.encode({ n: "9223372036854775807", t: 0 }, longs);
    refused(() => avroCodec.decode(bytes, { schema }), { message: /precision/ });
  });

  it("names the field of a value that does not match the schema", () => {
    refused(() => avroCodec.encode({ ...sample, tags: ["a", 5] }, options), {
      code: ENCODE_FAILED,
      position: { field: "tags[1]" },
    });
    refused(() => avroCodec.encode({ ...sample, total: "1.234" }, options), {
      code: ENCODE_FAILED,
      message: /not a valid decimal/,
      position: { field: "total" },
    });
    refused(() => avroCodec.encode({ ...sample, rate: "99999.9" }, options), {
      code: ENCODE_FAILED,
      position: { field: "rate" },
    });
    refused(() => avroCodec.encode({ ...sample, placedAt: "yesterday" }, options), {
      code: ENCODE_FAILED,
      position: { field: "placedAt" },
    });
    refused(() => avroCodec.encode({ ...sample, day: "2023-02-29" }, options), {
      code: ENCODE_FAILED,
      position: { field: "day" },
    });
    refused(() => avroCodec.encode({ ...sample, status: "LOST" }, options), {
      code: ENCODE_FAILED,
      position: { field: "status" },
    });
  });

  it("names the byte and field where truncated or trailing data fails", () => {
    const bytes = avroCodec.encode(sample, options);
    // The id takes bytes 0-15 and the quantity byte 16; the sequence (8 bytes) starts at 17.
    refused(() => avroCodec.decode(bytes.subarray(0, 20), options), {
      message: /ends inside a long/,
      position: { offset: 17, field: "sequence" },
    });
    refused(() => avroCodec.decode(Buffer.concat([bytes, Buffer.from([0])]), options), {
      message: /1 bytes are left/,
      position: { offset: bytes.length },
    });
  });

  it("refuses hostile counts at once instead of looping", () => {
    const ints = { schema: { type: "array", items: "int" } };
    const nulls = { schema: { type: "array", items: "null" } };
    const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0]);
    for (const options of [ints, nulls]) {
      const ms = timed(() => refused(() => avroCodec.decode(huge, options), { message: /claims/ }));
      assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
    }
    refused(() => avroCodec.decode(Buffer.from([0x01, 0x00]), { schema: "string" }), {
      message: /negative length/,
    });
    refused(() => avroCodec.decode(Buffer.from([0x10]), { schema: order.fields[10].type }), {
      message: /enum index 8/,
    });
  });

  it("reports a bad schema as a configuration error", () => {
    assert.throws(
      () => avroCodec.decode(Buffer.alloc(0), { schema: { type: "record", name: "R" } }),
      ConfigError,
    );
    assert.throws(() => avroCodec.decode(Buffer.alloc(0), {}), ConfigError);
    assert.throws(() => avroCodec.decode(Buffer.alloc(0), { schema: "{nope" }), ConfigError);
  });

  it("round-trips values avsc generates for the schema (property)", () => {
    const plain = order.fields.filter(
      (field) => typeof field.type !== "object" || !("logicalType" in field.type),
    );
    const type = avro.Type.forSchema({ type: "record", name: "P", fields: plain } as never);
    fc.assert(
      fc.property(fc.integer(), () => {
        const value = type.random();
        const options = { type };
        assert.deepEqual(
          type.toBuffer(avroCodec.decode(avroCodec.encode(value, options), options)),
          type.toBuffer(value),
        );
      }),
      { numRuns: 100 },
    );
  });

  it("never crashes or hangs on arbitrary bytes (property)", () => {
    const recursive = {
      type: "record",
      name: "Node",
      fields: [
        { name: "value", type: "long" },
        { name: "children", type: { type: "array", items: "Node" } },
        { name: "next", type: ["null", "Node"] },
        { name: "meta", type: { type: "map", values: ["null", "double", { type: "array", items: "null" }] } },
      ],
    };
    const schemas = [
      { schema: order },
      { schema: recursive },
      { schema: recursive, longs: "string" as const },
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(...schemas), (bytes, options) =>
        decodesOrRefuses(avroCodec, bytes, options),
      ),
      { numRuns: RUNS },
    );
    // Valid data with a few bytes changed: gets past the first field far more often.
    const valid = avroCodec.encode(sample, { schema: order });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (changes) => {
          const bytes = Buffer.from(valid);
          for (const [at, byte] of changes) bytes[at] = byte;
          decodesOrRefuses(avroCodec, bytes, { schema: order });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("avro-confluent codec", () => {
  const registry = new Map<number, unknown>([
    [1, order],
    [
      2,
      JSON.stringify({
        type: "record",
        name: "Order",
        namespace: "shop",
        fields: [{ name: "id", type: "string" }],
      }),
    ],
  ]);
  const lookups: number[] = [];
  const schemaById = (id: number) => {
    lookups.push(id);
    return registry.get(id);
  };

  it("frames the datum with magic byte 0 and the big-endian schema id, and reads it back", () => {
    const options = { schemaId: 1, schemaById };
    const bytes = avroConfluentCodec.encode(sample, options);
    assert.deepEqual([...bytes.subarray(0, 5)], [0, 0, 0, 0, 1]);
    assert.deepEqual([...bytes.subarray(5)], [...avroCodec.encode(sample, { schema: order })]);
    assert.equal(confluentSchemaId(bytes), 1);
    assert.deepEqual({ ...(avroConfluentCodec.decode(bytes, options) as object) }, sample);
    const big = avroConfluentCodec.encode({ id: "x" }, { schemaId: 0x01020304, schema: registry.get(2) });
    assert.deepEqual([...big.subarray(0, 5)], [0, 1, 2, 3, 4]);
  });

  it("looks each schema id up once per options object", () => {
    const options = { schemaById };
    lookups.length = 0;
    const one = avroConfluentCodec.encode({ id: "a" }, { schemaId: 2, schemaById });
    avroConfluentCodec.decode(one, options);
    avroConfluentCodec.decode(one, options);
    assert.deepEqual(lookups, [2, 2]);
  });

  it("resolves the writer's schema to a reader schema", () => {
    const bytes = avroConfluentCodec.encode(sample, { schemaId: 1, schemaById });
    const reader = {
      type: "record",
      name: "Order",
      namespace: "shop",
      fields: [
        { name: "id", type: "string" },
        { name: "placedAt", type: { type: "long", logicalType: "timestamp-millis" } },
        { name: "total", type: { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 } },
        { name: "channel", type: "string", default: "web" },
      ],
    };
    assert.deepEqual(
      { ...(avroConfluentCodec.decode(bytes, { schemaById, schema: reader }) as object) },
      { id: sample.id, placedAt: sample.placedAt, total: sample.total, channel: "web" },
    );
    const incompatible = {
      type: "record",
      name: "Order",
      namespace: "shop",
      fields: [{ name: "other", type: "int" }],
    };
    refused(() => avroConfluentCodec.decode(bytes, { schemaById, schema: incompatible }), {
      message: /cannot be read/,
    });
  });

  it("refuses bad framing and unknown ids, naming the byte", () => {
    refused(() => avroConfluentCodec.decode(Buffer.from([0, 0, 1]), { schemaById }), {
      message: /too short/,
    });
    refused(() => avroConfluentCodec.decode(Buffer.from([1, 0, 0, 0, 1, 2]), { schemaById }), {
      message: /magic byte is 1/,
      position: { offset: 0 },
    });
    refused(() => avroConfluentCodec.decode(Buffer.from([0, 0, 0, 0, 9, 2]), { schemaById }), {
      message: /schema id 9 is unknown/,
    });
    refused(
      () =>
        avroConfluentCodec.decode(Buffer.from([0, 0, 0, 0, 7]), {
          schemaById: () => {
            throw new Error("registry down");
          },
        }),
      { message: /registry down/ },
    );
    assert.throws(() => avroConfluentCodec.decode(Buffer.from([0, 0, 0, 0, 1]), {}), ConfigError);
    assert.throws(() => avroConfluentCodec.encode({}, { schemaById }), ConfigError);
  });

  it("never crashes or hangs on arbitrary bytes (property)", () => {
    const options = { schemaById };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), fc.constantFrom(0, 1, 2, 3), (bytes, id) => {
        const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), bytes]);
        decodesOrRefuses(avroConfluentCodec, framed, options);
        decodesOrRefuses(avroConfluentCodec, bytes, options);
      }),
      { numRuns: RUNS },
    );
  });
});
