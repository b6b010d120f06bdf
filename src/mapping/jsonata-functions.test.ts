import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";
import { createMessage } from "../api/message.js";
import { Evaluator, terminates } from "../engine/evaluator.js";
import { ExpressionPool } from "../engine/expression-pool.js";

const EXPRESSION = `{
  "name": $splitName(fullName),
  "display": $joinName("Ada", "Lovelace"),
  "joined": $joinName({ "title": "Dr.", "given": "Ada", "family": "Lovelace" }),
  "mononym": $joinName(nothing, "Cher"),
  "noName": $joinName(nothing, nothing),
  "address": $parseAddress(address, "DE"),
  "label": $formatAddress({ "street": "Dam 1", "postalCode": "1012 JS", "city": "Amsterdam", "country": "NL" }, "NL"),
  "country": $countryCode("Deutschland"),
  "born": $parseDate(born, "DD.MM.YYYY"),
  "seen": $parseDate(seen, "DD.MM.YYYY HH:mm", "Europe/Berlin"),
  "tokyo": $toTimeZone("2024-07-01T12:00:00Z", "Asia/Tokyo"),
  "german": $formatDate("2024-07-01T12:00:00Z", "DD.MM.YYYY HH:mm", "Europe/Berlin"),
  "cm": $convertUnit(heightIn, "in", "cm"),
  "usd": $convertCurrency(total, "EUR", "USD", { "EUR": 1, "USD": "1.0862" }),
  "rounded": $roundMoney("2.345", "EUR"),
  "cents": $toMinorUnits(total, "EUR"),
  "amount": $fromMinorUnits(1999, "USD"),
  "phone": $nullPolicy(phone, "null"),
  "notes": $nullPolicy(notes, "omit"),
  "clean": $omitEmpty({ "a": "", "b": { "c": null }, "d": 1 }),
  "missing": $splitName(nothing)
}`;

const DATA = {
  fullName: "Dr. Ludwig van Beethoven",
  address: "Unter den Linden 77, 10117 Berlin",
  born: "17.12.1770",
  seen: "31.03.2024 12:00",
  heightIn: 66,
  total: "19.99",
  notes: "",
};

const EXPECTED = {
  name: {
    ambiguous: false,
    reasons: [],
    title: "Dr.",
    family: "van Beethoven",
    particle: "van",
    given: "Ludwig",
  },
  display: "Ada Lovelace",
  joined: "Dr. Ada Lovelace",
  mononym: "Cher",
  address: {
    country: "DE",
    postalCode: "10117",
    city: "Berlin",
    street: "Unter den Linden 77",
    ambiguous: false,
  },
  label: "Dam 1\n1012 JS Amsterdam",
  country: "DE",
  born: "1770-12-17",
  seen: "2024-03-31T12:00:00+02:00",
  tokyo: "2024-07-01T21:00:00+09:00",
  german: "01.07.2024 14:00",
  cm: 167.64,
  usd: "21.71",
  rounded: "2.34",
  cents: 1999,
  amount: "19.99",
  phone: null,
  clean: { d: 1 },
};

test("the helpers are bound in JSONata, inline and in the workers, with the same results", async () => {
  const pool = new ExpressionPool({ workers: 1, timeoutMs: 2000 });
  try {
    const evaluator = new Evaluator(pool);
    const message = createMessage({ source: "s", type: "t", data: DATA });
    // The evaluator sends "$split..." to the workers; every other helper runs inline.
    const inline = EXPRESSION.replace(/\s*"(name|missing)": \$splitName\(\w+\),?/g, "").replace(
      /,(\s*)}$/,
      "$1}",
    );
    assert.equal(terminates(inline), true, inline);
    const { name: _name, ...inlineExpected } = EXPECTED;
    assert.deepEqual(await evaluator.evaluate(inline, DATA, message), inlineExpected);
    assert.deepEqual(await evaluator.evaluate(EXPRESSION, DATA, message), EXPECTED);
    assert.deepEqual(
      await pool.evaluate(EXPRESSION, DATA, {}),
      EXPECTED,
      "the worker binds the same functions",
    );
    // A lambda sends the expression to a worker through the evaluator too.
    const viaLambda = "$map(people, function($p) { $splitName($p).family })";
    assert.equal(terminates(viaLambda), false);
    assert.deepEqual(
      await evaluator.evaluate(viaLambda, { people: ["Ada Lovelace", "Smith, John"] }, message),
      ["Lovelace", "Smith"],
    );
    await assert.rejects(
      evaluator.evaluate('$convertUnit(1, "kg", "m")', {}, message),
      /expression failed.*cannot convert mass \(kg\) to length \(m\)/,
    );
    await assert.rejects(
      pool.evaluate('$parseDate("30.02.2024", "DD.MM.YYYY")', {}, {}),
      /"30.02.2024" is not a calendar date/,
    );
  } finally {
    await pool.close();
  }
});

