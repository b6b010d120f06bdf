import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED } from "./codec.js";
import { jsonCodec, jsonErrorIndex } from "./json.js";
import { decodesOrRefuses, RUNS, refused, roundTrip, text, utf8 } from "./test-helpers.js";

describe("json codec", () => {
  it("round-trips unicode, empty values, nested objects and large numbers", () => {
    const value = {
      name: "Zoë 🚀 日本",
      empty: "",
      none: null,
      list: [],
      object: {},
      nested: { deeper: { deepest: [1, { a: [true, false] }] } },
      big: Number.MAX_SAFE_INTEGER,
      small: -1e-300,
      huge: 1.7976931348623157e308,
    };
    assert.deepEqual(roundTrip(jsonCodec, value), value);
    assert.equal(roundTrip(jsonCodec, "just a string"), "just a string");
    assert.equal(roundTrip(jsonCodec, null), null);
  });

  it("round-trips any JSON value (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "grapheme" }), (value) => {
        const normalised = JSON.parse(JSON.stringify(value));
        assert.deepEqual(roundTrip(jsonCodec, value), normalised);
      }),
      { numRuns: RUNS },
    );
  });

  it("pretty-prints on request", () => {
    assert.equal(text(jsonCodec.encode({ a: [1] }, { pretty: true })), '{\n  "a": [\n    1\n  ]\n}');
  });

  it("writes BigInts as exact JSON numbers", () => {
    const bytes = jsonCodec.encode({ id: 12345678901234567890n, list: [-9007199254740993n] });
    assert.equal(text(bytes), '{"id":12345678901234567890,"list":[-9007199254740993]}');
  });

  it("names line and column of a syntax error", () => {
    refused(() => jsonCodec.decode(utf8('{\n  "a": 1,\n  "b": tru\n}')), {
      message: /not valid JSON/,
      position: { line: 3, column: 8 },
    });
    refused(() => jsonCodec.decode(utf8('{"a": [1, 2')), { message: /ends early/, position: { line: 1 } });
    refused(() => jsonCodec.decode(utf8("")), { message: /empty/ });
    refused(() => jsonCodec.decode(utf8("1 2")), { position: { line: 1, column: 3 } });
  });

  it("refuses invalid UTF-8 with the byte offset", () => {
    refused(() => jsonCodec.decode(new Uint8Array([0x22, 0x61, 0xff, 0x22])), {
      message: /invalid UTF-8/,
      position: { offset: 2 },
    });
  });

  it("skips a byte order mark", () => {
    assert.deepEqual(jsonCodec.decode(utf8('\uFEFF{"a":1}')), { a: 1 });
  });

  it("keeps __proto__ as data and never pollutes Object.prototype", () => {
    const value = jsonCodec.decode(
      utf8('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}'),
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value as object), ["__proto__", "constructor"]);
  });

  it("refuses values with no JSON form, naming where", () => {
    const cyclic: Record<string, unknown> = { a: { b: [] } };
    ((cyclic.a as Record<string, unknown>).b as unknown[]).push(cyclic);
    refused(() => jsonCodec.encode(cyclic), {
      code: ENCODE_FAILED,
      message: /cycle/,
      position: { field: "a.b[0]" },
    });
    refused(() => jsonCodec.encode(undefined), { code: ENCODE_FAILED, message: /no JSON form/ });
  });

  it("locates errors the way JSON.parse fails (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (input) => {
        let valid = true;
        try {
          JSON.parse(input);
        } catch {
          valid = false;
        }
        assert.equal(jsonErrorIndex(input) === -1, valid, JSON.stringify(input));
      }),
      { numRuns: RUNS },
    );
  });

  it("never crashes or hangs on arbitrary bytes or text (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(jsonCodec, bytes)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.json(), fc.nat(), (json, cut) => {
        decodesOrRefuses(jsonCodec, utf8(json.slice(0, cut % (json.length + 1))));
      }),
      { numRuns: RUNS },
    );
  });
});
