import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ENCODE_FAILED } from "./codec.js";
import { decodesOrRefuses, HANG_GUARD_MS, RUNS, refused, text, timed, utf8 } from "./test-helpers.js";
import { forbiddenXmlChar, xmlCodec } from "./xml.js";

const decode = (xml: string, options = {}) => xmlCodec.decode(utf8(xml), options);

describe("xml codec: decoding", () => {
  it("gives attributes as @name, text beside elements as #text, repeated elements as arrays", () => {
    const xml = `<?xml version="1.0"?>
      <order id="7" status="new">
        <line sku="A">2</line>
        <line sku="B">5</line>
        <note>fragile &amp; <![CDATA[<heavy>]]></note>
        <empty/>
        <mixed>before <b>bold</b> after</mixed>
      </order>`;
    assert.deepEqual(decode(xml), {
      order: {
        "@id": "7",
        "@status": "new",
        line: [
          { "@sku": "A", "#text": "2" },
          { "@sku": "B", "#text": "5" },
        ],
        note: "fragile & <heavy>",
        empty: "",
        mixed: { b: "bold", "#text": "before  after" },
      },
    });
  });

  it("makes elements arrays by path hints, with * for any name, or always", () => {
    const xml = "<orders><order><line>1</line></order></orders>";
    assert.deepEqual(decode(xml), { orders: { order: { line: "1" } } });
    assert.deepEqual(decode(xml, { arrays: ["orders.order.line"] }), { orders: { order: { line: ["1"] } } });
    assert.deepEqual(decode(xml, { arrays: ["orders.*"] }), { orders: { order: [{ line: "1" }] } });
    assert.deepEqual(decode(xml, { alwaysArray: true }), { orders: { order: [{ line: ["1"] }] } });
  });

  it("keeps namespace prefixes, or strips them with the xmlns attributes", () => {
    const xml =
      '<s:Envelope xmlns:s="urn:s" xmlns="urn:d"><s:Body><o:order xmlns:o="urn:o" o:id="1"/></s:Body></s:Envelope>';
    assert.deepEqual(decode(xml), {
      "s:Envelope": {
        "@xmlns:s": "urn:s",
        "@xmlns": "urn:d",
        "s:Body": { "o:order": { "@xmlns:o": "urn:o", "@o:id": "1" } },
      },
    });
    assert.deepEqual(decode(xml, { namespaces: "strip" }), { Envelope: { Body: { order: { "@id": "1" } } } });
  });

  it("keeps or trims surrounding whitespace", () => {
    assert.deepEqual(decode("<a>  x  </a>"), { a: "x" });
    assert.deepEqual(decode("<a>  x  </a>", { trim: false }), { a: "  x  " });
    assert.deepEqual(decode("<a>\n  <b> y </b>\n</a>", { trim: false }), { a: { b: " y " } });
  });

  it("names line and column of malformed XML", () => {
    refused(() => decode("<a>\n  <b></a>"), { message: /malformed XML/, position: { line: 2 } });
    refused(() => decode("<a>&nope;</a>"), { message: /undefined entity/, position: { line: 1 } });
    refused(() => decode("not xml"), { message: /malformed XML/ });
    refused(() => decode(""), { message: /root element/ });
    refused(() => decode("<a/><b/>"), { message: /one root/ });
    refused(() => xmlCodec.decode(new Uint8Array([0x3c, 0x61, 0x3e, 0xc3, 0x3c])), {
      message: /invalid UTF-8/,
      position: { offset: 3 },
    });
  });

  it("refuses nesting deeper than maxDepth", () => {
    const deep = `${"<a>".repeat(101)}${"</a>".repeat(101)}`;
    refused(() => decode(deep), { message: /deeper than maxDepth \(100\)/ });
    assert.ok(decode(deep, { maxDepth: 200 }));
    const deeper = `${"<a>".repeat(10_000)}${"</a>".repeat(10_000)}`;
    const ms = timed(() => assert.ok(decode(deeper, { maxDepth: 10_000 })));
    assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
  });
});

