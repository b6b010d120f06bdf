import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED } from "./codec.js";
import { ndjsonCodec } from "./ndjson.js";
import { decodesOrRefuses, RUNS, refused, roundTrip, text, utf8 } from "./test-helpers.js";

describe("ndjson codec", () => {
  it("gives one record per line, skipping blank lines and CRLF ends", () => {
    const records = ndjsonCodec.decode(utf8('\uFEFF{"a":1}\r\n\n  \n[1,2]\n"text"\nnull'));
    assert.deepEqual(records, [{ a: 1 }, [1, 2], "text", null]);
    assert.equal(ndjsonCodec.multiple(), true);
  });

  it("writes one line per record, each ended by a newline", () => {
    assert.equal(text(ndjsonCodec.encode([{ a: "x\ny" }, 2])), '{"a":"x\\ny"}\n2\n');
    assert.equal(text(ndjsonCodec.encode([])), "");
  });

  it("round-trips records with unicode, empty and nested values (property)", () => {
    assert.deepEqual(roundTrip(ndjsonCodec, [{ s: "é\u2028\u2029🚀" }, {}, [], "", { n: { m: [null] } }]), [
      { s: "é\u2028\u2029🚀" },
      {},
      [],
      "",
      { n: { m: [null] } },
    ]);
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ stringUnit: "grapheme" }), { maxLength: 8 }), (records) => {
        assert.deepEqual(roundTrip(ndjsonCodec, records), JSON.parse(JSON.stringify(records)));
      }),
      { numRuns: RUNS },
    );
  });

  it("names the line and record of a bad line", () => {
    refused(() => ndjsonCodec.decode(utf8('{"a":1}\n\n{"b":}\n')), {
      position: { line: 3, column: 6, record: 1 },
    });
  });

  it("names the record that cannot be written", () => {
    refused(() => ndjsonCodec.encode([1, undefined]), { code: ENCODE_FAILED, position: { record: 1 } });
  });

  it("never crashes or hangs on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(ndjsonCodec, bytes)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.json(), fc.string()), { maxLength: 6 }), (lines) => {
        decodesOrRefuses(ndjsonCodec, utf8(lines.join("\n")));
      }),
      { numRuns: RUNS },
    );
  });
});
