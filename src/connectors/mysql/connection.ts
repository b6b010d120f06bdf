import { createRequire } from "node:module";
import type * as mysql from "mysql2/promise";
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
import type { MysqlConnectionConfig } from "./config.js";

/** Errors no retry can fix, beyond SQLSTATE classes 21, 22, 23 and 42 (MySQL reports many as HY000). */
const PERMANENT_ERRNOS = new Set([
  1048, // column cannot be null
  1062, // duplicate entry
  1136, // column count does not match
  1210, // incorrect arguments
  1264, // out of range
  1265, // data truncated
  1292, // incorrect datetime/number value
  1364, // field has no default
  1365, // division by zero
  1366, // incorrect value for column
  1406, // data too long
  1451, // foreign key: row is referenced
  1452, // foreign key: parent row missing
  1644, // SIGNAL from a trigger or procedure
  3819, // MySQL check constraint
  4025, // MariaDB check constraint
]);
/** Retryable although their SQLSTATE class looks permanent, or that mean the setup is wrong. */
const RETRYABLE_ERRNOS = new Set([
  1044, // access denied to the database
  1045, // access denied (password)
  1049, // unknown database
  1698, // access denied (no password)
]);
const SETUP_ERRNOS = new Set([1044, 1045, 1049, 1054, 1064, 1142, 1143, 1146, 1698]);
const TIMEOUT_ERRNOS = new Set([1317, 1969, 3024]);

export const mysqlDialect: SqlDialect = {
  name: "mysql",
  quote: (identifier) => quoteQualified(identifier, "`"),
  placeholder: () => "?",
  reusesPlaceholders: false,
  upsertClause(columns, key) {
    const quote = mysqlDialect.quote;
    const updates = columns.filter((column) => !key.includes(column));
    // Every column is part of the key: nothing to change, but the duplicate must not fail.
    const set = updates.length > 0 ? updates : [key[0]];
    return `ON DUPLICATE KEY UPDATE ${set.map((column) => `${quote(column)} = VALUES(${quote(column)})`).join(", ")}`;
  },
  oneRowPerKey: false,
  maxParams: 65535,
  // Written out rather than as a row comparison, which MySQL/MariaDB do not turn into an index range.
  after: (watermark, key, next, w, k) =>
    `(${watermark} > ${next(w)} OR (${watermark} = ${next(w)} AND ${key} > ${next(k)}))`,
  isSetupError(error) {
    const errno = error.details?.errno;
    return typeof errno === "number" && SETUP_ERRNOS.has(errno);
  },
};

interface MysqlDriverError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
}

/** A driver error as a JunctionError: retryable or not, with errno and SQLSTATE in `details`. */
export function classifyMysql(error: unknown, connection: string): JunctionError {
  if (isJunctionError(error)) return error;
  const e = error as MysqlDriverError;
  const prefix = `mysql connection "${connection}"`;
  const message = e instanceof Error ? (e.sqlMessage ?? e.message) : String(error);
  if (e?.code === "PROTOCOL_SEQUENCE_TIMEOUT") {
    return new TimeoutError(`${prefix}: ${message}`, { code: "JUNCTION_MYSQL_TIMEOUT", cause: error });
  }
  if (typeof e?.errno !== "number" || e.errno < 1000 || !e.sqlState) {
    // No server error: the network, the pool, or the protocol.
    return new ConnectionError(`${prefix}: ${message}`, {
      code: "JUNCTION_MYSQL_UNREACHABLE",
      cause: error,
      ...(e?.code ? { details: { errno: e.code } } : {}),
    });
  }
  const details: Record<string, unknown> = { errno: e.errno, sqlstate: e.sqlState, name: e.code };
  const text = `${prefix}: ${message} (errno ${e.errno}, SQLSTATE ${e.sqlState})`;
  const options = { code: `JUNCTION_MYSQL_${e.errno}`, cause: error, details };
  if (TIMEOUT_ERRNOS.has(e.errno)) return new TimeoutError(text, { code: options.code, cause: error });
  if (!RETRYABLE_ERRNOS.has(e.errno)) {
    const sqlClass = e.sqlState.slice(0, 2);
    if (PERMANENT_ERRNOS.has(e.errno) || ["21", "22", "23", "42"].includes(sqlClass)) {
      return new DeliveryRejectedError(text, options);
    }
  }
  // Deadlock 1213, lock wait timeout 1205, too many connections 1040, shutdown 1053, read-only
  // 1290, killed connections, credentials and unknown database (may be fixed while we wait).
  return new ConnectionError(text, options);
}

