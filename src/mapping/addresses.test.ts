import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Address, formatAddress, parseAddress } from "./addresses.js";
import { normaliseCountry } from "./countries.js";

const CASES: Array<[string, string | undefined, Address, string]> = [
  [
    "350 Fifth Avenue Suite 3300, New York, NY 10118-0110, USA",
    undefined,
    {
      street: "350 Fifth Avenue",
      unit: "Suite 3300",
      city: "New York",
      region: "NY",
      postalCode: "10118-0110",
      country: "US",
      ambiguous: false,
    },
    "350 Fifth Avenue Suite 3300\nNew York, NY 10118-0110\nUNITED STATES",
  ],
  [
    "123 Main St\nApt 4B\nSpringfield IL 62704",
    "US",
    {
      street: "123 Main St",
      unit: "Apt 4B",
      city: "Springfield",
      region: "IL",
      postalCode: "62704",
      country: "US",
      ambiguous: false,
    },
    "123 Main St Apt 4B\nSpringfield, IL 62704\nUNITED STATES",
  ],
  [
    "10 Downing Street, London SW1A 2AA, United Kingdom",
    undefined,
    { street: "10 Downing Street", city: "London", postalCode: "SW1A 2AA", country: "GB", ambiguous: false },
    "10 Downing Street\nLondon\nSW1A 2AA\nUNITED KINGDOM",
  ],
  [
    "Flat 3, 221b Baker Street, London, nw16xe",
    "gb",
    {
      unit: "Flat 3",
      street: "221b Baker Street",
      city: "London",
      postalCode: "NW1 6XE",
      country: "GB",
      ambiguous: false,
    },
    "Flat 3\n221b Baker Street\nLondon\nNW1 6XE\nUNITED KINGDOM",
  ],
  [
    "Unter den Linden 77, 10117 Berlin, Deutschland",
    undefined,
    { street: "Unter den Linden 77", city: "Berlin", postalCode: "10117", country: "DE", ambiguous: false },
    "Unter den Linden 77\n10117 Berlin\nGERMANY",
  ],
  [
    "55 Rue du Faubourg Saint-Honoré\n75008 Paris\nFrance",
    undefined,
    {
      street: "55 Rue du Faubourg Saint-Honoré",
      city: "Paris",
      postalCode: "75008",
      country: "FR",
      ambiguous: false,
    },
    "55 Rue du Faubourg Saint-Honoré\n75008 Paris\nFRANCE",
  ],
  [
    "Dam 1, 1012JS Amsterdam",
    "Netherlands",
    { street: "Dam 1", city: "Amsterdam", postalCode: "1012 JS", country: "NL", ambiguous: false },
    "Dam 1\n1012 JS Amsterdam\nNETHERLANDS",
  ],
  [
    "24 Sussex Drive, Ottawa, ON K1M1M4, Canada",
    undefined,
    {
      street: "24 Sussex Drive",
      city: "Ottawa",
      region: "ON",
      postalCode: "K1M 1M4",
      country: "CA",
      ambiguous: false,
    },
    "24 Sussex Drive\nOttawa, ON K1M 1M4\nCANADA",
  ],
  [
    "1-1 Chiyoda, Chiyoda-ku, Tokyo 100-8111, Japan",
    undefined,
    {
      street: "1-1 Chiyoda",
      city: "Chiyoda-ku",
      region: "Tokyo",
      postalCode: "100-8111",
      country: "JP",
      ambiguous: false,
    },
    "1-1 Chiyoda\nChiyoda-ku, Tokyo 100-8111\nJAPAN",
  ],
  [
    "1 Grand Canal Quay, Dublin 2, D02 X285, Ireland",
    undefined,
    {
      street: "1 Grand Canal Quay",
      city: "Dublin 2",
      postalCode: "D02 X285",
      country: "IE",
      ambiguous: false,
    },
    "1 Grand Canal Quay\nDublin 2\nD02 X285\nIRELAND",
  ],
  [
    "Calle Mayor 1, 28013 Madrid, España",
    undefined,
    { street: "Calle Mayor 1", city: "Madrid", postalCode: "28013", country: "ES", ambiguous: false },
    "Calle Mayor 1\n28013 Madrid\nSPAIN",
  ],
];

test("parseAddress and formatAddress: US, GB, DE, FR, NL, CA, JP, IE, ES", () => {
  for (const [text, country, expected, formatted] of CASES) {
    const parsed = parseAddress(text, country);
    assert.deepEqual(parsed, expected, text);
    assert.equal(formatAddress(parsed), formatted, text);
  }
});

test("parseAddress flags what it guessed or could not place", () => {
  const guessed = parseAddress("1600 Pennsylvania Ave NW, Washington, DC 20500");
  assert.equal(guessed.country, "US");
  assert.equal(guessed.ambiguous, true);
  assert.match(guessed.reasons!.join(), /guessed as US/);

  const unknown = parseAddress("somewhere over the rainbow");
  assert.equal(unknown.ambiguous, true);
  assert.match(unknown.reasons!.join(), /country not given/);

  const noPostcode = parseAddress("Hauptstraße 5, Berlin", "DE");
  assert.equal(noPostcode.ambiguous, true);
  assert.deepEqual(noPostcode.unparsed, ["Berlin"]);
  assert.match(noPostcode.reasons!.join(), /no postcode found/);

  const trailing = parseAddress("Unter den Linden 77, 10117 Berlin, c/o Reception", "DE");
  assert.deepEqual(trailing.unparsed, ["c/o Reception"]);
  assert.equal(trailing.ambiguous, true);

  assert.match(parseAddress("1 Rue X, 1000 Y", "Narnia").reasons!.join(), /unknown country "Narnia"/);
});

