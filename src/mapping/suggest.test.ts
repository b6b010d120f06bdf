import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";
import jsonata from "jsonata";
import { concepts } from "./field-names.js";
import { registerMappingFunctions } from "./jsonata-functions.js";
import { readSchema } from "./schema-fields.js";
import { suggestMapping } from "./suggest.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/map-suggest/${name}`, import.meta.url), "utf8"));

/** Run the draft on every sample and validate each result against the target schema. */
async function checkDraft(draft: string, targetSchema: object, samples: unknown[]): Promise<unknown[]> {
  const expression = registerMappingFunctions(jsonata(draft));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(targetSchema);
  const outputs: unknown[] = [];
  for (const sample of samples) {
    const output = JSON.parse(JSON.stringify(await expression.evaluate(sample)));
    assert.ok(validate(output), `${JSON.stringify(output)}\n${ajv.errorsText(validate.errors)}`);
    outputs.push(output);
  }
  return outputs;
}

test("names normalise through case, separators and synonyms", () => {
  const same: Array<[string, string]> = [
    ["zip", "postalCode"],
    ["post_code", "postal-code"],
    ["surname", "familyName"],
    ["last_name", "FamilyName"],
    ["first-name", "givenName"],
    ["qty", "quantity"],
    ["email_address", "eMail"],
    ["tel", "phone_number"],
    ["address_line_1", "street"],
    ["lifecycle_stage", "status"],
  ];
  for (const [a, b] of same) assert.deepEqual(concepts(a), concepts(b), `${a} ~ ${b}`);
  assert.notDeepEqual(concepts("status"), concepts("state"));
});

test("CRM contact -> ERP customer: a draft that compiles and, on the samples, passes the target schema", async () => {
  const source = fixture("crm-contact.schema.json");
  const target = fixture("erp-customer.schema.json");
  const samples = fixture("crm-contacts.samples.json");
  const suggestion = suggestMapping(readSchema(source), readSchema(target), samples);
  const byTarget = new Map(suggestion.fields.map((field) => [field.target, field]));
  const expected: Record<string, string> = {
    customerNumber: "contact_id",
    givenName: "$splitName(full_name).given",
    familyName: "$splitName(full_name).family",
    email: "email_address",
    telephone: '$nullPolicy(phone, "omit")',
    organisation: "company_name",
    "billingAddress.line1": "mailing_address.street",
    "billingAddress.region": "mailing_address.state",
    "billingAddress.postalCode": "mailing_address.zip",
    "billingAddress.countryCode": "$countryCode(mailing_address.country)",
    customerSince: '$parseDate(created, "MM/DD/YYYY")',
    annualRevenue: "$number(annual_revenue)",
    marketingConsent: "opt_in",
    status: "lifecycle_stage",
    "salesOrders.orderNumber": "order_no",
    "salesOrders.quantity": "qty",
    "salesOrders.amount": "$number(total)",
  };
  for (const [field, expression] of Object.entries(expected))
    assert.equal(byTarget.get(field)?.expression, expression, field);
  assert.equal(byTarget.get("givenName")?.helper, "$splitName");
  for (const field of suggestion.fields) {
    assert.ok(field.confidence >= 0.5 && field.confidence <= 1, `${field.target}: ${field.confidence}`);
    assert.ok(field.reasons.length > 0, `${field.target} says why`);
  }
  assert.ok(byTarget.get("email")!.confidence > byTarget.get("customerSince")!.confidence);
  assert.deepEqual(
    suggestion.unplaced.map((field) => field.target),
    ["vatNumber"],
  );
  assert.deepEqual(suggestion.unusedSources, ["tags"]);
  assert.match(suggestion.jsonata, /\/\* 0\.\d\d <- full_name: .*\$splitName \*\//);
  assert.match(suggestion.jsonata, /\/\* unplaced: vatNumber \(string\) \*\//);

  const outputs = await checkDraft(suggestion.jsonata, target, samples);
  assert.deepEqual(outputs[1], {
    customerNumber: "C-1002",
    givenName: "Ludwig",
    familyName: "van Beethoven",
    email: "ludwig@example.de",
    organisation: "Bonn Musik GmbH",
    billingAddress: {
      line1: "Bonngasse 20",
      city: "Bonn",
      region: "NRW",
      postalCode: "53111",
      countryCode: "DE",
    },
    customerSince: "2021-11-02",
    annualRevenue: 98000,
    marketingConsent: false,
    status: "lead",
    salesOrders: [],
  });
  assert.deepEqual((outputs[2] as any).salesOrders, [
    { orderNumber: "SO-7", quantity: 1, amount: 5 },
    { orderNumber: "SO-9", quantity: 3, amount: 12.5 },
  ]);
});

test("Avro shop order -> warehouse order: helpers join names and parse a one-line address", async () => {
  const target = fixture("warehouse-order.schema.json");
  const suggestion = suggestMapping(readSchema(fixture("shop-order.avsc")), readSchema(target), [
    {
      orderId: "A-1",
      customer: { firstName: "Ada", lastName: "Lovelace", mail: "ada@example.com" },
      shipTo: "Unter den Linden 77, 10117 Berlin, Germany",
      lines: [{ sku: "X", qty: 2, unitPrice: 9.5 }],
    },
  ]);
  const byTarget = new Map(suggestion.fields.map((field) => [field.target, field]));
  assert.equal(
    byTarget.get("recipient.name")?.expression,
    "$joinName(customer.firstName, customer.lastName)",
  );
  assert.deepEqual(byTarget.get("recipient.name")?.sources, ["customer.firstName", "customer.lastName"]);
  assert.equal(byTarget.get("address.postalCode")?.expression, "$parseAddress(shipTo).postalCode");
  assert.equal(byTarget.get("items.quantity")?.expression, "qty");
  assert.deepEqual(suggestion.unusedSources, []);
  const samples = [
    {
      orderId: "A-2",
      customer: { firstName: "Marie", lastName: "Curie", mail: null },
      shipTo: "55 Rue du Faubourg Saint-Honoré, 75008 Paris, France",
      lines: [{ sku: "Y", qty: 1, unitPrice: 3 }],
    },
  ];
  const [output] = await checkDraft(suggestion.jsonata, target, samples);
  assert.deepEqual(output, {
    reference: "A-2",
    recipient: { name: "Marie Curie" },
    address: { street: "55 Rue du Faubourg Saint-Honoré", postalCode: "75008", city: "Paris", country: "FR" },
    items: [{ sku: "Y", quantity: 1, price: 3 }],
  });
});

test("without samples the draft still compiles; unrelated schemas place nothing", () => {
  const draft = suggestMapping(
    readSchema(fixture("crm-contact.schema.json")),
    readSchema(fixture("erp-customer.schema.json")),
  );
  assert.doesNotThrow(() => jsonata(draft.jsonata));
  const none = suggestMapping(
    readSchema({ type: "object", properties: { temperature: { type: "number" } } }),
    readSchema({ type: "object", required: ["isbn"], properties: { isbn: { type: "string" } } }),
  );
  assert.deepEqual(none.fields, []);
  assert.deepEqual(none.unplaced, [{ target: "isbn", type: "string", required: true }]);
  assert.doesNotThrow(() => jsonata(none.jsonata));
  assert.deepEqual(none.unusedSources, ["temperature"]);
});

test("schemas that cannot be read are errors that say where", () => {
  assert.throws(() => readSchema("nope", "--from a.json"), /--from a.json is not a JSON object/);
  assert.throws(
    () => readSchema({ type: "object", properties: { a: { $ref: "other.json#/x" } } }),
    /only local \$ref .* at "a"/,
  );
  assert.throws(
    () => readSchema({ type: "object", properties: { a: { $ref: "#/$defs/missing" } } }),
    /points nowhere/,
  );
});

const fieldName = fc.oneof(
  fc.constantFrom(
    "id",
    "name",
    "zip",
    "postalCode",
    "first_name",
    "and",
    "in",
    "a b",
    "x*/y",
    "名前",
    "qty",
    "items",
  ),
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_ -]{0,8}$/),
);
const leaf = fc.record({
  type: fc.constantFrom("string", "number", "integer", "boolean"),
});
const schemaNode: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({ type: fc.constant("array"), items: fc.oneof(leaf, tie("object")) }),
    tie("object"),
  ),
  object: fc.record({
    type: fc.constant("object"),
    properties: fc.dictionary(fieldName, tie("node") as fc.Arbitrary<Record<string, unknown>>, {
      minKeys: 1,
      maxKeys: 4,
    }),
  }),
})).object;

