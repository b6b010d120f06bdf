import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED } from "./codec.js";
import { csvCodec, normaliseDate } from "./csv.js";
import { decodesOrRefuses, RUNS, refused, roundTrip, text, utf8 } from "./test-helpers.js";

describe("csv codec", () => {
  it("reads RFC 4180 quoting: delimiters, quotes and newlines inside quoted fields", () => {
    const input = 'sku,name,note\r\nA-1,"Widget, large","He said ""hi""\nand left"\r\nB-2,Bolt,\r\n';
    assert.deepEqual(csvCodec.decode(utf8(input)), [
      { sku: "A-1", name: "Widget, large", note: 'He said "hi"\nand left' },
      { sku: "B-2", name: "Bolt", note: "" },
    ]);
  });

  it("converts typed columns and makes empty typed cells null", () => {
    const input =
      "qty,price,active,shipped,at,label\n3,9.5,yes,2024-02-29,2024-05-01T12:00:00+02:00,007\n,, ,,,\n";
    const types = {
      qty: "integer",
      price: "number",
      active: "boolean",
      shipped: "date",
      at: "date",
      label: "string",
    } as const;
    assert.deepEqual(csvCodec.decode(utf8(input), { types }), [
      {
        qty: 3,
        price: 9.5,
        active: true,
        shipped: "2024-02-29",
        at: "2024-05-01T10:00:00.000Z",
        label: "007",
      },
      { qty: null, price: null, active: null, shipped: null, at: null, label: "" },
    ]);
  });

  it("names line, column and field of a cell that does not convert", () => {
    const input = "sku,qty\nA,1\nB,two\n";
    const error = refused(() => csvCodec.decode(utf8(input), { types: { qty: "integer" } }), {
      message: /"two" is not an integer/,
      position: { line: 3, column: 2, field: "qty", record: 1 },
    });
    assert.deepEqual(error.details, { format: "csv", line: 3, column: 2, field: "qty", record: 1 });
    refused(() => csvCodec.decode(utf8("d\n2023-02-29\n"), { types: { d: "date" } }), {
      message: /ISO 8601/,
    });
    refused(() => csvCodec.decode(utf8("b\nmaybe\n"), { types: { b: "boolean" } }), { message: /boolean/ });
    refused(() => csvCodec.decode(utf8("n\n0x1f\n"), { types: { n: "number" } }), {
      message: /not a number/,
    });
    refused(() => csvCodec.decode(utf8("n\n9007199254740993\n"), { types: { n: "integer" } }), {
      message: /2\^53/,
    });
  });

  it("refuses broken quoting and rows of the wrong width, with their line", () => {
    refused(() => csvCodec.decode(utf8('a,b\n1,"open\n')), {
      message: /malformed CSV/,
      position: { line: 2 },
    });
    refused(() => csvCodec.decode(utf8("a,b\n1,2\n3\n")), {
      message: /1 field where the header has 2/,
      position: { line: 3 },
    });
    refused(() => csvCodec.decode(utf8("a,a\n1,2\n")), { message: /twice/ });
  });

  it("reads without a header: arrays, or objects by the columns option", () => {
    assert.deepEqual(csvCodec.decode(utf8("1;2\n3;4\n"), { header: false, delimiter: ";" }), [
      ["1", "2"],
      ["3", "4"],
    ]);
    assert.deepEqual(
      csvCodec.decode(utf8("1,2\n"), { header: false, columns: ["a", "b"], types: { a: "number" } }),
      [{ a: 1, b: "2" }],
    );
    // With a header row, configured columns win and the row is skipped.
    assert.deepEqual(csvCodec.decode(utf8("x,y\n1,2\n"), { columns: ["a", "b"] }), [{ a: "1", b: "2" }]);
  });

  it("keeps a __proto__ column as data", () => {
    const [row] = csvCodec.decode(utf8("__proto__,b\n1,2\n")) as Record<string, unknown>[];
    assert.equal(({} as Record<string, unknown>)[1], undefined);
    assert.deepEqual(Object.keys(row), ["__proto__", "b"]);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
  });

  it("writes objects as rows under a header, nested values as JSON", () => {
    const bytes = csvCodec.encode([
      { sku: "A", qty: 2, note: 'say "hi", then\nleave', active: true, tags: ["x"] },
      { sku: "B", qty: null, extra: 12345678901234567890n },
    ]);
    assert.equal(
      text(bytes),
      'sku,qty,note,active,tags,extra\nA,2,"say ""hi"", then\nleave",true,"[""x""]",\nB,,,,,12345678901234567890\n',
    );
    assert.equal(
      text(
        csvCodec.encode([{ a: 1, b: 2 }], {
          columns: ["b", "a"],
          header: false,
          delimiter: "\t",
          lineEnding: "crlf",
        }),
      ),
      "2\t1\r\n",
    );
    assert.equal(text(csvCodec.encode([])), "");
  });

  it("refuses rows that are not objects, naming the record", () => {
    refused(() => csvCodec.encode([{ a: 1 }, "x"]), { code: ENCODE_FAILED, position: { record: 1 } });
    refused(() => csvCodec.encode([{ a: Number.NaN }]), {
      code: ENCODE_FAILED,
      position: { field: "a", record: 0 },
    });
  });

  it("round-trips unicode, quotes, delimiters, newlines and empty cells (property)", () => {
    const cell = fc.string({ unit: "grapheme", maxLength: 12 });
    const rows = fc
      .uniqueArray(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 6 }), {
        minLength: 1,
        maxLength: 4,
      })
      .chain((columns) =>
        fc.array(fc.tuple(...columns.map(() => cell)), { maxLength: 6 }).map((table) => ({
          columns,
          records: table.map((cells) =>
            Object.fromEntries(columns.map((name, index) => [name, cells[index]])),
          ),
        })),
      );
    fc.assert(
      fc.property(rows, fc.constantFrom(",", ";", "\t", "|"), ({ columns, records }, delimiter) => {
        const trimmed = columns.map((name) => name.trim());
        fc.pre(trimmed.every((name) => name !== "") && new Set(trimmed).size === trimmed.length);
        fc.pre(columns.every((name, index) => name === trimmed[index]));
        const bytes = csvCodec.encode(records, { delimiter, columns });
        // Decoded by the header row the encoder wrote.
        assert.deepEqual(csvCodec.decode(bytes, { delimiter }), records);
      }),
      { numRuns: RUNS },
    );
  });

  it("round-trips typed columns", () => {
    const records = [
      { n: 1.5, i: -7, b: false, d: "2024-01-31", t: "2024-01-31T23:59:59.999Z" },
      { n: null, i: 9007199254740991, b: true, d: null, t: null },
    ];
    const types = { n: "number", i: "integer", b: "boolean", d: "date", t: "date" } as const;
    assert.deepEqual(roundTrip(csvCodec, records, { types }), records);
  });

  it("normalises dates to ISO 8601", () => {
    assert.equal(normaliseDate("2024-05-01 10:00"), "2024-05-01T10:00:00.000Z");
    assert.equal(normaliseDate("2024-05-01T10:00:00.123456-0130"), "2024-05-01T11:30:00.123Z");
    assert.equal(normaliseDate("2024-13-01"), undefined);
    assert.equal(normaliseDate("2024-05-01T24:00:00Z"), undefined);
  });

  it("never crashes or hangs on arbitrary bytes or CSV-like text (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(csvCodec, bytes)),
      { numRuns: RUNS },
    );
    const csvish = fc.string({
      unit: fc.constantFrom("a", "1", ",", '"', "\n", "\r", " ", ";", "é"),
      maxLength: 60,
    });
    fc.assert(
      fc.property(csvish, fc.boolean(), (input, header) => {
        decodesOrRefuses(csvCodec, utf8(input), { header, types: { a: "number" } });
      }),
      { numRuns: RUNS },
    );
  });
});
