import { type Static, Type } from "typebox";
import { Duration, Secret } from "../../config/schema-types.js";
import {
  type SqlFlavour,
  type SqlPollConfig,
  sqlPollProperties,
  sqlRequestSchema,
  sqlSinkSchema,
} from "../sql/sql-config.js";

export const postgresFlavour: SqlFlavour = {
  name: "postgres",
  label: "PostgreSQL",
  placeholders: "`$1`, `$2`...",
  exampleUpdate: "UPDATE stock SET qty = qty - $1 WHERE sku = $2",
  exampleSelect: "SELECT id, name, tier FROM customers WHERE id = $1",
  examplePoll:
    "SELECT o.id, o.updated_at, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE (o.updated_at, o.id) > (:watermark, :key)",
};

export const PostgresConnectionSchema = Type.Object(
  {
    url: Secret({
      description:
        "Connection URL: `postgres://user:password@host:5432/database`. Query parameters such as `?sslmode=require` are honoured. Keep the password in the environment: `${PG_URL}`.",
      examples: ["postgres://postgres@127.0.0.1:5432/test", "${DATABASE_URL}"],
    }),
    poolSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 10,
        description: "Largest number of open connections in the pool (LISTEN sources open one more each).",
      }),
    ),
    statementTimeout: Type.Optional(
      Duration({
        description:
          "Longest a statement may run (PostgreSQL `statement_timeout`, plus a client-side guard 5 s later for a silent network); a timed-out statement is retried. `0s` turns it off.",
        default: "30s",
      }),
    ),
    connectTimeout: Type.Optional(
      Duration({
        description: "Longest wait to open a connection or to get one from a busy pool.",
        default: "10s",
      }),
    ),
    applicationName: Type.Optional(
      Type.String({
        description: "`application_name` of the sessions, as seen in `pg_stat_activity`.",
        default: "junction",
      }),
    ),
  },
  { additionalProperties: false },
);
export type PostgresConnectionConfig = Static<typeof PostgresConnectionSchema>;

export const PostgresSinkSchema = sqlSinkSchema(postgresFlavour);
export const PostgresRequestSchema = sqlRequestSchema(postgresFlavour);

export const PostgresSourceSchema = Type.Object(
  {
    ...sqlPollProperties(postgresFlavour),
    listen: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 63 }), {
        minItems: 1,
        description:
          "LISTEN on these channels instead of polling: every NOTIFY becomes a message with the channel as subject. Names are used exactly as written (quoted): `NOTIFY Orders` (unquoted) is heard on `orders`. Excludes `table` and `sql`.",
        examples: [["orders_changed"]],
      }),
    ),
    payload: Type.Optional(
      Type.Union([Type.Literal("auto"), Type.Literal("json"), Type.Literal("text")], {
        default: "auto",
        description:
          "With `listen`: how a NOTIFY payload becomes the data. auto: a JSON object or array is decoded, anything else stays a string. json: must be JSON (else a dead letter). text: always the string.",
      }),
    ),
    heartbeat: Type.Optional(
      Duration({
        description:
          "With `listen`: how often the listening connection is checked with `SELECT 1`, so a silently dead network is noticed and the source restarted.",
        default: "30s",
      }),
    ),
  },
  { additionalProperties: false },
);

export type PostgresSourceConfig = SqlPollConfig & {
  listen?: string[];
  payload?: "auto" | "json" | "text";
  heartbeat?: string;
};
