import { createRequire } from "node:module";
import type * as pg from "pg";
import type { ComponentContext, ConnectionInstance } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  isJunctionError,
  type JunctionError,
  TimeoutError,
} from "../../api/errors.js";
import { parseDuration } from "../../config/schema-types.js";
import {
  bindable,
  isoTime,
  quoteQualified,
  raceAbort,
  type SqlDatabase,
  type SqlDialect,
} from "../sql/sql-database.js";
import type { PostgresConnectionConfig } from "./config.js";

/** SQLSTATE classes that no retry can fix: data, constraints, syntax and names, features. */
const PERMANENT_CLASSES = new Set(["0A", "21", "22", "23", "27", "2F", "38", "39", "3F", "42", "44", "P0"]);
/** SQLSTATEs (or classes) that mean the configuration is wrong: credentials, database, schema, names. */
const SETUP_CLASSES = new Set(["28", "3D", "3F", "42"]);

// pg loads when the first connection is created, not at import: a config without postgres never pays for it.
const require = createRequire(import.meta.url);
let library: typeof pg | undefined;
const pgLibrary = (): typeof pg => (library ??= require("pg") as typeof pg);

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const DATE = 1082;

/**
 * Timestamps as exact ISO strings (microseconds kept, so a watermark compares equal to its row),
 * dates as `YYYY-MM-DD` (no shift through a local midnight). Everything else as pg parses it:
 * bigint and numeric as strings, json as values.
 */
const exactTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === TIMESTAMP || oid === TIMESTAMPTZ) return (value: string) => isoTime(value);
    if (oid === DATE) return (value: string) => value;
    return pgLibrary().types.getTypeParser(oid, format as "text");
  }) as pg.CustomTypesConfig["getTypeParser"],
};

export const postgresDialect: SqlDialect = {
  name: "postgres",
  quote: (identifier) => quoteQualified(identifier, '"'),
  placeholder: (index) => `$${index}`,
  reusesPlaceholders: true,
  upsertClause(columns, key) {
    const quote = postgresDialect.quote;
    const updates = columns.filter((column) => !key.includes(column));
    const target = key.map(quote).join(", ");
    if (updates.length === 0) return `ON CONFLICT (${target}) DO NOTHING`;
    return `ON CONFLICT (${target}) DO UPDATE SET ${updates
      .map((column) => `${quote(column)} = EXCLUDED.${quote(column)}`)
      .join(", ")}`;
  },
  oneRowPerKey: true,
  maxParams: 65535,
  after: (watermark, key, next, w, k) => `(${watermark}, ${key}) > (${next(w)}, ${next(k)})`,
  isSetupError(error) {
    const sqlstate = error.details?.sqlstate;
    return typeof sqlstate === "string" && SETUP_CLASSES.has(sqlstate.slice(0, 2));
  },
};

/** A driver error as a JunctionError: retryable or not, with the SQLSTATE and names in `details`. */
export function classifyPostgres(error: unknown, connection: string): JunctionError {
  if (isJunctionError(error)) return error;
  const e = error as pg.DatabaseError & { code?: string };
  const prefix = `postgres connection "${connection}"`;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(error);
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) {
    // No SQLSTATE: the network, the pool, or a client-side timeout.
    return new ConnectionError(`${prefix}: ${message}`, {
      code: "JUNCTION_POSTGRES_UNREACHABLE",
      cause: error,
      ...(code ? { details: { errno: code } } : {}),
    });
  }
  const details: Record<string, unknown> = { sqlstate: code };
  for (const field of ["constraint", "table", "column", "schema", "dataType", "detail"] as const) {
    if (e[field]) details[field] = e[field];
  }
  const text = `${prefix}: ${message} (SQLSTATE ${code})`;
  const options = { code: `JUNCTION_POSTGRES_${code}`, cause: error, details };
  if (code === "57014") {
    return new TimeoutError(text, { code: options.code, cause: error, retryable: true });
  }
  if (PERMANENT_CLASSES.has(code.slice(0, 2))) return new DeliveryRejectedError(text, options);
  // 08 connection, 40 deadlock/serialization, 53 resources, 55P03 lock timeout, 57 shutdown,
  // 58 system, 25006 read-only standby, 28/3D credentials or database (may be fixed while we wait).
  return new ConnectionError(text, options);
}

/** A pool of connections to one PostgreSQL database, shared by every component that names it. */
export class PostgresConnection implements ConnectionInstance, SqlDatabase {
  readonly dialect = postgresDialect;
  readonly name: string;
  readonly pool: pg.Pool;
  /** Settings for a dedicated client (LISTEN keeps one connection of its own). */
  readonly clientConfig: pg.ClientConfig;
  #closed = false;

  constructor(config: PostgresConnectionConfig, context: ComponentContext) {
    this.name = context.owner;
    const prefix = `postgres connection "${this.name}"`;
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError(
        `${prefix}: url is not a valid URL (expected postgres://user:password@host:5432/database)`,
      );
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      throw new ConfigError(
        `${prefix}: url must start with postgres:// or postgresql://, not ${url.protocol}//`,
      );
    }
    const statementTimeout = parseDuration(config.statementTimeout ?? "30s");
    this.clientConfig = {
      connectionString: config.url,
      application_name: config.applicationName ?? "junction",
      connectionTimeoutMillis: parseDuration(config.connectTimeout ?? "10s"),
      keepAlive: true,
      types: exactTypes,
      ...(statementTimeout > 0
        ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + 5_000 }
        : {}),
    };
    this.pool = new (pgLibrary().Pool)({
      ...this.clientConfig,
      max: config.poolSize ?? 10,
      idleTimeoutMillis: 30_000,
    });
    // An idle pooled connection that breaks is dropped by the pool; without a listener it would crash us.
    this.pool.on("error", (error) =>
      context.logger.warn({ err: classifyPostgres(error, this.name) }, `${prefix}: idle connection lost`),
    );
    this.ping().catch((error) => {
      if (!this.#closed) context.logger.error({ err: error }, (error as Error).message);
    });
  }

  async query(sql: string, params: unknown[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    try {
      const result = await raceAbort(
        this.pool.query({ text: sql, values: params.map(bindable) }),
        signal,
        `postgres connection "${this.name}": statement`,
      );
      return result.rows;
    } catch (error) {
      throw classifyPostgres(error, this.name);
    }
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await this.query("SELECT 1", [], signal);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.pool.end();
  }
}
