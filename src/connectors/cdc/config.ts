import { type Static, Type } from "typebox";
import { Duration, Size } from "../../config/schema-types.js";

export const CdcSourceSchema = Type.Object(
  {
    connection: Type.String({
      description:
        "A declared `postgres` connection (logical replication, pgoutput) or `mysql` connection (MySQL/MariaDB row binlog). The source opens its own replication connection with the same URL.",
    }),
    tables: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "Tables to capture, `table` or `schema.table` (`database.table` for MySQL). PostgreSQL: the publication the source creates lists exactly these. Omitted: every table (PostgreSQL: `FOR ALL TABLES`, needs superuser; or name a `publication`).",
        examples: [["public.orders", "customers"]],
      }),
    ),
    publication: Type.Optional(
      Type.String({
        description:
          "PostgreSQL: an existing publication to read instead of creating one (`tables` then filters its changes).",
      }),
    ),
    slot: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9_]{1,63}$",
        description:
          "PostgreSQL: the replication slot (one per source; it keeps WAL until acknowledged). Default `junction_<route>`.",
      }),
    ),
    snapshot: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "On the first start, read the captured tables' current rows (op `snapshot`), then stream what changed after them, neither losing nor repeating a row across the boundary. PostgreSQL: in the snapshot the slot was created with. MariaDB: in a `START TRANSACTION WITH CONSISTENT SNAPSHOT`, the binlog read from the position it reports. MySQL reports no such position: there an explicit `true` is a configuration error and the default starts at the binlog's end with a warning.",
      }),
    ),
    replicaIdentityFull: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "PostgreSQL: set `REPLICA IDENTITY FULL` on the listed tables so updates and deletes carry the whole old row (`before`). Without it `before` holds the primary key columns only (deletes) or is null (updates).",
      }),
    ),
    maxTransactionMessages: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 1000,
        description:
          "Changes stored per commit: a transaction larger than this is stored in ordered chunks, the last one carrying the checkpoint.",
      }),
    ),
    walWarning: Type.Optional(
      Size({
        default: "1gb",
        description:
          "PostgreSQL: log a warning when the slot retains more WAL than this (the source is behind or the slot is unused).",
      }),
    ),
    healthInterval: Type.Optional(
      Duration({
        default: "15s",
        description: "PostgreSQL: how often slot health (retained WAL, active) is read for the metrics.",
      }),
    ),
    serverId: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4294967295,
        description:
          "MySQL/MariaDB: the replica server id this source uses; unique among the server's replicas. Default: derived from the route name.",
      }),
    ),
    system: Type.Optional(
      Type.String({
        description: "CloudEvents `source` of the messages. Default `<postgres|mysql>:<connection>`.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CdcSourceConfig = Static<typeof CdcSourceSchema>;
