import { MappingError } from "../api/errors.js";

/**
 * Money without floating point: amounts are decimal strings ("12.34") or integer minor units (1234
 * cents), arithmetic is on BigInt, and rounding is half-even (banker's rounding) to the currency's
 * ISO 4217 minor unit. Conversion uses the rates it is given; nothing is fetched.
 */

/** ISO 4217 currencies whose minor unit is not 2 digits. */
const MINOR_UNITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

let known: Set<string> | undefined;

function fail(message: string): never {
  throw new MappingError(message, { code: "JUNCTION_MAPPING_CURRENCY" });
}

function currency(code: string): string {
  const upper = typeof code === "string" ? code.trim().toUpperCase() : "";
  known ??= new Set([...Intl.supportedValuesOf("currency"), ...Object.keys(MINOR_UNITS)]);
  if (!known.has(upper)) fail(`unknown currency "${code}": use an ISO 4217 code such as "EUR"`);
  return upper;
}

/** Digits after the decimal point for an ISO 4217 code: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorUnits(code: string): number {
  return MINOR_UNITS[currency(code)] ?? 2;
}

interface Decimal {
  digits: bigint;
  scale: number;
}

function decimal(value: unknown, what: string): Decimal {
  const text = typeof value === "number" ? numberText(value) : typeof value === "string" ? value.trim() : "";
  const match = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === "" && !match[3])) fail(`${what} "${String(value)}" is not a decimal amount`);
  const fraction = match[3] ?? "";
  const digits = BigInt((match[2] || "0") + fraction);
  return { digits: match[1] === "-" ? -digits : digits, scale: fraction.length };
}

function numberText(value: number): string {
  if (!Number.isFinite(value)) fail(`${value} is not an amount`);
  // Shortest round-trip text, without exponent: 0.1 is "0.1", not 0.1000000000000000055...
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(20).replace(/0+$/, "") : text;
}

/** n / d rounded half to even. */
function divide(n: bigint, d: bigint): bigint {
  if (d < 0n) return divide(-n, -d);
  const quotient = n / d;
  const remainder = n - quotient * d;
  if (remainder === 0n) return quotient;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  const away = remainder < 0n ? quotient - 1n : quotient + 1n;
  if (twice > d) return away;
  if (twice < d) return quotient;
  return quotient % 2n === 0n ? quotient : away;
}

function rescale(value: Decimal, scale: number): bigint {
  return scale >= value.scale
    ? value.digits * 10n ** BigInt(scale - value.scale)
    : divide(value.digits, 10n ** BigInt(value.scale - scale));
}

function format(minor: bigint, digits: number): string {
  const negative = minor < 0n;
  const text = (negative ? -minor : minor).toString().padStart(digits + 1, "0");
  const whole = digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return negative ? `-${whole}` : whole;
}

/** Round an amount to the currency's minor unit, half-even: roundMoney("2.345", "EUR") is "2.34". */
export function roundMoney(amount: string | number, code: string): string {
  const digits = minorUnits(code);
  return format(rescale(decimal(amount, "amount"), digits), digits);
}

/** "12.34" EUR -> 1234. Throws beyond Number.MAX_SAFE_INTEGER rather than lose cents. */
export function toMinorUnits(amount: string | number, code: string): number {
  const minor = rescale(decimal(amount, "amount"), minorUnits(code));
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER))
    fail(`amount ${amount} ${code} is too large for integer minor units`);
  return Number(minor);
}

/** 1234 EUR cents -> "12.34"; 1234 JPY -> "1234". */
export function fromMinorUnits(minor: number | string, code: string): string {
  const value = decimal(minor, "minor units");
  if (value.scale !== 0) fail(`minor units must be an integer, got ${minor}`);
  return format(value.digits, minorUnits(code));
}

/**
 * Rates as units of each currency per one unit of a common base, as central banks publish them:
 * `{ "EUR": 1, "USD": "1.0862", "JPY": 162.5 }`. A pair rate works too: `{ "USD": "1.0862" }` with
 * `from` = the base, or the base itself listed with 1.
 */
export type Rates = Record<string, string | number>;

/**
 * Convert an amount with the given rates, rounded half-even to the target's minor unit:
 * amount * rates[to] / rates[from], computed exactly. A currency missing from the rates is an error
 * (the base may be omitted and counts as 1 only when `base` names it).
 */
export function convertCurrency(
  amount: string | number,
  from: string,
  to: string,
  rates: Rates,
  base?: string,
): string {
  const source = currency(from);
  const target = currency(to);
  const digits = minorUnits(target);
  const value = decimal(amount, "amount");
  if (source === target) return format(rescale(value, digits), digits);
  if (!rates || typeof rates !== "object") fail("rates must be an object of currency code to rate");
  const rate = (code: string): Decimal => {
    const found = Object.entries(rates).find(([key]) => key.toUpperCase() === code)?.[1];
    if (found === undefined) {
      if (base && currency(base) === code) return { digits: 1n, scale: 0 };
      fail(`no rate for ${code}`);
    }
    const parsed = decimal(found, `rate for ${code}`);
    if (parsed.digits <= 0n) fail(`rate for ${code} must be positive`);
    return parsed;
  };
  const toRate = rate(target);
  const fromRate = rate(source);
  // result * 10^digits = A * T * 10^(sf + digits) / (F * 10^(sa + st))
  const numerator = value.digits * toRate.digits * 10n ** BigInt(fromRate.scale + digits);
  const denominator = fromRate.digits * 10n ** BigInt(value.scale + toRate.scale);
  return format(divide(numerator, denominator), digits);
}