describe("xml codec: attacks", () => {
  const laughs = [
    '<?xml version="1.0"?>',
    "<!DOCTYPE lolz [",
    '  <!ENTITY lol "lol">',
    ...Array.from(
      { length: 9 },
      (_, i) => `  <!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`,
    ),
    "]>",
    "<lolz>&lol9;</lolz>",
  ].join("\n");

  it("refuses a billion-laughs document quickly", () => {
    decodesOrRefuses(xmlCodec, utf8("<warm>up</warm>"));
    const ms = timed(() => refused(() => decode(laughs), { message: /entity declarations are refused/ }));
    assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
  });

  it("refuses one 1,000-character entity referenced 100,000 times quickly", () => {
    const xml = `<!DOCTYPE r [<!ENTITY big "${"A".repeat(1000)}">]><r>${"&big;".repeat(100_000)}</r>`;
    const ms = timed(() => refused(() => decode(xml), { message: /entity declarations are refused/ }));
    assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
  });

  it("never resolves external entities or external DTDs", () => {
    refused(() => decode('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'), {
      message: /entity declarations are refused/,
    });
    refused(() => decode('<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><r/>'), {
      message: /entity declarations are refused/,
    });
    // An external DTD is never fetched: the document reads as if it were not there.
    assert.deepEqual(decode('<!DOCTYPE r SYSTEM "file:///etc/passwd"><r>ok</r>'), { r: "ok" });
  });

  it("decodes masses of numeric character references in linear time", () => {
    const xml = `<r a="${"&#65;".repeat(10_000)}">${"&#x41;".repeat(100_000)}</r>`;
    let value: unknown;
    const ms = timed(() => {
      value = decode(xml);
    });
    assert.deepEqual(value, { r: { "@a": "A".repeat(10_000), "#text": "A".repeat(100_000) } });
    assert.ok(ms < HANG_GUARD_MS, `took ${ms} ms`);
    refused(() => decode("<r>&#x0;</r>"), { message: /malformed XML/ });
    refused(() => decode("<r>&#xFFFFFFFFF;</r>"), { message: /malformed XML/ });
  });

  it("keeps <__proto__> as data and never pollutes Object.prototype", () => {
    const value = decode("<__proto__><polluted>1</polluted></__proto__>") as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    const nested = decode(
      '<r __proto__="x"><__proto__><polluted>1</polluted></__proto__><constructor><prototype><polluted>2</polluted></prototype></constructor></r>',
    ) as { r: Record<string, unknown> };
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(nested.r), ["@__proto__", "__proto__", "constructor"]);
    assert.equal(Object.getPrototypeOf(nested.r), Object.prototype);
  });
});

