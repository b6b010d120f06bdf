import { type Static, Type } from "typebox";
import { Duration, Secret, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

export const RedisConnectionSchema = Type.Object(
  {
    url: Secret({
      description:
        "`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Holds the password, so it is a secret: take it from the environment.",
      examples: ["redis://127.0.0.1:6379", "${REDIS_URL}"],
    }),
    db: Type.Optional(
      Type.Integer({ minimum: 0, description: "Database number; overrides the one in the URL.", default: 0 }),
    ),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[^\\s]+$",
        description: "Client name shown by `CLIENT LIST`; a suffix names each route's reader connection.",
        default: "junction",
      }),
    ),
    connectTimeout: Type.Optional(
      Duration({ description: "Largest wait for a new connection to be ready.", default: "5s" }),
    ),
    commandTimeout: Type.Optional(
      Duration({ description: "Largest wait for the answer to one command (XADD, XACK...).", default: "5s" }),
    ),
  },
  { additionalProperties: false },
);
export type RedisConnectionConfig = Static<typeof RedisConnectionSchema>;

const connection = Type.String({
  minLength: 1,
  description: "A connection declared under `connections:` with `redis`.",
  examples: ["cache"],
});

const format = Type.Optional(
  formatOptionSchema(
    "How the data field is read and written, with any codec (`format: { text: {} }`, `format: { avro: { schemaFile: line.avsc } }`); an entry that does not decode becomes a dead letter. Unset: JSON text.",
  ),
);

const field = Type.Optional(
  Type.String({
    minLength: 1,
    default: "data",
    description: "The entry field that holds the message data.",
    examples: ["data", "payload"],
  }),
);

export const RedisSourceSchema = Type.Object(
  {
    connection,
    stream: Type.String({ minLength: 1, description: "Stream key to read.", examples: ["orders"] }),
    group: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Consumer group; created (with the stream) when missing. Every process of the route joins it as a consumer of its own. Default: `junction-<route>`.",
        examples: ["warehouse"],
      }),
    ),
    start: Type.Optional(
      Type.Union([Type.Literal("all"), Type.Literal("new")], {
        default: "all",
        description:
          "Where a new group starts: every entry already in the stream (`all`) or only entries added later (`new`). An existing group keeps its position.",
      }),
    ),
    field,
    format,
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 100,
        description: "Largest number of entries read (COUNT) and stored in one commit.",
      }),
    ),
    block: Type.Optional(
      Duration({ description: "How long one read waits for new entries (XREADGROUP BLOCK).", default: "5s" }),
    ),
    claimIdle: Type.Optional(
      Duration({
        description:
          "Entries read by a consumer that did not acknowledge them for this long (it crashed) are claimed and delivered again (XAUTOCLAIM), at start and then periodically.",
        default: "60s",
      }),
    ),
    type: Type.Optional(
      Type.String({
        minLength: 1,
        description: "CloudEvents `type` when the entry has no `ce-type` field.",
        default: "junction.redis",
      }),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that writes to this stream (for the map; the `source`)." }),
    ),
  },
  { additionalProperties: false },
);
export type RedisSourceConfig = Static<typeof RedisSourceSchema>;

export const RedisSinkSchema = Type.Object(
  {
    connection,
    stream: Template({
      description: "Stream key to append to.",
      examples: ["orders", "orders:{{ region }}"],
    }),
    field,
    format,
    maxLen: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "Trim the stream to about this many entries on every append (`MAXLEN ~ n`); unset never trims.",
        examples: [100000],
      }),
    ),
    approximate: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Trim with `~` (cheap; Redis keeps somewhat more than `maxLen`). `false` trims exactly, at a higher cost.",
      }),
    ),
    fields: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Template({ description: "Field value." }), {
        description: "Extra fields on every entry; values are templates.",
        examples: [{ tenant: "{{ tenant }}" }],
      }),
    ),
  },
  { additionalProperties: false },
);
export type RedisSinkConfig = Static<typeof RedisSinkSchema>;