test("formatAddress leaves the country out for domestic mail", () => {
  const address = parseAddress("Unter den Linden 77, 10117 Berlin", "DE");
  assert.equal(formatAddress(address, { from: "Germany" }), "Unter den Linden 77\n10117 Berlin");
  assert.equal(formatAddress(address, { separator: ", " }), "Unter den Linden 77, 10117 Berlin, GERMANY");
});

test("normaliseCountry: names in several languages, alpha-2 and alpha-3 codes, aliases", () => {
  const cases: Array<[string, string | undefined]> = [
    ["Germany", "DE"],
    ["Deutschland", "DE"],
    ["DEU", "DE"],
    ["de", "DE"],
    ["UK", "GB"],
    ["Great Britain", "GB"],
    ["United States of America", "US"],
    ["U.S.A.", "US"],
    ["Pays-Bas", "NL"],
    ["Holland", "NL"],
    ["Côte d’Ivoire", "CI"],
    ["Ivory Coast", "CI"],
    ["日本", "JP"],
    ["España", "ES"],
    ["EU", undefined],
    ["ZR", undefined],
    ["Narnia", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normaliseCountry(input), expected, input);
});

const UNIT_WORDS = /^(apt|apartment|suite|unit|flat|floor|room|wohnung|app|appt|bureau|etage)$/i;
const word = fc.stringMatching(/^[A-Z][a-z]{3,8}$/).filter((w) => !UNIT_WORDS.test(w));
const words = (min: number, max: number) =>
  fc.array(word, { minLength: min, maxLength: max }).map((list) => list.join(" "));

const addressFor: Record<string, fc.Arbitrary<Address>> = {
  US: fc.record({
    street: fc.tuple(fc.integer({ min: 1, max: 9999 }), words(1, 3)).map(([n, s]) => `${n} ${s}`),
    unit: fc.option(fc.constantFrom("Apt 4B", "Suite 300", "Unit 12"), { nil: undefined }),
    city: words(1, 2),
    region: fc.constantFrom("NY", "CA", "TX", "IL", "DC", "WA"),
    postalCode: fc.stringMatching(/^\d{5}(-\d{4})?$/),
    country: fc.constant("US"),
  }),
  CA: fc.record({
    street: fc.tuple(fc.integer({ min: 1, max: 999 }), words(1, 2)).map(([n, s]) => `${n} ${s}`),
    city: words(1, 2),
    region: fc.constantFrom("ON", "QC", "BC"),
    postalCode: fc.stringMatching(/^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d$/),
    country: fc.constant("CA"),
  }),
  GB: fc.record({
    unit: fc.option(fc.constantFrom("Flat 3", "Flat 12A"), { nil: undefined }),
    street: fc.tuple(fc.integer({ min: 1, max: 300 }), words(1, 2)).map(([n, s]) => `${n} ${s} Street`),
    city: words(1, 1),
    postalCode: fc.stringMatching(/^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$/),
    country: fc.constant("GB"),
  }),
  DE: fc.record({
    street: fc.tuple(words(1, 2), fc.integer({ min: 1, max: 200 })).map(([s, n]) => `${s}straße ${n}`),
    city: words(1, 1),
    postalCode: fc.stringMatching(/^\d{5}$/),
    country: fc.constant("DE"),
  }),
  FR: fc.record({
    street: fc.tuple(fc.integer({ min: 1, max: 200 }), words(1, 3)).map(([n, s]) => `${n} Rue ${s}`),
    city: words(1, 1),
    postalCode: fc.stringMatching(/^\d{5}$/),
    country: fc.constant("FR"),
  }),
  NL: fc.record({
    street: fc.tuple(words(1, 1), fc.integer({ min: 1, max: 200 })).map(([s, n]) => `${s}straat ${n}`),
    city: words(1, 1),
    postalCode: fc.stringMatching(/^\d{4} [A-Z]{2}$/),
    country: fc.constant("NL"),
  }),
  JP: fc.record({
    street: fc
      .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 30 }), word)
      .map(([a, b, s]) => `${a}-${b} ${s}`),
    city: word.map((w) => `${w}-ku`),
    region: fc.constantFrom("Tokyo", "Osaka", "Kyoto", "Hokkaido", "Aichi-ken"),
    postalCode: fc.stringMatching(/^\d{3}-\d{4}$/),
    country: fc.constant("JP"),
  }),
};

test("parseAddress reads back what formatAddress wrote, in each country's order (property)", () => {
  fc.assert(
    fc.property(fc.oneof(...Object.values(addressFor)), (address) => {
      const clean = Object.fromEntries(Object.entries(address).filter(([, value]) => value !== undefined));
      const text = formatAddress(clean);
      assert.deepEqual(parseAddress(text), { ...clean, ambiguous: false }, text);
      assert.deepEqual(parseAddress(text.replace(/\n/g, ", ")), { ...clean, ambiguous: false }, text);
    }),
    { numRuns: 400 },
  );
});
