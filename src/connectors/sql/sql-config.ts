import { type TProperties, Type } from "typebox";
import { Duration, Expression } from "../../config/schema-types.js";

/**
 * Schema pieces shared by the `postgres` and `mysql` connectors. Each connector passes its own
 * label and placeholder examples so that the generated reference reads right for it.
 */
export interface SqlFlavour {
  /** Connector key: `postgres` or `mysql`. */
  name: string;
  /** What users call it: PostgreSQL, MySQL/MariaDB. */
  label: string;
  /** Placeholders in raw SQL: `$1, $2` or `?`. */
  placeholders: string;
  exampleUpdate: string;
  exampleSelect: string;
  examplePoll: string;
}

export interface SqlSinkConfig {
  connection: string;
  table?: string;
  columns?: Record<string, string>;
  key?: string[];
  sql?: string;
  params?: string[];
  batch?: { rows?: number; window?: string; parallel?: number };
}

export interface SqlRequestConfig {
  connection: string;
  sql: string;
  params?: string[];
  single?: boolean;
}

export interface SqlPollConfig {
  connection: string;
  table?: string;
  sql?: string;
  where?: string;
  watermark?: string;
  key?: string;
  start?: { watermark: string | number; key: string | number };
  interval?: string;
  schedule?: { cron: string; timezone?: string };
  mode?: "incremental" | "snapshot";
  batch?: number;
  subject?: string;
  system?: string;
}

const connection = (flavour: SqlFlavour) =>
  Type.String({
    minLength: 1,
    description: `A connection declared under \`connections:\` with \`${flavour.name}\`.`,
    examples: ["db"],
  });

const params = (flavour: SqlFlavour) =>
  Type.Array(Expression({ description: "One parameter value." }), {
    description: `JSONata expressions on the message data (\`$message\` bound), bound in order to the ${flavour.placeholders} placeholders of \`sql\`. Values are always sent as parameters, never spliced into the SQL text.`,
    examples: [["quantity", "sku"]],
  });

export function sqlSinkSchema(flavour: SqlFlavour) {
  return Type.Object(
    {
      connection: connection(flavour),
      table: Type.Optional(
        Type.String({
          minLength: 1,
          description:
            "Table to insert into (`schema.table` allowed; each part is quoted). Needs `columns`. Excludes `sql`.",
          examples: ["orders", "sales.orders"],
        }),
      ),
      columns: Type.Optional(
        Type.Record(Type.String({ minLength: 1 }), Expression({ description: "Value of the column." }), {
          description:
            "Column name → JSONata expression evaluated on the message data with the envelope bound as `$message` (`$message.id`, `$message.correlationId`, `$message.subject`...). A missing value is NULL.",
          examples: [
            { id: "$message.id", sku: "sku", qty: "quantity", correlation_id: "$message.correlationId" },
          ],
        }),
      ),
      key: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          description:
            flavour.name === "postgres"
              ? "Makes the insert an upsert: `ON CONFLICT (key) DO UPDATE` sets the other columns, so a redelivered message updates its row instead of adding one. Must name a primary key or unique constraint, and be among `columns`."
              : "Makes the insert an upsert: `ON DUPLICATE KEY UPDATE` sets the other columns, so a redelivered message updates its row instead of adding one. Must name the primary key or a unique index, and be among `columns`.",
          examples: [["id"]],
        }),
      ),
      sql: Type.Optional(
        Type.String({
          minLength: 1,
          description: `A statement of your own, run once per message with ${flavour.placeholders} placeholders bound from \`params\`. Excludes \`table\`. Not batched.`,
          examples: [flavour.exampleUpdate],
        }),
      ),
      params: Type.Optional(params(flavour)),
      batch: Type.Optional(
        Type.Object(
          {
            rows: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 1000,
                default: 100,
                description:
                  "Largest number of rows in one multi-row statement; 1 turns batching off (every write is its own statement, as many at once as the pool allows).",
              }),
            ),
            window: Type.Optional(
              Duration({
                description:
                  "How long the first row of a batch waits for others (writes in flight at the same time: raise the route's `concurrency` to fill batches).",
                default: "5ms",
              }),
            ),
            parallel: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 100,
                default: 2,
                description:
                  "Largest number of this sink's statements in flight; rows arriving meanwhile wait and go together in the next one, so batches grow with the load.",
              }),
            ),
          },
          {
            additionalProperties: false,
            description:
              "Rows written at the same time are grouped into one statement; each message is confirmed when its statement committed.",
          },
        ),
      ),
    },
    { additionalProperties: false },
  );
}

