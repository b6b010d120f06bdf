import { type JunctionError, TimeoutError } from "../../api/errors.js";

/**
 * What the SQL components (batched sink, request, polling source) need from one database
 * connection. Shared by the `postgres` and `mysql` connectors; each implements it with its own
 * driver, placeholders, quoting and error classification.
 */
export interface SqlDatabase {
  readonly dialect: SqlDialect;
  /** The connection's name under `connections:`, for messages. */
  readonly name: string;
  /** Run one parameterised statement; failures are classified JunctionErrors. */
  query(sql: string, params: unknown[], signal?: AbortSignal): Promise<Record<string, unknown>[]>;
  /** Connect once and run a trivial statement. */
  ping(signal?: AbortSignal): Promise<void>;
}

export interface SqlDialect {
  /** Connector name: `postgres` or `mysql`. */
  readonly name: string;
  /** Quote an identifier, `schema.table` parts each. */
  quote(identifier: string): string;
  /** The n-th (1-based) placeholder. Postgres may reuse numbers; MySQL cannot. */
  placeholder(index: number): string;
  readonly reusesPlaceholders: boolean;
  /** Suffix making a multi-row INSERT an upsert on `key`. */
  upsertClause(columns: string[], key: string[]): string;
  /** True when one statement may not touch the same key twice (Postgres ON CONFLICT). */
  readonly oneRowPerKey: boolean;
  /** Largest number of placeholders in one statement. */
  readonly maxParams: number;
  /** `(watermark, key) > (w, k)`, written the way this database optimises it. */
  after(watermark: string, key: string, next: (value: unknown) => string, w: unknown, k: unknown): string;
  /** The error says the configuration is wrong (credentials, database, table, column, syntax). */
  isSetupError(error: JunctionError): boolean;
}

/** Quote `a.b` as two identifiers with `quoteChar`, doubling the quote inside names. */
export function quoteQualified(identifier: string, quoteChar: string): string {
  return identifier
    .split(".")
    .map((part) => `${quoteChar}${part.split(quoteChar).join(quoteChar + quoteChar)}${quoteChar}`)
    .join(".");
}

const DB_TIME =
  /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

/**
 * A database timestamp as ISO 8601, keeping every digit (microseconds): `2026-11-24 16:50:15.192345+00`
 * becomes `2026-11-24T16:50:15.192345+00:00`. JavaScript dates stop at milliseconds, which would
 * make a watermark compare below the row it came from. Values it does not recognise stay as they are.
 */
export function isoTime(value: string): string {
  const match = DB_TIME.exec(value);
  if (!match) return value;
  const [, date, time, hours, minutes, seconds] = match;
  if (hours === undefined) return `${date}T${time}`;
  return `${date}T${time}${hours}:${minutes ?? "00"}${seconds ? `:${seconds}` : ""}`;
}

/** Reject with a retryable TimeoutError when the signal fires first. The statement itself runs on. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new TimeoutError(`${what} was abandoned: ${reason(signal)}`));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(new TimeoutError(`${what} was abandoned: ${reason(signal)}`));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function reason(signal: AbortSignal): string {
  const value = signal.reason as { message?: string } | undefined;
  return value?.message ?? String(value ?? "aborted");
}

/**
 * A value as a statement parameter: undefined becomes NULL; objects and arrays become JSON text
 * (for json/jsonb columns); dates, buffers and scalars stay as they are.
 */
export function bindable(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || value instanceof Date || Buffer.isBuffer(value)) return value;
  return JSON.stringify(value);
}

/**
 * Replace `:name` placeholders (not `::casts`, not inside quotes) with the dialect's own,
 * returning the statement and the names in parameter order.
 */
export function namedPlaceholders(
  sql: string,
  names: readonly string[],
  dialect: SqlDialect,
): { sql: string; order: string[] } {
  const order: string[] = [];
  const numbers = new Map<string, number>();
  const pattern = new RegExp(
    `'(?:[^']|'')*'|"(?:[^"]|"")*"|\`[^\`]*\`|(?<![:\\w]):(${names.join("|")})\\b`,
    "g",
  );
  const out = sql.replace(pattern, (whole, name: string | undefined) => {
    if (!name) return whole;
    if (dialect.reusesPlaceholders) {
      let number = numbers.get(name);
      if (number === undefined) {
        order.push(name);
        number = order.length;
        numbers.set(name, number);
      }
      return dialect.placeholder(number);
    }
    order.push(name);
    return dialect.placeholder(order.length);
  });
  return { sql: out, order };
}
