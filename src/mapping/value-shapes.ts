import { normaliseCountry } from "./countries.js";
import { splitName } from "./names.js";

/** What sample values look like, for map-suggest: the evidence behind a guess. */
export type Shape =
  | "email"
  | "date"
  | "date-time"
  | "local-date"
  | "number-text"
  | "number"
  | "integer"
  | "boolean"
  | "boolean-text"
  | "phone"
  | "country-code"
  | "country-name"
  | "person-name"
  | "address"
  | "text"
  | "object"
  | "array";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const LOCAL_DATE = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const PHONE = /^\+?[\d\s().-]{7,20}$/;

/** The shape of one value, most specific first. */
export function shapeOf(value: unknown): Shape | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  const text = String(value).trim();
  if (text === "") return undefined;
  if (EMAIL.test(text)) return "email";
  if (ISO_DATE.test(text)) return "date";
  if (ISO_DATE_TIME.test(text)) return "date-time";
  if (LOCAL_DATE.test(text)) return "local-date";
  if (NUMBER_TEXT.test(text)) return "number-text";
  if (/^(true|false|yes|no)$/i.test(text)) return "boolean-text";
  if (PHONE.test(text) && /\d{3}/.test(text)) return "phone";
  if (/^[A-Z]{2}$/.test(text) && normaliseCountry(text)) return "country-code";
  if (normaliseCountry(text)) return "country-name";
  if (/\d/.test(text) && /,|\n/.test(text) && text.length > 10) return "address";
  const name = splitName(text);
  if (
    /^[\p{Lu}][\p{L}'.-]*(?:,? [\p{L}'.-]+){1,4}$/u.test(text) &&
    name.given &&
    name.family &&
    !/\d/.test(text)
  )
    return "person-name";
  return "text";
}

/** The shape most sample values share (ties go to the first seen), and how many agreed. */
export function dominantShape(values: unknown[]): { shape?: Shape; share: number } {
  const counts = new Map<Shape, number>();
  let total = 0;
  for (const value of values) {
    const shape = shapeOf(value);
    if (!shape) continue;
    total++;
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  let best: Shape | undefined;
  for (const [shape, count] of counts) if (!best || count > counts.get(best)!) best = shape;
  return { shape: best, share: best ? counts.get(best)! / total : 0 };
}

/**
 * The format of local dates ("03/15/2023"): day-first when a first part is above 12, month-first when
 * a second part is; otherwise month-first, flagged as a guess.
 */
export function localDateFormat(values: unknown[]): { format: string; guessed: boolean } | undefined {
  let dayFirst = false;
  let monthFirst = false;
  let separator = "/";
  let seen = false;
  for (const value of values) {
    const match = typeof value === "string" ? LOCAL_DATE.exec(value.trim()) : null;
    if (!match) continue;
    seen = true;
    separator = match[2];
    if (Number(match[1]) > 12) dayFirst = true;
    if (Number(match[3]) > 12) monthFirst = true;
  }
  if (!seen || (dayFirst && monthFirst)) return undefined;
  const parts = dayFirst ? ["DD", "MM"] : ["MM", "DD"];
  const padded = values.every((value) => typeof value !== "string" || /^\d{2}\D\d{2}\D/.test(value.trim()));
  const format = padded
    ? `${parts[0]}${separator}${parts[1]}${separator}YYYY`
    : `${parts[0][0]}${separator}${parts[1][0]}${separator}YYYY`;
  return { format, guessed: !dayFirst && !monthFirst };
}
