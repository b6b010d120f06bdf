import type { ComponentContext, Requester, Sink, Source } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { ConfigError } from "../../api/errors.js";
import type { SqlRequestConfig, SqlSinkConfig } from "../sql/sql-config.js";
import { checkPollConfig, SqlPollingSource } from "../sql/sql-poll.js";
import { SqlRequester } from "../sql/sql-request.js";
import { checkSinkConfig, SqlSink } from "../sql/sql-sink.js";
import {
  type MysqlConnectionConfig,
  MysqlConnectionSchema,
  MysqlRequestSchema,
  MysqlSinkSchema,
  type MysqlSourceConfig,
  MysqlSourceSchema,
} from "./config.js";
import { MysqlConnection } from "./connection.js";

function connectionOf(name: string, context: ComponentContext, what: string): MysqlConnection {
  const connection = context.connection(name);
  if (!(connection instanceof MysqlConnection)) {
    throw new ConfigError(
      `${what} in route "${context.owner}": connection "${name}" is not a mysql connection`,
    );
  }
  return connection;
}

export const mysqlConnector = defineConnector({
  name: "mysql",
  summary:
    "MySQL and MariaDB: batched inserts and idempotent upserts, lookups for enrich, incremental polling by watermark.",
  description:
    "Built on mysql2 with one pool per connection and server-side prepared statements: every value is a parameter and every identifier is quoted. The sink groups rows written at the same time into one multi-row INSERT (`key` makes it an upsert, `ON DUPLICATE KEY UPDATE`, so redelivered messages do not duplicate rows); a raw `sql` statement with `params` runs once per message. Connection failures, deadlocks (1213), lock wait timeouts (1205) and statement timeouts are retryable; constraint violations (1062 duplicate, 1452 foreign key, 1048 NULL, check constraints), bad values (1366, 1406, 1292) and unknown tables or columns (1146, 1054) are permanent and the message becomes a dead letter with its errno and SQLSTATE in the error details. The request component answers a query's rows (`single: true`: the first row or null). The source polls a table or query incrementally by (watermark, key), checkpointing the last row read in the same commit as its messages, every `interval` or on a cron `schedule` (time zone aware, runs never overlap), or takes a full snapshot each run (`mode: snapshot`, keyset pages by key); every extraction is a run whose messages carry `junction-run-id` and `junction-run-seq`, the last one `junction-run-complete`. Sessions use UTC (`time_zone = '+00:00'`); DATETIME and TIMESTAMP values come out as ISO 8601 strings with every digit kept.",
  examples: [
    {
      title: "Idempotent upsert of orders",
      yaml: 'to:\n  - mysql:\n      connection: db\n      table: orders\n      columns: { id: "$message.id", sku: sku, qty: quantity, correlation_id: "$message.correlationId" }\n      key: [id]',
    },
    {
      title: "Look up the customer",
      yaml: 'enrich:\n  with: { mysql: { connection: db, sql: "SELECT name, tier FROM customers WHERE id = ?", params: [customerId], single: true } }\n  into: customer',
    },
    {
      title: "Extract changed rows every 10 seconds",
      yaml: "from:\n  mysql: { connection: db, table: orders, watermark: updated_at, key: id, interval: 10s }",
    },
    {
      title: "Extract changed rows every 5 minutes, Paris time",
      yaml: 'from:\n  mysql:\n    connection: db\n    table: orders\n    watermark: updated_at\n    key: id\n    schedule: { cron: "0 */5 * * * *", timezone: Europe/Paris }',
    },
    {
      title: "Nightly full snapshot",
      yaml: 'from:\n  mysql: { connection: db, table: products, key: id, mode: snapshot, schedule: { cron: "0 30 2 * * *", timezone: Europe/Paris } }',
    },
  ],
  connection: {
    schema: MysqlConnectionSchema,
    create: (config: MysqlConnectionConfig, context) => new MysqlConnection(config, context),
  },
  sink: {
    schema: MysqlSinkSchema,
    create(config: SqlSinkConfig, context): Sink {
      checkSinkConfig(config, "mysql", context.owner);
      return new SqlSink(connectionOf(config.connection, context, "mysql sink"), config, context);
    },
  },
  request: {
    schema: MysqlRequestSchema,
    create(config: SqlRequestConfig, context): Requester {
      return new SqlRequester(connectionOf(config.connection, context, "mysql request"), config, context);
    },
  },
  source: {
    schema: MysqlSourceSchema,
    create(config: MysqlSourceConfig, context): Source {
      checkPollConfig(config, "mysql", context.owner);
      return new SqlPollingSource(connectionOf(config.connection, context, "mysql source"), config);
    },
  },
});
