import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED, invalidUtf8Offset } from "./codec.js";
import { decodesOrRefuses, RUNS, refused, roundTrip, utf8 } from "./test-helpers.js";
import { bytesCodec, textCodec } from "./text.js";

// Any well-formed string: every code point but the surrogates. (fast-check's "binary" unit is slow.)
const anyText = fc
  .array(
    fc
      .integer({ min: 0, max: 0x10ffff })
      .filter((code) => code < 0xd800 || code > 0xdfff)
      .map((code) => String.fromCodePoint(code)),
    { maxLength: 64 },
  )
  .map((chars) => chars.join(""));

describe("text codec", () => {
  it("round-trips any well-formed string, BOM and empty string included (property)", () => {
    assert.equal(roundTrip(textCodec, ""), "");
    assert.equal(roundTrip(textCodec, "\uFEFFZoë 🚀\r\n\u0000"), "\uFEFFZoë 🚀\r\n\u0000");
    fc.assert(
      fc.property(anyText, (value) => assert.equal(roundTrip(textCodec, value), value)),
      { numRuns: RUNS },
    );
  });

  it("refuses invalid UTF-8 with its byte offset, or replaces it by option", () => {
    const bytes = new Uint8Array([0x61, 0x62, 0xe2, 0x28, 0xa1]);
    refused(() => textCodec.decode(bytes), { message: /invalid UTF-8/, position: { offset: 2 } });
    assert.equal(textCodec.decode(bytes, { invalid: "replace" }), "ab\uFFFD(\uFFFD");
  });

  it("refuses a lone surrogate on encode, or replaces it by option", () => {
    refused(() => textCodec.encode("ab\uD800c"), { code: ENCODE_FAILED, position: { column: 3 } });
    assert.deepEqual([...textCodec.encode("a\uD800", { invalid: "replace" })], [0x61, 0xef, 0xbf, 0xbd]);
    refused(() => textCodec.encode(42), { code: ENCODE_FAILED });
  });

  it("finds the same invalid sequences as the platform's decoder (property)", () => {
    const strict = new TextDecoder("utf-8", { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let valid = true;
        try {
          strict.decode(bytes);
        } catch {
          valid = false;
        }
        assert.equal(invalidUtf8Offset(bytes) === -1, valid);
      }),
      { numRuns: RUNS },
    );
  });

  it("never crashes or hangs on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(textCodec, bytes)),
      { numRuns: RUNS },
    );
  });
});

describe("bytes codec", () => {
  it("passes bytes through as base64 (property)", () => {
    assert.equal(bytesCodec.decode(new Uint8Array()), "");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        const base64 = bytesCodec.decode(bytes) as string;
        assert.deepEqual(new Uint8Array(bytesCodec.encode(base64)), bytes);
        assert.deepEqual(new Uint8Array(bytesCodec.encode(bytes)), bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses text that is not base64, naming the character", () => {
    refused(() => bytesCodec.encode("AAAA*AAA"), { code: ENCODE_FAILED, position: { offset: 4 } });
    refused(() => bytesCodec.encode("AA=A"), { code: ENCODE_FAILED, message: /padding/ });
    refused(() => bytesCodec.encode("AAAAA"), { code: ENCODE_FAILED, message: /dangling/ });
    assert.deepEqual([...bytesCodec.encode("AQI")], [1, 2]);
    refused(() => bytesCodec.encode({}), { code: ENCODE_FAILED });
  });

  it("encodes arbitrary strings to bytes or refuses them typed (property)", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        try {
          bytesCodec.encode(value);
        } catch (error) {
          refused(
            () => {
              throw error;
            },
            { code: ENCODE_FAILED },
          );
        }
      }),
      { numRuns: RUNS },
    );
    assert.equal(utf8("x").length, 1);
  });
});