/** A value of the schema's shape, arrays of one element (JSONata's singleton trap). */
function sampleOf(node: Record<string, any>, seed: number): unknown {
  if (node.type === "object")
    return Object.fromEntries(
      Object.entries(node.properties as Record<string, any>).map(([key, child], index) => [
        key,
        sampleOf(child, seed + index + 1),
      ]),
    );
  if (node.type === "array") return [sampleOf(node.items, seed + 1)];
  if (node.type === "string") return `v${seed}`;
  if (node.type === "boolean") return seed % 2 === 0;
  return seed;
}

test("any schema pair gives a draft that compiles; a schema mapped to itself is the identity (property)", async () => {
  await fc.assert(
    fc.asyncProperty(schemaNode, schemaNode, async (a, b) => {
      const sourceA = readSchema(a);
      const draft = suggestMapping(sourceA, readSchema(b), [sampleOf(a, 1)]);
      const compiled = registerMappingFunctions(jsonata(draft.jsonata));
      await compiled.evaluate(sampleOf(a, 1));
      const identity = suggestMapping(sourceA, sourceA, [sampleOf(a, 1)]);
      assert.deepEqual(identity.unplaced, []);
      // A fresh copy to compare with: JSONata marks arrays it reads with `[]` (keepSingleton).
      const output = await registerMappingFunctions(jsonata(identity.jsonata)).evaluate(sampleOf(a, 7));
      assert.deepEqual(JSON.parse(JSON.stringify(output)), sampleOf(a, 7), identity.jsonata);
    }),
    { numRuns: 150 },
  );
});

test("values seen in both the source and the target samples place a field whose name says nothing", () => {
  const source = readSchema({
    type: "object",
    properties: { tier: { type: "string" }, region: { type: "string" }, vip: { type: "boolean" } },
  });
  const target = readSchema({
    type: "object",
    properties: { loyaltyLevel: { type: "string" }, premium: { type: "boolean" } },
  });
  const samples = [
    { tier: "gold", region: "EMEA", vip: true },
    { tier: "silver", region: "APAC", vip: false },
  ];
  const without = suggestMapping(source, target, samples);
  assert.deepEqual(
    without.unplaced.map((field) => field.target),
    ["loyaltyLevel", "premium"],
  );
  const withTarget = suggestMapping(source, target, samples, {
    targetSamples: [
      { loyaltyLevel: "gold", premium: true },
      { loyaltyLevel: "bronze", premium: false },
      { loyaltyLevel: "silver" },
    ],
  });
  const level = withTarget.fields.find((field) => field.target === "loyaltyLevel");
  assert.equal(level?.expression, "tier");
  assert.equal(level?.confidence, 0.77);
  assert.match(level!.reasons.join(), /67% of the target's sample values appear/);
  // true/false are shared by every boolean: no evidence.
  assert.deepEqual(
    withTarget.unplaced.map((field) => field.target),
    ["premium"],
  );
});