export function sqlRequestSchema(flavour: SqlFlavour) {
  return Type.Object(
    {
      connection: connection(flavour),
      sql: Type.String({
        minLength: 1,
        description: `The query, with ${flavour.placeholders} placeholders bound from \`params\`.`,
        examples: [flavour.exampleSelect],
      }),
      params: Type.Optional(params(flavour)),
      single: Type.Optional(
        Type.Boolean({
          default: false,
          description: "Answer the first row (or null when there is none) instead of the array of rows.",
        }),
      ),
    },
    { additionalProperties: false },
  );
}

/** The polling (incremental extraction) properties; postgres adds its LISTEN ones. */
export function sqlPollProperties(flavour: SqlFlavour) {
  return {
    connection: connection(flavour),
    table: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Poll this table for rows past the watermark (`schema.table` allowed). Excludes `sql`. Messages get the table name as subject.",
        examples: ["orders"],
      }),
    ),
    where: Type.Optional(
      Type.String({
        minLength: 1,
        description: "With `table`: an extra SQL condition (trusted configuration, not message data).",
        examples: ["status <> 'draft'"],
      }),
    ),
    sql: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "A query of your own instead of `table`: it must filter with the `:watermark` and `:key` placeholders, e.g. `WHERE (updated_at, id) > (:watermark, :key)`, and return the `watermark` and `key` columns. Junction wraps it to order by (watermark, key) and limit it to `batch` rows. Needs `start`.",
        examples: [flavour.examplePoll],
      }),
    ),
    watermark: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Column that grows with every insert or update (a timestamp set on write, a sequence). Rows are read in (watermark, key) order; the last one read is checkpointed with the messages it produced.",
        examples: ["updated_at"],
      }),
    ),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Unique column breaking ties on the watermark (rows updated in the same instant), so that a batch ending inside a group of equal watermarks loses none of them.",
        examples: ["id"],
      }),
    ),
    start: Type.Optional(
      Type.Object(
        {
          watermark: Type.Union([Type.String(), Type.Number()], {
            description: "Watermark to start after.",
            examples: ["2026-01-01T00:00:00Z", 0],
          }),
          key: Type.Union([Type.String(), Type.Number()], {
            description: "Key to start after, among rows with that watermark.",
            examples: [0, ""],
          }),
        },
        {
          additionalProperties: false,
          description:
            "Position before the first checkpoint. Unset with `table`: from the first row. Required with `sql`.",
        },
      ),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal("incremental"), Type.Literal("snapshot")], {
        default: "incremental",
        description:
          "incremental: each run reads the rows past the checkpointed (watermark, key). snapshot: each run reads the whole table or query, `batch` rows at a time in `key` order (keyset pages, so memory stays bounded); the run's last message carries the `junction-snapshot-complete` header. Snapshot needs `key` only.",
      }),
    ),
    interval: Type.Optional(
      Duration({
        description:
          "Pause between runs once caught up (a full batch polls again at once). Excludes `schedule`; the default when neither is set.",
        default: "5s",
      }),
    ),
    schedule: Type.Optional(
      Type.Object(
        {
          cron: Type.String({
            minLength: 1,
            // The shape only (5 to 7 fields, or a nickname); values are checked when the route is built.
            pattern: "^\\s*(@[a-z]+|[^\\s]+(\\s+[^\\s]+){4,6})\\s*$",
            "x-format": "cron",
            format: "cron",
            description:
              "Cron expression, 5 fields (minute first) or 6 (seconds first); `@hourly`, `@daily`... allowed.",
            examples: ["0 */5 * * * *", "30 2 * * *"],
          }),
          timezone: Type.Optional(
            Type.String({
              minLength: 1,
              pattern: "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
              "x-format": "time zone",
              format: "time-zone",
              description:
                "IANA time zone the expression is read in; default UTC. Across DST changes a fixed time (`30 2 * * *`) runs once: at the first valid time after a skipped hour, once in a repeated hour.",
              examples: ["Europe/Paris", "America/New_York"],
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "Run on a cron schedule instead of `interval`. Runs never overlap: a tick while a run is still extracting is skipped (and logged). Ticks missed while the engine was down are not replayed one by one: on start, one run starts at once if at least one tick was missed (or a run was interrupted), then the schedule goes on.",
        },
      ),
    ),
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 500,
        description: "Rows read per query and stored per commit.",
      }),
    ),
    subject: Type.Optional(
      Type.String({ description: "Subject of the messages; default the table name (with `table`)." }),
    ),
    system: Type.Optional(Type.String({ description: "The system that owns these rows (for the map)." })),
  } satisfies TProperties;
}