describe("xml codec: encoding", () => {
  it("writes attributes, text, repeated elements and escapes what needs escaping", () => {
    const value = {
      order: { "@id": 7, "@note": 'a "b" & <c>\n', line: ["1", 2], text: "x < y & z", empty: null },
    };
    assert.equal(
      text(xmlCodec.encode(value)),
      '<?xml version="1.0" encoding="UTF-8"?>\n<order id="7" note="a &quot;b&quot; &amp; &lt;c&gt;&#10;"><line>1</line><line>2</line><text>x &lt; y &amp; z</text><empty></empty></order>',
    );
    assert.equal(
      text(xmlCodec.encode({ item: ["a", "b"] }, { root: "list", declaration: false })),
      "<list><item>a</item><item>b</item></list>",
    );
    assert.equal(
      text(xmlCodec.encode({ a: { b: "c" } }, { pretty: true, declaration: false })),
      "<a>\n  <b>c</b>\n</a>\n",
    );
  });

  it("refuses what XML cannot express, naming the field", () => {
    refused(() => xmlCodec.encode({ a: 1, b: 2 }), { code: ENCODE_FAILED, message: /one root element/ });
    refused(() => xmlCodec.encode({ a: { "bad name": 1 } }), {
      code: ENCODE_FAILED,
      position: { field: "a.bad name" },
    });
    refused(() => xmlCodec.encode({ a: { b: [[1]] } }), {
      code: ENCODE_FAILED,
      position: { field: "a.b[0]" },
    });
    refused(() => xmlCodec.encode({ a: { b: "\u0001" } }), {
      code: ENCODE_FAILED,
      message: /U\+0001/,
      position: { field: "a.b" },
    });
    refused(() => xmlCodec.encode({ a: { "@x": { y: 1 } } }), {
      code: ENCODE_FAILED,
      position: { field: "a.@x" },
    });
    refused(() => xmlCodec.encode([1], { root: "r" }), {
      code: ENCODE_FAILED,
      message: /element name for its items/,
    });
  });

  it("round-trips trees with unicode, attributes, mixed text, empty values and arrays (property)", () => {
    const legal = (value: string) => forbiddenXmlChar(value) === -1;
    const leaf = fc.string({ unit: "grapheme", maxLength: 8 }).filter(legal);
    const nonBlank = leaf.filter((value) => value.trim() !== "");
    const name = fc.constantFrom("a", "b", "line", "o:item", "é", "__proto__", "x-1");
    const attribute = fc.constantFrom("@id", "@x:y", "@é");
    const tree = fc.letrec<{ value: unknown; node: Record<string, unknown> }>((tie) => ({
      value: fc.oneof({ depthSize: "small" }, leaf, tie("node")),
      node: fc
        .record({
          attributes: fc.dictionary(attribute, leaf, { maxKeys: 2 }),
          text: fc.option(nonBlank, { nil: undefined }),
          children: fc.dictionary(
            name,
            fc.oneof(tie("value"), fc.array(tie("value"), { minLength: 2, maxLength: 3 })),
            {
              maxKeys: 3,
            },
          ),
        })
        .filter(
          ({ attributes, children }) => Object.keys(attributes).length + Object.keys(children).length > 0,
        )
        .map(({ attributes, text, children }) => {
          const node: Record<string, unknown> = { ...attributes };
          for (const [key, value] of Object.entries(children)) {
            Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
          }
          if (text !== undefined) node["#text"] = text;
          return node;
        }),
    }));
    fc.assert(
      fc.property(tree.value, fc.boolean(), (value, pretty) => {
        const bytes = xmlCodec.encode({ root: value }, { pretty });
        const back = xmlCodec.decode(bytes, { trim: pretty });
        if (!pretty) assert.deepEqual(back, { root: value });
      }),
      { numRuns: RUNS },
    );
  });
});

describe("xml codec: arbitrary input", () => {
  it("never crashes or hangs on arbitrary bytes or XML-like text (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(xmlCodec, bytes)),
      { numRuns: RUNS },
    );
    const piece = fc.constantFrom(
      "<",
      ">",
      "</",
      "/>",
      "a",
      "b:c",
      "=",
      '"',
      "'",
      "&",
      ";",
      "&#x41;",
      "&amp;",
      "&lol;",
      "!",
      "[",
      "]",
      "?",
      " ",
      "\n",
      "<!DOCTYPE r [",
      '<!ENTITY lol "x">',
      "<![CDATA[",
      "]]>",
      "<!--",
      "-->",
      "<?xml ",
      "é",
      "__proto__",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.boolean(), (pieces, strip) => {
        decodesOrRefuses(xmlCodec, utf8(pieces.join("")), { namespaces: strip ? "strip" : "prefixed" });
        decodesOrRefuses(xmlCodec, utf8(`<r>${pieces.join("")}</r>`), { alwaysArray: strip });
      }),
      { numRuns: RUNS },
    );
  });

  it("encodes arbitrary values or refuses them typed (property)", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), (value) => {
        try {
          xmlCodec.encode({ root: value });
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
  });
});
