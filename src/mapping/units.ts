import { MappingError } from "../api/errors.js";

/**
 * Unit conversion for length, mass, volume, temperature and time. Factors are exact definitions
 * (1 in = 0.0254 m, 1 lb = 0.45359237 kg, US liquid gallon = 3.785411784 l); results are rounded to
 * 15 significant digits so that 1 ft in inches is 12, not 12.000000000000002.
 */
type Dimension = "length" | "mass" | "volume" | "temperature" | "time";

interface Unit {
  dimension: Dimension;
  /** Value in the dimension's base unit (m, kg, l, K, s) = value * factor + offset. */
  factor: number;
  offset?: number;
}

const UNITS: Record<string, Unit> = {};
function define(dimension: Dimension, names: string, factor: number, offset?: number): void {
  for (const name of names.split(" ")) UNITS[name] = { dimension, factor, offset };
}
define("length", "mm millimetre millimeter millimetres millimeters", 0.001);
define("length", "cm centimetre centimeter centimetres centimeters", 0.01);
define("length", "m metre meter metres meters", 1);
define("length", "km kilometre kilometer kilometres kilometers", 1000);
define("length", "in inch inches", 0.0254);
define("length", "ft foot feet", 0.3048);
define("length", "yd yard yards", 0.9144);
define("length", "mi mile miles", 1609.344);
define("length", "nmi nauticalmile", 1852);
define("mass", "mg milligram milligrams", 1e-6);
define("mass", "g gram grams", 0.001);
define("mass", "kg kilogram kilograms kilo kilos", 1);
define("mass", "t tonne tonnes", 1000);
define("mass", "oz ounce ounces", 0.028349523125);
define("mass", "lb lbs pound pounds", 0.45359237);
define("mass", "st stone stones", 6.35029318);
define("volume", "ml millilitre milliliter millilitres milliliters", 0.001);
define("volume", "cl centilitre centiliter", 0.01);
define("volume", "dl decilitre deciliter", 0.1);
define("volume", "l litre liter litres liters", 1);
define("volume", "m3 cubicmetre cubicmeter", 1000);
define("volume", "tsp teaspoon", 0.00492892159375);
define("volume", "tbsp tablespoon", 0.01478676478125);
define("volume", "floz fluidounce", 0.0295735295625);
define("volume", "cup cups", 0.2365882365);
define("volume", "pt pint pints", 0.473176473);
define("volume", "qt quart quarts", 0.946352946);
define("volume", "gal gallon gallons", 3.785411784);
define("volume", "impgal imperialgallon", 4.54609);
define("temperature", "k kelvin", 1);
define("temperature", "c °c celsius", 1, 273.15);
define("temperature", "f °f fahrenheit", 5 / 9, 273.15 - (32 * 5) / 9);
define("time", "ms millisecond milliseconds", 0.001);
define("time", "s sec second seconds", 1);
define("time", "min minute minutes", 60);
define("time", "h hr hour hours", 3600);
define("time", "d day days", 86400);
define("time", "wk week weeks", 604800);

function unit(name: string): Unit {
  const key =
    typeof name === "string"
      ? name
          .toLowerCase()
          .replace(/[\s_.-]/g, "")
          .replace("³", "3")
      : "";
  const found = UNITS[key] ?? (key.endsWith("s") ? UNITS[key.slice(0, -1)] : undefined);
  if (!found) throw new MappingError(`unknown unit "${name}"`, { code: "JUNCTION_MAPPING_UNIT" });
  return found;
}

/** Convert `value` between units of the same dimension: convertUnit(12, "in", "cm") is 30.48. */
export function convertUnit(value: number | string, from: string, to: string): number {
  const number = typeof value === "string" ? Number(value.trim()) : value;
  if (
    typeof number !== "number" ||
    !Number.isFinite(number) ||
    (typeof value === "string" && value.trim() === "")
  )
    throw new MappingError(`"${value}" is not a number`, { code: "JUNCTION_MAPPING_UNIT" });
  const source = unit(from);
  const target = unit(to);
  if (source.dimension !== target.dimension)
    throw new MappingError(`cannot convert ${source.dimension} (${from}) to ${target.dimension} (${to})`, {
      code: "JUNCTION_MAPPING_UNIT",
    });
  const base = number * source.factor + (source.offset ?? 0);
  const result = (base - (target.offset ?? 0)) / target.factor;
  return Number(result.toPrecision(15)) + 0; // + 0 turns -0 into 0
}

/** The dimension of a unit name, or undefined. */
export function unitDimension(name: string): Dimension | undefined {
  try {
    return unit(name).dimension;
  } catch {
    return undefined;
  }
}
