import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { convertCell } from "./convert.js";
import { JsonSplitter } from "./json-records.js";
import { readRecords } from "./read-file.js";
import { FileFormatError, formatOf, type ReadOptions, type RecordItem } from "./records.js";

const dir = mkdtempSync(join(tmpdir(), "junction-file-records-"));
let counter = 0;

async function read(content: string, options: Partial<ReadOptions> & Pick<ReadOptions, "format">) {
  const path = join(dir, `f${counter++}`);
  writeFileSync(path, content);
  const items: RecordItem[] = [];
  for await (const item of readRecords(path, statSync(path).size, {
    header: true,
    delimiter: ",",
    maxRecordSize: 1024 * 1024,
    ...options,
  })) {
    items.push(item);
  }
  return items;
}

async function readError(content: string, options: Partial<ReadOptions> & Pick<ReadOptions, "format">) {
  try {
    await read(content, options);
  } catch (error) {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${error}`);
    return error;
  }
  assert.fail("expected the file to be refused");
}

const values = (items: RecordItem[]) => items.map((item) => ("record" in item ? item.record : item));

describe("format detection", () => {
  test("by extension, unless configured", () => {
    assert.equal(formatOf("a.CSV"), "csv");
    assert.equal(formatOf("a.jsonl"), "ndjson");
    assert.equal(formatOf("a.json"), "json");
    assert.equal(formatOf("a.xml"), "xml");
    assert.equal(formatOf("a.txt"), undefined);
    assert.equal(formatOf("a.txt", "ndjson"), "ndjson");
  });
});

describe("csv records", () => {
  test("header row names the columns and declared types convert", async () => {
    const items = await read('sku,qty,price,active\nA-1,2,9.5,yes\n"B,2",10,-1e2,false\n\nC,,,\n', {
      format: "csv",
      columns: { qty: "integer", price: "number", active: "boolean" },
    });
    assert.deepEqual(values(items), [
      { sku: "A-1", qty: 2, price: 9.5, active: true },
      { sku: "B,2", qty: 10, price: -100, active: false },
      { sku: "C", qty: null, price: null, active: null },
    ]);
    assert.deepEqual(
      items.map((item) => item.line),
      [2, 3, 5],
    );
  });

  test("quoted fields may hold delimiters, quotes and newlines (RFC 4180)", async () => {
    const items = await read('a,b\r\n"x ""y""","line1\r\nline2"\r\n', { format: "csv" });
    assert.deepEqual(values(items), [{ a: 'x "y"', b: "line1\r\nline2" }]);
  });

  test("a row with the wrong field count is a bad record naming its line; later rows still come", async () => {
    const items = await read("a,b,c\n1,2,3\n4,5\n6,7,8\n", { format: "csv" });
    assert.equal(items.length, 3);
    assert.deepEqual(items[0], { line: 2, record: { a: "1", b: "2", c: "3" } });
    assert.ok("reason" in items[1]);
    assert.equal(items[1].line, 3);
    assert.match((items[1] as { reason: string }).reason, /2 fields where the header has 3/);
    assert.deepEqual(items[2], { line: 4, record: { a: "6", b: "7", c: "8" } });
  });

  test("a cell that does not convert makes its row a bad record", async () => {
    const items = await read("sku,qty\nA,2\nB,two\n", { format: "csv", columns: { qty: "integer" } });
    assert.deepEqual(items[0], { line: 2, record: { sku: "A", qty: 2 } });
    assert.match((items[1] as { reason: string }).reason, /column "qty": "two" is not an integer/);
  });

  test("without a header: arrays, or objects by names; other delimiters", async () => {
    assert.deepEqual(values(await read("1;2\n3;4\n", { format: "csv", header: false, delimiter: ";" })), [
      ["1", "2"],
      ["3", "4"],
    ]);
    assert.deepEqual(
      values(await read("1;2\n", { format: "csv", header: false, delimiter: ";", names: ["x", "y"] })),
      [{ x: "1", y: "2" }],
    );
    assert.deepEqual(values(await read("a,b\n1,2\n", { format: "csv", names: ["x", "y"] })), [
      { x: "1", y: "2" },
    ]);
  });

  test("an unclosed quote fails the whole file with its line", async () => {
    const error = await readError('a,b\n1,2\n3,"4\n5,6\n', { format: "csv" });
    assert.match(error.message, /malformed CSV: .*Quote Not Closed/);
    assert.equal(typeof error.line, "number");
  });

  test("cells convert strictly", () => {
    assert.deepEqual(convertCell(" 42 ", "number"), { ok: true, value: 42 });
    assert.equal(convertCell("0x1f", "number").ok, false);
    assert.equal(convertCell("1.5", "integer").ok, false);
    assert.equal(convertCell("maybe", "boolean").ok, false);
    assert.deepEqual(convertCell(" x ", "string"), { ok: true, value: " x " });
  });
});

describe("ndjson records", () => {
  test("one record per line; a line that is not JSON is a bad record with its line", async () => {
    const items = await read('\ufeff{"a":1}\r\n\n{"a":2\n[3]\n"x"', { format: "ndjson" });
    assert.deepEqual(items[0], { line: 1, record: { a: 1 } });
    assert.equal(items[1].line, 3);
    assert.match((items[1] as { reason: string }).reason, /^not JSON/);
    assert.deepEqual(items.slice(2), [
      { line: 4, record: [3] },
      { line: 5, record: "x" },
    ]);
  });

  test("a line over maxRecordSize is not kept: a bad record with a preview", async () => {
    const long = `{"pad":"${"x".repeat(5000)}"}`;
    const items = await read(`{"a":1}\n${long}\n{"a":2}\n`, { format: "ndjson", maxRecordSize: 1000 });
    assert.deepEqual(values([items[0], items[2]]), [{ a: 1 }, { a: 2 }]);
    assert.match((items[1] as { reason: string }).reason, /larger than maxRecordSize/);
    assert.ok(((items[1] as { raw: string }).raw as string).length < 1200);
  });
});

describe("json records", () => {
  test("a top-level array is streamed element by element", async () => {
    const items = await read(' [ {"a":"x,]}[\\"y"}, [1,{"b":[2]}], 3 , "s" ,null ]\n', { format: "json" });
    assert.deepEqual(values(items), [{ a: 'x,]}["y' }, [1, { b: [2] }], 3, "s", null]);
  });

  test("the splitter gives the same records however the text is cut", () => {
    const text = '[{"a":"\\\\"},\n{"b":"\\"]"}, 12.5e1, true]';
    const splitter = new JsonSplitter(1024);
    const out: RecordItem[] = [];
    for (const char of text) out.push(...splitter.push(char));
    out.push(...splitter.end());
    assert.deepEqual(values(out), [{ a: "\\" }, { b: '"]' }, 125, true]);
    assert.deepEqual(
      out.map((item) => item.line),
      [1, 2, 2, 2],
    );
  });

  test("a top-level object is one record; an empty array none", async () => {
    assert.deepEqual(values(await read('{"orders":[1,2]}', { format: "json" })), [{ orders: [1, 2] }]);
    assert.deepEqual(await read("[]", { format: "json" }), []);
  });

  test("a balanced element that is not JSON is a bad record; the rest still comes", async () => {
    const items = await read('[{"a":1},{a:2},{"a":3}]', { format: "json" });
    assert.deepEqual(values([items[0], items[2]]), [{ a: 1 }, { a: 3 }]);
    assert.match((items[1] as { reason: string }).reason, /not valid JSON/);
  });

  test("truncated, unbalanced or trailing garbage fails the file", async () => {
    assert.match((await readError('[{"a":1},{"a":', { format: "json" })).message, /truncated/);
    assert.match((await readError('[{"a":1]', { format: "json" })).message, /unexpected "\]"/);
    assert.match((await readError("[1,]", { format: "json" })).message, /missing after the last comma/);
    assert.match((await readError("[1] x", { format: "json" })).message, /after the top-level array/);
    assert.match((await readError('{"a":', { format: "json" })).message, /truncated/);
    assert.match((await readError("", { format: "json" })).message, /no JSON value/);
    const error = await readError('[\n1,\n{"a":[}\n]', { format: "json" });
    assert.equal(error.line, 3);
  });
});

describe("xml records", () => {
  const orders = `<?xml version="1.0" encoding="UTF-8"?>
<export xmlns:x="urn:x">
  <meta><count>2</count></meta>
  <order id="1" status="new">
    <customer>Ada</customer>
    <item sku="A">2</item>
    <item sku="B">1</item>
    <note><![CDATA[fragile <glass> & co]]></note>
  </order>
  <x:order id="2">
    <customer>Grace &amp; co</customer>
    <item sku="C">5</item>
    <empty/>
  </x:order>
</export>`;

  test("each recordElement is one record: @attributes, repeated children as arrays, #text", async () => {
    const items = await read(orders, { format: "xml", recordElement: "order" });
    assert.deepEqual(values(items), [
      {
        "@id": "1",
        "@status": "new",
        customer: "Ada",
        item: [
          { "@sku": "A", "#text": "2" },
          { "@sku": "B", "#text": "1" },
        ],
        note: "fragile <glass> & co",
      },
      { "@id": "2", customer: "Grace & co", item: { "@sku": "C", "#text": "5" }, empty: "" },
    ]);
    assert.deepEqual(
      items.map((item) => item.line),
      [4, 10],
    );
  });

  test("without recordElement every child of the root is a record; mixed text is #text", async () => {
    const items = await read("<root><a>1</a><b k='v'>t<c/>u</b></root>", { format: "xml" });
    assert.deepEqual(values(items), ["1", { "@k": "v", c: "", "#text": "tu" }]);
  });

  test("entity declarations are refused before any record: no XXE, no billion laughs", async () => {
    const xxe = await readError(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x><order>&e;</order></x>',
      { format: "xml", recordElement: "order" },
    );
    assert.match(xxe.message, /entity declarations are refused/);
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz><order>&lol2;</order></lolz>`;
    assert.match((await readError(lol, { format: "xml" })).message, /entity declarations are refused/);
  });

  test("undefined entities and malformed documents fail the file with line and column", async () => {
    const undefinedEntity = await readError("<r><order>&secret;</order></r>", { format: "xml" });
    assert.match(undefinedEntity.message, /undefined entity/);
    const truncated = await readError("<r>\n<order><a>1</a></order>\n<order><a>", { format: "xml" });
    assert.match(truncated.message, /malformed XML: unclosed tag/);
    assert.equal(truncated.line, 3);
  });
});
