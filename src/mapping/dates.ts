import { MappingError } from "../api/errors.js";

/**
 * Dates and time zones with Intl only (IANA names from Node's ICU). Date-only values are calendar
 * days and are never shifted by a zone. Local times that fall in a DST gap or overlap are resolved by
 * an explicit policy: "compatible" (the default, as Temporal and RFC 5545: a gap moves forward, an
 * overlap takes the earlier instant), "earlier", "later" or "reject".
 */
export type DstPolicy = "compatible" | "earlier" | "later" | "reject";

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

function fail(message: string): never {
  throw new MappingError(message, { code: "JUNCTION_MAPPING_DATE" });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function checkZone(timeZone: string): string {
  try {
    return zoneFormatter(timeZone).resolvedOptions().timeZone;
  } catch {
    return fail(`unknown time zone "${timeZone}": use an IANA name such as "Europe/Paris"`);
  }
}

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC in minutes at an instant. */
export function zoneOffset(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of zoneFormatter(timeZone).formatToParts(new Date(epochMs)))
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000))) / 60_000);
}

function wallMs(wall: Wall): number {
  const ms = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  );
  return wall.year < 100 ? new Date(ms).setUTCFullYear(wall.year) : ms;
}

/** The instant of a wall-clock time in a zone, with the DST policy for gaps and overlaps. */
function instantOf(wall: Wall, timeZone: string, policy: DstPolicy): number {
  const local = wallMs(wall);
  const before = zoneOffset(local - 86_400_000, timeZone);
  const after = zoneOffset(local + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => local - offset * 60_000)
    .filter((instant) => instant + zoneOffset(instant, timeZone) * 60_000 === local)
    .sort((a, b) => a - b);
  const text = `${isoWall(wall)} in ${timeZone}`;
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) {
    // A gap (clocks jump forward): "later" reads the time with the offset before the jump.
    if (policy === "reject") fail(`${text} does not exist (daylight-saving gap)`);
    return policy === "earlier" ? local - after * 60_000 : local - before * 60_000;
  }
  if (policy === "reject") fail(`${text} is ambiguous (daylight-saving overlap)`);
  return policy === "later" ? candidates[candidates.length - 1] : candidates[0];
}

function pad(value: number, width = 2): string {
  const text = String(Math.abs(value)).padStart(width, "0");
  return value < 0 ? `-${text}` : text;
}

