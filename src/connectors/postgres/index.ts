import type { ComponentContext, Requester, Sink, Source } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { ConfigError } from "../../api/errors.js";
import type { SqlRequestConfig, SqlSinkConfig } from "../sql/sql-config.js";
import { checkPollConfig, SqlPollingSource } from "../sql/sql-poll.js";
import { SqlRequester } from "../sql/sql-request.js";
import { checkSinkConfig, SqlSink } from "../sql/sql-sink.js";
import {
  type PostgresConnectionConfig,
  PostgresConnectionSchema,
  PostgresRequestSchema,
  PostgresSinkSchema,
  type PostgresSourceConfig,
  PostgresSourceSchema,
} from "./config.js";
import { PostgresConnection } from "./connection.js";
import { ListenSource } from "./listen.js";

function connectionOf(name: string, context: ComponentContext, what: string): PostgresConnection {
  const connection = context.connection(name);
  if (!(connection instanceof PostgresConnection)) {
    throw new ConfigError(
      `${what} in route "${context.owner}": connection "${name}" is not a postgres connection`,
    );
  }
  return connection;
}

export const postgresConnector = defineConnector({
  name: "postgres",
  summary:
    "PostgreSQL: batched inserts and idempotent upserts, lookups for enrich, incremental polling by watermark, LISTEN/NOTIFY.",
  description:
    "Built on node-postgres (`pg`) with one pool per connection. Every value is sent as a statement parameter and every identifier is quoted. The sink groups rows written at the same time into one multi-row INSERT (`key` makes it an upsert, `ON CONFLICT ... DO UPDATE`, so redelivered messages do not duplicate rows); a raw `sql` statement with `params` runs once per message. Connection failures, deadlocks (40P01), serialization failures (40001), lock and statement timeouts are retryable; constraint violations (class 23), bad values (22) and unknown tables or columns (42) are permanent and the message becomes a dead letter with its SQLSTATE in the error details. The request component answers a query's rows (`single: true`: the first row or null). The source either polls a table or query incrementally by (watermark, key), checkpointing the last row read in the same commit as its messages, every `interval` or on a cron `schedule` (time zone aware, runs never overlap), or takes a full snapshot each run (`mode: snapshot`, keyset pages by key); every extraction is a run whose messages carry `junction-run-id` and `junction-run-seq`, the last one `junction-run-complete`, or LISTENs on channels (NOTIFY is at-most-once while the listener is disconnected; payloads are at most 8000 bytes). Timestamps come out as ISO 8601 strings with every digit kept; bigint and numeric as strings.",
  examples: [
    {
      title: "Idempotent upsert of orders",
      yaml: 'to:\n  - postgres:\n      connection: db\n      table: orders\n      columns: { id: "$message.id", sku: sku, qty: quantity, correlation_id: "$message.correlationId" }\n      key: [id]',
    },
    {
      title: "Look up the customer",
      yaml: 'enrich:\n  with: { postgres: { connection: db, sql: "SELECT name, tier FROM customers WHERE id = $1", params: [customerId], single: true } }\n  into: customer',
    },
    {
      title: "Extract changed rows every 10 seconds",
      yaml: "from:\n  postgres: { connection: db, table: orders, watermark: updated_at, key: id, interval: 10s }",
    },
    {
      title: "Extract changed rows every 5 minutes, Paris time",
      yaml: 'from:\n  postgres:\n    connection: db\n    table: orders\n    watermark: updated_at\n    key: id\n    schedule: { cron: "0 */5 * * * *", timezone: Europe/Paris }',
    },
    {
      title: "Nightly full snapshot",
      yaml: 'from:\n  postgres: { connection: db, table: products, key: id, mode: snapshot, schedule: { cron: "0 30 2 * * *", timezone: Europe/Paris } }',
    },
    {
      title: "LISTEN for notifications",
      yaml: "from:\n  postgres: { connection: db, listen: [orders_changed] }",
    },
  ],
  connection: {
    schema: PostgresConnectionSchema,
    create: (config: PostgresConnectionConfig, context) => new PostgresConnection(config, context),
  },
  sink: {
    schema: PostgresSinkSchema,
    create(config: SqlSinkConfig, context): Sink {
      checkSinkConfig(config, "postgres", context.owner);
      return new SqlSink(connectionOf(config.connection, context, "postgres sink"), config, context);
    },
  },
  request: {
    schema: PostgresRequestSchema,
    create(config: SqlRequestConfig, context): Requester {
      return new SqlRequester(connectionOf(config.connection, context, "postgres request"), config, context);
    },
  },
  source: {
    schema: PostgresSourceSchema,
    create(config: PostgresSourceConfig, context): Source {
      const connection = connectionOf(config.connection, context, "postgres source");
      if (config.listen) {
        const extra = (["table", "sql", "watermark", "key", "where", "start"] as const).filter(
          (field) => config[field] !== undefined,
        );
        if (extra.length > 0) {
          throw new ConfigError(
            `postgres source in route "${context.owner}": \`listen\` excludes polling settings (${extra.join(", ")})`,
          );
        }
        return new ListenSource(connection, config);
      }
      checkPollConfig(config, "postgres", context.owner);
      return new SqlPollingSource(connection, config);
    },
  },
});
