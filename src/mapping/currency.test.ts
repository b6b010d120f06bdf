import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { convertCurrency, fromMinorUnits, minorUnits, roundMoney, toMinorUnits } from "./currency.js";

test("ISO 4217 minor units", () => {
  assert.deepEqual(
    ["EUR", "usd", "JPY", "KRW", "KWD", "BHD", "CLF", "GBP"].map(minorUnits),
    [2, 2, 0, 0, 3, 3, 4, 2],
  );
  assert.throws(() => minorUnits("XYZ"), /unknown currency "XYZ"/);
});

test("roundMoney rounds half to even at the currency's minor unit", () => {
  const cases: Array<[string | number, string, string]> = [
    ["2.345", "EUR", "2.34"],
    ["2.355", "EUR", "2.36"],
    ["2.3451", "EUR", "2.35"],
    ["-2.345", "EUR", "-2.34"],
    ["-2.355", "EUR", "-2.36"],
    [0.1 + 0.2, "USD", "0.30"],
    ["1234.5", "JPY", "1234"],
    ["1235.5", "JPY", "1236"],
    ["1.2345", "KWD", "1.234"],
    ["7", "EUR", "7.00"],
    [".5", "EUR", "0.50"],
    ["99999999999999999999.995", "EUR", "100000000000000000000.00"],
  ];
  for (const [amount, code, expected] of cases) assert.equal(roundMoney(amount, code), expected, `${amount}`);
  assert.throws(() => roundMoney("12,34", "EUR"), /amount "12,34" is not a decimal amount/);
});

test("minor units: strings and integers, no float error", () => {
  assert.equal(toMinorUnits("12.34", "EUR"), 1234);
  assert.equal(toMinorUnits(19.99, "USD"), 1999); // 19.99 * 100 is 1998.9999999999998 in floats
  assert.equal(toMinorUnits("1000", "JPY"), 1000);
  assert.equal(toMinorUnits("1.5", "KWD"), 1500);
  assert.equal(fromMinorUnits(1234, "EUR"), "12.34");
  assert.equal(fromMinorUnits(5, "EUR"), "0.05");
  assert.equal(fromMinorUnits(-5, "KWD"), "-0.005");
  assert.equal(fromMinorUnits(1234, "JPY"), "1234");
  assert.throws(() => fromMinorUnits(12.5, "EUR"), /must be an integer/);
  assert.throws(() => toMinorUnits("1e30", "EUR"), /not a decimal amount/);
  assert.throws(() => toMinorUnits("100000000000000000", "EUR"), /too large/);
  fc.assert(
    fc.property(fc.integer({ min: -1e12, max: 1e12 }), (minor) => {
      assert.equal(toMinorUnits(fromMinorUnits(minor, "EUR"), "EUR"), minor);
    }),
  );
});

test("convertCurrency with given rates, exact and rounded half-even", () => {
  const rates = { EUR: 1, USD: "1.0862", JPY: 162.5, GBP: "0.8571" };
  assert.equal(convertCurrency("100", "EUR", "USD", rates), "108.62");
  assert.equal(convertCurrency("100", "USD", "JPY", rates), "14960"); // 14960.41...
  assert.equal(convertCurrency("100", "USD", "EUR", rates), "92.06");
  assert.equal(convertCurrency("10.00", "GBP", "USD", rates), "12.67"); // 12.6730...
  assert.equal(convertCurrency(0.1, "EUR", "EUR", rates), "0.10");
  // The base may be left out of the rates when named.
  assert.equal(convertCurrency("100", "USD", "EUR", { USD: "1.0862" }, "EUR"), "92.06");
  // Half-even at the boundary: 0.125 EUR at rate 1 -> 0.12, 0.135 -> 0.14.
  assert.equal(convertCurrency("0.125", "USD", "EUR", { USD: 1, EUR: 1 }), "0.12");
  assert.equal(convertCurrency("0.135", "USD", "EUR", { USD: 1, EUR: 1 }), "0.14");
  assert.throws(() => convertCurrency("1", "EUR", "CHF", rates), /no rate for CHF/);
  assert.throws(() => convertCurrency("1", "EUR", "USD", { EUR: 1, USD: 0 }), /must be positive/);
});