function isoDate(wall: Pick<Wall, "year" | "month" | "day">): string {
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`;
}

function isoWall(wall: Wall): string {
  const ms = wall.millisecond ? `.${pad(wall.millisecond, 3)}` : "";
  return `${isoDate(wall)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}${ms}`;
}

function isoOffset(minutes: number): string {
  if (minutes === 0) return "Z";
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant written in a zone: "2024-07-01T14:00:00+02:00". */
function isoInZone(epochMs: number, timeZone: string): string {
  const offset = zoneOffset(epochMs, timeZone);
  const shifted = new Date(epochMs + offset * 60_000);
  const wall: Wall = {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    second: shifted.getUTCSeconds(),
    millisecond: shifted.getUTCMilliseconds(),
  };
  return isoWall(wall) + isoOffset(offset);
}

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !leap(year) ? 1 : 0);
}
function leap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const TOKENS = /YYYY|YY|MMMM|MMM|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|\[[^\]]*\]/g;

const TOKEN_PATTERNS: Record<string, string> = {
  YYYY: "(\\d{4})",
  YY: "(\\d{2})",
  MMMM: "(\\p{L}+)",
  MMM: "(\\p{L}{3,4})\\.?",
  MM: "(\\d{2})",
  M: "(\\d{1,2})",
  DD: "(\\d{2})",
  D: "(\\d{1,2})",
  HH: "(\\d{2})",
  H: "(\\d{1,2})",
  hh: "(\\d{2})",
  h: "(\\d{1,2})",
  mm: "(\\d{2})",
  m: "(\\d{1,2})",
  ss: "(\\d{2})",
  s: "(\\d{1,2})",
  SSS: "(\\d{3})",
  A: "([AaPp][Mm])",
  a: "([AaPp][Mm])",
  Z: "(Z|[+-]\\d{2}:?\\d{2})",
  ZZ: "(Z|[+-]\\d{2}:?\\d{2})",
};

export interface ParseDateOptions {
  dst?: DstPolicy;
  /** Two-digit years below this become 20xx, others 19xx (default 70: "69" is 2069, "70" is 1970). */
  pivotYear?: number;
}

/**
 * Parse `text` with an explicit format (YYYY MM DD HH hh mm ss SSS A Z, MMM/MMMM for English month
 * names, `[literal]`). A format without time tokens gives a date ("2024-03-01"), never shifted. With
 * a time, the result is an ISO 8601 instant written in `timeZone` (UTC when omitted); an offset in the
 * text wins over the zone.
 */
export function parseDate(
  text: string,
  format: string,
  timeZone?: string,
  options: ParseDateOptions = {},
): string {
  if (typeof text !== "string") fail(`date must be a string, got ${text === null ? "null" : typeof text}`);
  // The pattern is built from the format: bound the input so no format can make matching slow.
  if (text.length > 100) fail(`date text is ${text.length} characters long: not a date`);
  const tokens: string[] = [];
  let pattern = "";
  let lastIndex = 0;
  for (const match of format.matchAll(TOKENS)) {
    pattern += escapeRegExp(format.slice(lastIndex, match.index));
    lastIndex = match.index + match[0].length;
    if (match[0].startsWith("[")) pattern += escapeRegExp(match[0].slice(1, -1));
    else {
      tokens.push(match[0]);
      pattern += TOKEN_PATTERNS[match[0]];
    }
  }
  pattern += escapeRegExp(format.slice(lastIndex));
  const match = new RegExp(`^${pattern}$`, "u").exec(text.trim());
  if (!match) fail(`"${text}" does not match the date format "${format}"`);
  const wall: Wall = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 };
  let pm: boolean | undefined;
  let offset: number | undefined;
  tokens.forEach((token, index) => {
    const value = match[index + 1];
    const number = Number(value);
    if (token === "YYYY") wall.year = number;
    else if (token === "YY") wall.year = number + (number < (options.pivotYear ?? 70) ? 2000 : 1900);
    else if (token === "MMMM" || token === "MMM") {
      const month = MONTHS.findIndex((name) => name.startsWith(value.toLowerCase().slice(0, 3)));
      if (month < 0 || (token === "MMMM" && MONTHS[month] !== value.toLowerCase()))
        fail(`"${value}" is not an English month name`);
      wall.month = month + 1;
    } else if (token === "MM" || token === "M") wall.month = number;
    else if (token === "DD" || token === "D") wall.day = number;
    else if (token === "HH" || token === "H" || token === "hh" || token === "h") wall.hour = number;
    else if (token === "mm" || token === "m") wall.minute = number;
    else if (token === "ss" || token === "s") wall.second = number;
    else if (token === "SSS") wall.millisecond = number;
    else if (token === "A" || token === "a") pm = value.toLowerCase() === "pm";
    else if (token === "Z" || token === "ZZ") offset = parseOffset(value);
  });
  if (pm !== undefined) {
    if (wall.hour < 1 || wall.hour > 12) fail(`hour ${wall.hour} is not a 12-hour clock hour in "${text}"`);
    wall.hour = (wall.hour % 12) + (pm ? 12 : 0);
  }
  if (!validDay(wall.year, wall.month, wall.day)) fail(`"${text}" is not a calendar date`);
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) fail(`"${text}" is not a time of day`);
  const hasTime = tokens.some((token) => /^[Hhms]/.test(token));
  if (!hasTime) return isoDate(wall);
  const zone = timeZone ? checkZone(timeZone) : "UTC";
  if (offset !== undefined) {
    const instant = wallMs(wall) - offset * 60_000;
    return timeZone ? isoInZone(instant, zone) : isoWall(wall) + isoOffset(offset);
  }
  return isoInZone(instantOf(wall, zone, options.dst ?? "compatible"), zone);
}

function parseOffset(value: string): number {
  if (value === "Z") return 0;
  const digits = value.replace(":", "");
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return value.startsWith("-") ? -minutes : minutes;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Express an ISO 8601 value in another zone: "2024-07-01T12:00:00Z" in "Europe/Paris" is
 * "2024-07-01T14:00:00+02:00". A date without time comes back unchanged (a calendar day has no
 * zone). A local date-time without offset needs `fromZone`; otherwise it is an error, not a guess.
 */
export function toTimeZone(
  iso: string,
  timeZone: string,
  fromZone?: string,
  dst: DstPolicy = "compatible",
): string {
  const match = typeof iso === "string" ? ISO.exec(iso.trim()) : null;
  if (!match) fail(`"${iso}" is not an ISO 8601 date or date-time`);
  const zone = checkZone(timeZone);
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  if (!validDay(Number(year), Number(month), Number(day))) fail(`"${iso}" is not a calendar date`);
  if (hour === undefined) return `${year}-${month}-${day}`;
  const wall: Wall = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
    millisecond: Number((fraction ?? "0").padEnd(3, "0").slice(0, 3)),
  };
  let instant: number;
  if (offset !== undefined) instant = wallMs(wall) - parseOffset(offset.toUpperCase()) * 60_000;
  else if (fromZone) instant = instantOf(wall, checkZone(fromZone), dst);
  else return fail(`"${iso}" has no offset: give the zone it was written in`);
  return isoInZone(instant, zone);
}

/** The calendar date of an instant in a zone ("2024-07-01"): a date, not an instant. */
export function dateInZone(iso: string, timeZone: string): string {
  return toTimeZone(iso, timeZone).slice(0, 10);
}

/**
 * Write an ISO 8601 value with a format (the tokens of `parseDate`): `formatDate("2024-07-01T12:00:00Z",
 * "DD.MM.YYYY HH:mm", "Europe/Berlin")` is "01.07.2024 14:00". With a zone, a date-time is first
 * expressed in it; without, it is written as it is. A date has no time to write: time tokens on a
 * date are an error, as is `Z` on a date-time without offset.
 */
export function formatDate(iso: string, format: string, timeZone?: string): string {
  const match = typeof iso === "string" ? ISO.exec(iso.trim()) : null;
  if (!match) fail(`"${iso}" is not an ISO 8601 date or date-time`);
  const source = timeZone && match[4] !== undefined ? ISO.exec(toTimeZone(iso, timeZone))! : match;
  const [, year, month, day, hour, minute, second, fraction, offset] = source;
  if (!validDay(Number(year), Number(month), Number(day))) fail(`"${iso}" is not a calendar date`);
  const hours = Number(hour ?? 0);
  const offsetMinutes = offset === undefined ? undefined : parseOffset(offset.toUpperCase());
  const values: Record<string, () => string> = {
    YYYY: () => year,
    YY: () => year.slice(-2),
    MMMM: () => capitalise(MONTHS[Number(month) - 1]),
    MMM: () => capitalise(MONTHS[Number(month) - 1].slice(0, 3)),
    MM: () => month,
    M: () => String(Number(month)),
    DD: () => day,
    D: () => String(Number(day)),
    HH: () => hour!,
    H: () => String(hours),
    hh: () => pad(((hours + 11) % 12) + 1),
    h: () => String(((hours + 11) % 12) + 1),
    mm: () => minute!,
    m: () => String(Number(minute)),
    ss: () => second ?? "00",
    s: () => String(Number(second ?? 0)),
    SSS: () => (fraction ?? "0").padEnd(3, "0").slice(0, 3),
    A: () => (hours < 12 ? "AM" : "PM"),
    a: () => (hours < 12 ? "am" : "pm"),
    Z: () => isoOffset(offsetMinutes!),
    ZZ: () => isoOffset(offsetMinutes!).replace(":", ""),
  };
  return format.replace(TOKENS, (token) => {
    if (token.startsWith("[")) return token.slice(1, -1);
    if (hour === undefined && /^[HhmsSAa]/.test(token))
      fail(`"${iso}" is a date: it has no ${token} to write`);
    if (token.startsWith("Z") && offsetMinutes === undefined)
      fail(`"${iso}" has no offset to write: give a zone`);
    return values[token]();
  });
}

function capitalise(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}
