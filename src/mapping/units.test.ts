import assert from "node:assert/strict";
import { test } from "node:test";
import { convertUnit } from "./units.js";

test("convertUnit: length, mass, volume, temperature and time, without float noise", () => {
  const cases: Array<[number | string, string, string, number]> = [
    [1, "ft", "in", 12],
    [12, "in", "cm", 30.48],
    [1, "mi", "km", 1.609344],
    [1852, "m", "nmi", 1],
    [2.5, "lbs", "kg", 1.133980925],
    [1, "kg", "lb", 2.20462262184878],
    [16, "oz", "lb", 1],
    [1, "st", "lb", 14],
    [1, "gal", "l", 3.785411784],
    [1, "gal", "qt", 4],
    [1, "impgal", "l", 4.54609],
    [1, "m³", "l", 1000],
    [100, "C", "F", 212],
    [-40, "°F", "celsius", -40],
    [0, "K", "C", -273.15],
    [32, "Fahrenheit", "C", 0],
    [90, "min", "h", 1.5],
    [1, "wk", "s", 604800],
    ["0.3", "m", "mm", 300],
    [0.1 + 0.2, "m", "m", 0.3],
  ];
  for (const [value, from, to, expected] of cases)
    assert.equal(convertUnit(value, from, to), expected, `${value} ${from} -> ${to}`);
});

test("convertUnit names the problem: unknown unit, other dimension, not a number", () => {
  assert.throws(() => convertUnit(1, "kg", "m"), /cannot convert mass \(kg\) to length \(m\)/);
  assert.throws(() => convertUnit(1, "furlong", "m"), /unknown unit "furlong"/);
  assert.throws(() => convertUnit("", "m", "cm"), /is not a number/);
  assert.throws(() => convertUnit("12 m", "m", "cm"), /is not a number/);
});
