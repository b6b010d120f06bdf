import { setTimeout as sleep } from "node:timers/promises";
import type { Source, SourceContext } from "../../api/component.js";
import {
  BackpressureError,
  ConfigError,
  ConnectionError,
  isJunctionError,
  ShuttingDownError,
  toJunctionError,
} from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import type { SqlPollConfig } from "./sql-config.js";
import { namedPlaceholders, type SqlDatabase } from "./sql-database.js";

/** Where the source is: the (watermark, key) of the last row stored. */
export interface PollPosition {
  watermark: unknown;
  key: unknown;
}

export const WATERMARK_CHECKPOINT = "watermark";

/** Check a polling source's config beyond its schema; the message names the route. */
export function checkPollConfig(config: SqlPollConfig, connector: string, route: string): void {
  const where = `${connector} source in route "${route}"`;
  if (config.table && config.sql) throw new ConfigError(`${where}: give \`table\` or \`sql\`, not both`);
  if (!config.table && !config.sql) throw new ConfigError(`${where}: needs \`table\` or \`sql\` to poll`);
  if (!config.watermark)
    throw new ConfigError(`${where}: needs \`watermark\`, the column that grows on every write`);
  if (!config.key)
    throw new ConfigError(
      `${where}: needs \`key\`, a unique column that orders rows sharing a watermark (else a batch ending inside such a group would lose the rest)`,
    );
  if (config.sql) {
    if (config.where)
      throw new ConfigError(`${where}: \`where\` goes with \`table\`; put the condition in \`sql\``);
    for (const name of ["watermark", "key"]) {
      if (!new RegExp(`(?<![:\\w]):${name}\\b`).test(config.sql))
        throw new ConfigError(
          `${where}: \`sql\` must use the :${name} placeholder, e.g. WHERE (${config.watermark}, ${config.key}) > (:watermark, :key)`,
        );
    }
    if (!config.start)
      throw new ConfigError(
        `${where}: \`sql\` needs \`start: { watermark, key }\`, the position before the first row`,
      );
  }
}

/**
 * Incremental extraction: reads rows past the last (watermark, key) in that order, `batch` at a
 * time, and stores each batch's messages together with the new position in one commit, so a
 * restart resumes exactly after the last stored row (nothing lost, nothing repeated). A lost
 * connection is reported to the engine, which starts the source again with backoff.
 */
export class SqlPollingSource implements Source {
  #calls = 0;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly db: SqlDatabase,
    private readonly config: SqlPollConfig,
  ) {}

  async start(context: SourceContext): Promise<void> {
    const first = this.#calls++ === 0;
    const saved = context.checkpoint(WATERMARK_CHECKPOINT);
    let position: PollPosition | null = saved
      ? (JSON.parse(saved) as PollPosition)
      : this.config.start
        ? { ...this.config.start }
        : null;
    try {
      // A query that returns nothing, to check the table, the columns and the credentials now.
      await this.#fetch(position, 0, context.signal);
    } catch (thrown) {
      const error = toJunctionError(thrown);
      // Only the first start may fail the engine; later restarts keep retrying with backoff.
      if (first && this.db.dialect.isSetupError(error)) {
        throw new ConfigError(`route "${context.owner}": ${error.message}`, { cause: error });
      }
      throw error;
    }
    const abort = new AbortController();
    this.#abort = abort;
    const signal = AbortSignal.any([abort.signal, context.signal]);
    const batch = this.config.batch ?? 500;
    const intervalMs = parseDuration(this.config.interval ?? "5s");
    const wait = (ms: number) => sleep(ms, undefined, { signal }).catch(() => {});
    const subject = this.config.subject ?? this.config.table;
    const source = this.config.system ?? `${this.db.dialect.name}:${this.db.name}`;
    const type = `junction.${this.db.dialect.name}.row`;

    this.#loop = (async () => {
      while (!signal.aborted) {
        let rows: Record<string, unknown>[];
        try {
          rows = await this.#fetch(position, batch, signal);
        } catch (error) {
          if (!signal.aborted) context.lost(error);
          return;
        }
        if (signal.aborted) return;
        if (rows.length > 0) {
          const last = rows[rows.length - 1];
          const next = { watermark: last[this.config.watermark!], key: last[this.config.key!] };
          if (
            next.watermark === undefined ||
            next.watermark === null ||
            next.key === undefined ||
            next.key === null
          ) {
            context.lost(
              new ConfigError(
                `route "${context.owner}": polled rows must have non-null "${this.config.watermark}" and "${this.config.key}" columns`,
              ),
            );
            return;
          }
          const messages: MessageInit[] = rows.map((row) => ({
            source,
            type,
            ...(subject ? { subject } : {}),
            datacontenttype: "application/json",
            data: row,
          }));
          try {
            await context.emit(messages, {
              checkpoint: { key: WATERMARK_CHECKPOINT, value: JSON.stringify(next) },
            });
            position = next;
          } catch (error) {
            if (error instanceof ShuttingDownError || signal.aborted) return;
            if (error instanceof BackpressureError) {
              await wait(error.retryAfterMs ?? intervalMs);
              continue;
            }
            context.logger.warn({ err: error }, "could not store polled rows; polling again");
            await wait(intervalMs);
            continue;
          }
          if (rows.length === batch) continue; // more are waiting: no pause
        }
        await wait(intervalMs);
      }
    })();
  }

  /** The rows after `position`, in (watermark, key) order; `limit` 0 only checks the query. */
  async #fetch(
    position: PollPosition | null,
    limit: number,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const { dialect } = this.db;
    const watermark = dialect.quote(this.config.watermark!);
    const key = dialect.quote(this.config.key!);
    const params: unknown[] = [];
    let sql: string;
    if (this.config.sql) {
      const named = namedPlaceholders(
        this.config.sql.trim().replace(/;\s*$/, ""),
        ["watermark", "key"],
        dialect,
      );
      const values = position ?? { watermark: null, key: null };
      for (const name of named.order) params.push(name === "watermark" ? values.watermark : values.key);
      sql = `SELECT * FROM (${named.sql}) junction_poll ORDER BY ${watermark}, ${key} LIMIT ${limit}`;
    } else {
      const conditions: string[] = [];
      if (this.config.where) conditions.push(`(${this.config.where})`);
      if (position) {
        const next = (value: unknown) => {
          params.push(value);
          return dialect.placeholder(params.length);
        };
        conditions.push(dialect.after(watermark, key, next, position.watermark, position.key));
      }
      sql = `SELECT * FROM ${dialect.quote(this.config.table!)}${
        conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : ""
      } ORDER BY ${watermark}, ${key} LIMIT ${limit}`;
    }
    try {
      return await this.db.query(sql, params, signal);
    } catch (error) {
      if (isJunctionError(error)) throw error;
      throw new ConnectionError(`${dialect.name} "${this.db.name}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#abort = undefined;
    this.#loop = undefined;
  }
}