// mysql2 loads when the first connection is created, not at import: a config without mysql never pays for it.
const require = createRequire(import.meta.url);
let library: typeof mysql | undefined;
const mysqlLibrary = (): typeof mysql => (library ??= require("mysql2/promise") as typeof mysql);

/** Timestamps as exact ISO strings (microseconds kept), dates as `YYYY-MM-DD`. */
const typeCast: mysql.TypeCast = (field, next) => {
  if (field.type === "DATETIME" || field.type === "TIMESTAMP") {
    const value = field.string();
    return value === null ? null : isoTime(value);
  }
  if (field.type === "DATE") return field.string();
  return next();
};

/** A pool of connections to one MySQL or MariaDB database, shared by every component that names it. */
export class MysqlConnection implements ConnectionInstance, SqlDatabase {
  readonly dialect = mysqlDialect;
  readonly name: string;
  readonly pool: mysql.Pool;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(config: MysqlConnectionConfig, context: ComponentContext) {
    this.name = context.owner;
    const prefix = `mysql connection "${this.name}"`;
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError(
        `${prefix}: url is not a valid URL (expected mysql://user:password@host:3306/database)`,
      );
    }
    if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") {
      throw new ConfigError(`${prefix}: url must start with mysql:// or mariadb://, not ${url.protocol}//`);
    }
    this.#timeoutMs = parseDuration(config.statementTimeout ?? "30s");
    this.pool = mysqlLibrary().createPool({
      uri: `mysql:${config.url.slice(url.protocol.length)}`,
      connectionLimit: config.poolSize ?? 10,
      connectTimeout: parseDuration(config.connectTimeout ?? "10s"),
      enableKeepAlive: true,
      timezone: "Z",
      supportBigNumbers: true,
      typeCast,
    });
    // Sessions speak UTC, so TIMESTAMP values read and written are the same instants everywhere.
    this.pool.on("connection", (connection) => {
      (connection as unknown as { query(sql: string, cb: (error: unknown) => void): void }).query(
        "SET time_zone = '+00:00'",
        () => {},
      );
    });
    this.ping().catch((error) => {
      if (!this.#closed) context.logger.error({ err: error }, (error as Error).message);
    });
  }

  async query(sql: string, params: unknown[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    try {
      const rows = await raceAbort(
        this.#execute(sql, params.map(bindable) as mysql.ExecuteValues[]),
        signal,
        `mysql connection "${this.name}": statement`,
      );
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    } catch (error) {
      throw classifyMysql(error, this.name);
    }
  }

  /**
   * One statement on a pooled connection, with our own time limit: past it the connection is
   * destroyed (a silent network would otherwise hold it for ever); the server notices the closed
   * connection on its own. mysql2's `timeout` option is not used: its timer outlives connections
   * that break mid-statement.
   */
  async #execute(sql: string, params: mysql.ExecuteValues[]): Promise<unknown> {
    const connection = await this.pool.getConnection();
    let timedOut = false;
    const timer =
      this.#timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            // Ending the socket is not enough (mysql2 would wait for the answer): break it, so the
            // statement fails now and the connection leaves the pool.
            const core = (connection as unknown as { connection: { stream: import("node:net").Socket } })
              .connection;
            core.stream.destroy(new Error(`no answer within ${this.#timeoutMs} ms`));
            connection.destroy();
          }, this.#timeoutMs)
        : undefined;
    timer?.unref();
    let broken = false;
    try {
      const [rows] = await connection.execute(sql, params);
      return rows;
    } catch (error) {
      broken = (error as { fatal?: boolean }).fatal === true;
      if (timedOut) {
        throw new TimeoutError(
          `mysql connection "${this.name}": no answer within ${this.#timeoutMs} ms; the connection was closed`,
          { code: "JUNCTION_MYSQL_TIMEOUT", cause: error },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      if (broken && !timedOut) connection.destroy();
      else if (!timedOut) connection.release();
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