describe("the helpers in a running route: map, filter and switch", () => {
  let running: RunningEngine;
  let receiver: Receiver;

  before(async () => {
    receiver = new Receiver();
    await receiver.start();
    running = await startEngine(`
routes:
  customers:
    from: { webhook: { path: /customers } }
    steps:
      - filter: { jsonata: '$nullPolicy(email, "omit") != null' }
      - map:
          jsonata: |
            (
              $name := $splitName(fullName);
              $address := $parseAddress(address, country);
              {
                "givenName": $name.given,
                "familyName": $name.family,
                "nameNeedsReview": $name.ambiguous,
                "country": $address.country,
                "postalCode": $address.postalCode,
                "since": $parseDate(since, "MM/DD/YYYY"),
                "creditLimit": $convertCurrency(limit, "USD", "EUR", { "EUR": 1, "USD": "1.0862" })
              }
            )
      - switch:
          cases:
            - when: 'country = $countryCode("United States")'
              to: [ { http: { url: "${receiver.url}/us" } } ]
          otherwise: { to: [ { http: { url: "${receiver.url}/intl" } } ] }
    to: [ { log: {} } ]
`);
  });

  after(async () => {
    await running?.stop();
    await receiver?.close();
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${running.url}/customers`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: string }).id;
  };

  test("map, filter and switch use the helpers; a helper error dead-letters that message with the reason", async () => {
    await post({ fullName: "Ada Lovelace", email: "", address: "x", since: "01/02/2024", limit: "1" });
    await post({
      fullName: "Ada Lovelace",
      email: "ada@example.com",
      address: "350 Fifth Avenue, New York, NY 10118",
      country: "US",
      since: "12/31/2023",
      limit: "1000",
    });
    await post({
      fullName: "Maria de la Cruz",
      email: "maria@example.es",
      address: "Calle Mayor 1, 28013 Madrid, España",
      since: "01/15/2024",
      limit: "500.00",
    });
    const bad = await post({
      fullName: "Bad Date",
      email: "bad@example.com",
      address: "x",
      since: "31/12/2023",
      limit: "1",
    });
    await eventually(() => receiver.requests.length >= 2, 10_000, "two deliveries");
    const us = receiver.requests.filter((request) => request.url === "/us").map((r) => JSON.parse(r.body));
    const intl = receiver.requests
      .filter((request) => request.url === "/intl")
      .map((r) => JSON.parse(r.body));
    assert.deepEqual(us, [
      {
        givenName: "Ada",
        familyName: "Lovelace",
        nameNeedsReview: false,
        country: "US",
        postalCode: "10118",
        since: "2023-12-31",
        creditLimit: "920.64",
      },
    ]);
    assert.deepEqual(intl, [
      {
        givenName: "Maria",
        familyName: "de la Cruz",
        nameNeedsReview: false,
        country: "ES",
        postalCode: "28013",
        since: "2024-01-15",
        creditLimit: "460.32",
      },
    ]);
    const letter = await eventually(
      async () => {
        const letters = (await (await fetch(`${running.adminUrl}/api/dlq?route=customers`)).json()) as any[];
        return letters.find((candidate) => candidate.message.id === bad);
      },
      10_000,
      "the bad date to be dead-lettered",
    );
    assert.match(letter.error.message, /"31\/12\/2023" is not a calendar date/);
  });
});
