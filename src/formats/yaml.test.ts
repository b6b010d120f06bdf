import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED } from "./codec.js";
import {
  decodesOrRefuses,
  HANG_GUARD_MS,
  RUNS,
  refused,
  roundTrip,
  text,
  timed,
  utf8,
} from "./test-helpers.js";
import { yamlCodec } from "./yaml.js";

const decode = (yaml: string, options = {}) => yamlCodec.decode(utf8(yaml), options);
const normalise = (value: unknown) => JSON.parse(JSON.stringify(value));

describe("yaml codec", () => {
  it("reads YAML 1.2 core types; 1.1 booleans and timestamps stay strings", () => {
    assert.deepEqual(
      decode("a: 1\nb: 1.5\nc: true\nd: null\ne: yes\nf: 2024-05-01\ng: 0x1F\nh: [x, {y: ~}]\ni: !!str 5\n"),
      {
        a: 1,
        b: 1.5,
        c: true,
        d: null,
        e: "yes",
        f: "2024-05-01",
        g: 31,
        h: ["x", { y: null }],
        i: "5",
      },
    );
    assert.equal(decode(""), null);
    assert.equal(decode("# only a comment\n"), null);
  });

  it("round-trips unicode, empty values, nested objects and tricky strings", () => {
    const value = {
      name: "Zoë 🚀 日本",
      empty: "",
      none: null,
      list: [],
      object: {},
      tricky: [
        "yes",
        "no",
        "null",
        "~",
        "1e3",
        "0x10",
        "- item",
        "a: b",
        "#x",
        "'",
        '"',
        " lead",
        "trail ",
        "multi\nline\n",
      ],
      nested: { deeper: [{ a: [true, 1.25, -7] }] },
      big: Number.MAX_SAFE_INTEGER,
    };
    assert.deepEqual(roundTrip(yamlCodec, value), value);
  });

  it("round-trips any JSON value (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "grapheme" }), (value) => {
        assert.deepEqual(normalise(roundTrip(yamlCodec, value)), normalise(value));
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses an alias bomb (billion laughs) quickly", () => {
    const levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i);
      const previous = String.fromCharCode(96 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    const bomb = `${levels.join("\n")}\n`;
    decode("warm: up");
    const ms = timed(() => refused(() => decode(bomb), { message: /maxAliasCount \(100\)/ }));
    assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
  });

  it("refuses deep nesting before building it, naming where", () => {
    for (const deep of ["[".repeat(5000), "- ".repeat(5000), "{a: ".repeat(5000)]) {
      refused(() => decode(deep), { message: /deeper than maxDepth \(100\)/, position: { line: 1 } });
    }
    const nested = `${"[".repeat(150)}x${"]".repeat(150)}`;
    refused(() => decode(nested), { message: /maxDepth/, position: { line: 1, column: 101 } });
    assert.ok(decode(nested, { maxDepth: 200 }));
  });

  it("allows a few aliases, and none with maxAliasCount 0", () => {
    const yaml = "base: &base {x: 1}\nuse: *base\n";
    assert.deepEqual(decode(yaml), { base: { x: 1 }, use: { x: 1 } });
    refused(() => decode(yaml, { maxAliasCount: 0 }), { message: /maxAliasCount \(0\)/ });
  });

  it("refuses tags beyond the core schema, naming where", () => {
    refused(() => decode("a: 1\nb: !custom x\n"), { message: /!custom/, position: { line: 2, column: 4 } });
    refused(() => decode("b: !!binary aGk=\n"), { message: /!!binary/, position: { line: 1 } });
    refused(() => decode("t: !!timestamp 2024-05-01\n"), { message: /timestamp/ });
    // Merge keys are not special: `<<` is a plain key.
    assert.deepEqual(decode("<<: {a: 1}\n"), { "<<": { a: 1 } });
  });

  it("names line and column of syntax errors and duplicate keys", () => {
    refused(() => decode("a: 1\na: 2\n"), { message: /unique/, position: { line: 2, column: 1 } });
    refused(() => decode("list: [1, 2\nnext: 3\n"), { position: { line: 2 } });
    refused(() => yamlCodec.decode(new Uint8Array([0x61, 0x3a, 0x20, 0xff])), {
      message: /invalid UTF-8/,
      position: { offset: 3 },
    });
  });

  it("keeps __proto__ as data and never pollutes Object.prototype", () => {
    const value = decode("__proto__: {polluted: 1}\nx: 1\n") as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value), ["__proto__", "x"]);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  it("reads and writes one record per document with multiple", () => {
    const stream = "---\na: 1\n---\n- x\n---\nplain\n";
    refused(() => decode(stream), { message: /3 documents/, position: { line: 3, column: 1 } });
    assert.deepEqual(decode(stream, { multiple: true }), [{ a: 1 }, ["x"], "plain"]);
    assert.equal(yamlCodec.multiple({ multiple: true }), true);
    const records = [{ a: 1 }, [], "", null];
    assert.deepEqual(roundTrip(yamlCodec, records, { multiple: true }), records);
    assert.deepEqual(decode("", { multiple: true }), []);
  });

  it("refuses values with no YAML form", () => {
    refused(() => yamlCodec.encode(undefined), { code: ENCODE_FAILED });
    refused(() => yamlCodec.encode([1, () => 1], { multiple: true }), {
      code: ENCODE_FAILED,
      position: { record: 1 },
    });
    refused(() => yamlCodec.encode({ f: () => 1 }), { code: ENCODE_FAILED, message: /Function/ });
    // A lone surrogate is written as an escape, and read back.
    assert.deepEqual(roundTrip(yamlCodec, { s: "\uD800" }), { s: "\uD800" });
    assert.equal(text(yamlCodec.encode({ a: [1] })), "a:\n  - 1\n");
  });

  it("never crashes or hangs on arbitrary bytes or YAML-like text (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(yamlCodec, bytes)),
      { numRuns: RUNS },
    );
    const piece = fc.constantFrom(
      "a",
      ":",
      " ",
      "\n",
      "- ",
      "&x ",
      "*x",
      "[",
      "]",
      "{",
      "}",
      ",",
      "!",
      "!!",
      "tag",
      "'",
      '"',
      "#",
      "---",
      "...",
      "|",
      ">",
      "? ",
      "%YAML 1.2",
      "<<",
      "__proto__",
      "é",
      "\t",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.boolean(), (pieces, multiple) => {
        decodesOrRefuses(yamlCodec, utf8(pieces.join("")), { multiple, maxAliasCount: 3 });
      }),
      { numRuns: RUNS },
    );
  });
});
