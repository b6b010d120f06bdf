const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const DATE = 1082;
const BYTEA = 17;

const DB_TIME =
  /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

/** PostgreSQL's text timestamp as ISO 8601 with every digit kept (as the postgres connector does). */
export function isoTime(value: string): string {
  const match = DB_TIME.exec(value);
  if (!match) return value;
  const [, date, time, hours, minutes, seconds] = match;
  if (hours === undefined) return `${date}T${time}`;
  return `${date}T${time}${hours}:${minutes ?? "00"}${seconds ? `:${seconds}` : ""}`;
}

/**
 * The text-format parser for a column type in the change stream: timestamps as exact ISO strings,
 * dates as `YYYY-MM-DD`, bytea as its `\x...` hex text; bigint and numeric stay strings and json is
 * parsed, as node-postgres does.
 */
export function columnParser(
  typeOid: number,
  fallback: (oid: number, format: "text") => (text: string) => unknown,
): (text: string) => unknown {
  if (typeOid === TIMESTAMP || typeOid === TIMESTAMPTZ) return isoTime;
  if (typeOid === DATE || typeOid === BYTEA) return (text) => text;
  return fallback(typeOid, "text");
}

/** Microseconds since 1970 (pgoutput's commit time) as an ISO string with microseconds. */
export function isoMicros(micros: bigint): string {
  const millis = micros / 1000n;
  const base = new Date(Number(millis)).toISOString(); // ...SS.mmmZ
  const extra = (micros % 1000n).toString().padStart(3, "0");
  return `${base.slice(0, -1)}${extra}Z`;
}

/** An LSN (`16/B374D848`) as a number, to compare positions. */
export function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** The LSN as PostgreSQL prints it (no zero padding). */
export function lsnText(lsn: string): string {
  const [high, low] = lsn.split("/");
  return `${BigInt(`0x${high}`).toString(16).toUpperCase()}/${BigInt(`0x${low}`).toString(16).toUpperCase()}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
