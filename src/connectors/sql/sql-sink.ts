import type { ComponentContext, Sink } from "../../api/component.js";
import { ConfigError, type JunctionError, toJunctionError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import type { SqlSinkConfig } from "./sql-config.js";
import { bindable, raceAbort, type SqlDatabase } from "./sql-database.js";

interface PendingRow {
  values: unknown[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Check a sink's config beyond its schema; the message names the route. */
export function checkSinkConfig(config: SqlSinkConfig, connector: string, route: string): void {
  const where = `${connector} sink in route "${route}"`;
  if (config.table && config.sql) throw new ConfigError(`${where}: give \`table\` or \`sql\`, not both`);
  if (!config.table && !config.sql)
    throw new ConfigError(`${where}: needs \`table\` (with \`columns\`) or \`sql\` (with \`params\`)`);
  if (config.table) {
    const columns = Object.keys(config.columns ?? {});
    if (columns.length === 0)
      throw new ConfigError(`${where}: \`table\` needs \`columns\` (column: expression)`);
    if (config.params)
      throw new ConfigError(`${where}: \`params\` goes with \`sql\`; with \`table\` use \`columns\``);
    for (const column of config.key ?? []) {
      if (!columns.includes(column))
        throw new ConfigError(
          `${where}: key column "${column}" is not among \`columns\` (${columns.join(", ")})`,
        );
    }
  } else {
    if (config.columns || config.key)
      throw new ConfigError(
        `${where}: \`columns\` and \`key\` go with \`table\`; with \`sql\` use \`params\``,
      );
    if (config.batch)
      throw new ConfigError(`${where}: \`batch\` applies to \`table\` inserts, not to \`sql\``);
  }
}

/**
 * Writes messages as rows. With `table`, rows written at the same time are grouped into one
 * multi-row INSERT (or upsert) of up to `batch.rows` rows, sent once the first row waited
 * `batch.window`; each write resolves when its statement committed. At most `batch.parallel`
 * statements are in flight: rows arriving meanwhile wait for the next one, so batches grow with
 * the load (group commit). A batch is one statement, hence one transaction: all its rows or none.
 * When a statement is refused for good (a constraint, a bad value), its rows are retried one by
 * one so that only the bad ones fail, each with the database's reason (and so become dead
 * letters); a retryable failure fails every row of the batch, to be retried by the route's policy.
 * With `sql`, each message runs the statement once.
 */
export class SqlSink implements Sink {
  readonly #columns: string[];
  readonly #expressions: string[];
  readonly #maxRows: number;
  readonly #windowMs: number;
  readonly #parallel: number;
  #inFlight = 0;
  #pending: PendingRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly config: SqlSinkConfig,
    private readonly context: ComponentContext,
  ) {
    this.#columns = Object.keys(config.columns ?? {});
    this.#expressions = Object.values(config.columns ?? {});
    const perStatement = Math.max(1, Math.floor(db.dialect.maxParams / Math.max(1, this.#columns.length)));
    this.#maxRows = Math.min(config.batch?.rows ?? 100, perStatement);
    this.#windowMs = parseDuration(config.batch?.window ?? "5ms");
    // Without batching every write is its own statement, as many at once as the pool allows.
    this.#parallel = this.#maxRows === 1 ? Number.POSITIVE_INFINITY : (config.batch?.parallel ?? 2);
  }

  async write(message: Message, signal: AbortSignal): Promise<void> {
    if (this.config.sql) {
      const values = await this.#evaluate(this.config.params ?? [], message);
      await this.db.query(this.config.sql, values, signal);
      return;
    }
    const values = await this.#evaluate(this.#expressions, message);
    const written = new Promise<void>((resolve, reject) => {
      this.#pending.push({ values, resolve, reject });
    });
    if (this.#pending.length >= this.#maxRows) this.#flush();
    else if (!this.#timer && this.#inFlight < this.#parallel) {
      this.#timer = setTimeout(() => this.#flush(), this.#windowMs);
    }
    await raceAbort(written, signal, `${this.db.dialect.name} insert into ${this.config.table}`);
  }

  async #evaluate(expressions: string[], message: Message): Promise<unknown[]> {
    return Promise.all(
      expressions.map(async (expression) =>
        bindable(await this.context.evaluate(expression, message.data, message)),
      ),
    );
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0 && this.#inFlight < this.#parallel) {
      const rows = this.#pending.splice(0, this.#maxRows);
      this.#inFlight++;
      const task = this.#writeRows(rows).finally(() => {
        this.#inFlight--;
        this.#running.delete(task);
        // Rows that arrived during the statement have waited long enough.
        if (this.#pending.length > 0) this.#flush();
      });
      this.#running.add(task);
    }
  }

  /**
   * One statement per batch, so a batch is applied whole or not at all. Postgres refuses an upsert
   * touching one key twice, so repeats of a key collapse into their last row (what consecutive
   * upserts would leave) and the earlier writes share its outcome.
   */
  async #writeRows(rows: PendingRow[]): Promise<void> {
    if (!this.config.key) return this.#writeGroup(rows);
    // Upserts lock their keys in row order: one order for every statement makes deadlocks between
    // concurrent batches rare (the sort is stable, so repeats of a key keep their order).
    const keyIndexes = this.config.key.map((column) => this.#columns.indexOf(column));
    const keyOf = (row: PendingRow) => JSON.stringify(keyIndexes.map((index) => row.values[index]));
    const sorted = rows
      .map((row) => ({ row, key: keyOf(row) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (!this.db.dialect.oneRowPerKey) return this.#writeGroup(sorted.map((entry) => entry.row));
    const byKey = new Map<string, PendingRow[]>();
    for (const { row, key } of sorted) byKey.set(key, [...(byKey.get(key) ?? []), row]);
    const collapsed = [...byKey.values()].map((same): PendingRow => {
      if (same.length === 1) return same[0];
      return {
        values: same[same.length - 1].values,
        resolve: () => {
          for (const row of same) row.resolve();
        },
        reject: (error) => {
          for (const row of same) row.reject(error);
        },
      };
    });
    return this.#writeGroup(collapsed);
  }

  async #writeGroup(rows: PendingRow[]): Promise<void> {
    try {
      await this.db.query(
        this.#statement(rows.length),
        rows.flatMap((row) => row.values),
      );
      for (const row of rows) row.resolve();
      return;
    } catch (thrown) {
      const error = toJunctionError(thrown);
      // Retryable, or about the statement rather than a row (unknown table or column): all share it.
      if (error.retryable || rows.length === 1 || this.db.dialect.isSetupError(error)) {
        for (const row of rows) row.reject(error);
        return;
      }
    }
    // One row spoiled the statement: find which, and let the others through.
    for (const row of rows) {
      try {
        await this.db.query(this.#statement(1), row.values);
        row.resolve();
      } catch (error) {
        row.reject(error as JunctionError);
      }
    }
  }

  #statement(rowCount: number): string {
    const { dialect } = this.db;
    const columns = this.#columns.map((column) => dialect.quote(column)).join(", ");
    const tuples: string[] = [];
    let index = 0;
    for (let row = 0; row < rowCount; row++) {
      const placeholders = this.#columns.map(() => dialect.placeholder(++index));
      tuples.push(`(${placeholders.join(", ")})`);
    }
    const upsert = this.config.key ? ` ${dialect.upsertClause(this.#columns, this.config.key)}` : "";
    return `INSERT INTO ${dialect.quote(this.config.table!)} (${columns}) VALUES ${tuples.join(", ")}${upsert}`;
  }

  async close(): Promise<void> {
    this.#flush();
    await Promise.allSettled([...this.#running]);
  }
}
