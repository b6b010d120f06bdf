import type { Source } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { ConfigError } from "../../api/errors.js";
import { MysqlConnection } from "../mysql/connection.js";
import { PostgresConnection } from "../postgres/connection.js";
import { BinlogCdcSource } from "./binlog-source.js";
import { type CdcSourceConfig, CdcSourceSchema } from "./config.js";
import { PgCdcSource } from "./pg-source.js";

export const cdcConnector = defineConnector({
  name: "cdc",
  summary:
    "Change data capture: row inserts, updates and deletes from PostgreSQL logical replication or the MySQL/MariaDB binlog.",
  description:
    "Reads a declared `postgres` connection through a logical replication slot (pgoutput) or a `mysql` connection through the row-based binlog. Every change becomes a message of type `cdc.<table>.<insert|update|delete>` with data `{ op, schema, table, key, before, after, lsn, txid, commitTime, index, last }`; a transaction's changes are stored in one commit (ordered chunks for large ones) together with the position, and the database is told a position only after it is stored, so a crash loses nothing and repeats nothing. PostgreSQL: an initial snapshot consistent with the slot, a publication for the listed tables, slot health as metrics. The `cdc-key` header (table + primary key) is the ordering key for channels. See the change data capture guide.",
  examples: [
    {
      title: "Orders and customers from PostgreSQL",
      yaml: "from:\n  cdc: { connection: db, tables: [public.orders, public.customers], replicaIdentityFull: true }",
    },
    {
      title: "Orders from the MariaDB binlog",
      yaml: "from:\n  cdc: { connection: shop, tables: [shop.orders], serverId: 5401 }",
    },
  ],
  source: {
    schema: CdcSourceSchema,
    create(config: CdcSourceConfig, context): Source {
      const connection = context.connection(config.connection);
      const where = `cdc source in route "${context.owner}"`;
      if (connection instanceof PostgresConnection) {
        if (config.serverId !== undefined)
          throw new ConfigError(`${where}: serverId is for mysql connections`);
        return new PgCdcSource(connection, config, context.owner);
      }
      if (connection instanceof MysqlConnection) {
        const pgOnly = (["publication", "slot", "replicaIdentityFull"] as const).filter(
          (field) => config[field] !== undefined,
        );
        if (pgOnly.length > 0) {
          throw new ConfigError(`${where}: ${pgOnly.join(", ")} apply to postgres connections only`);
        }
        return new BinlogCdcSource(connection, config, context.owner);
      }
      throw new ConfigError(
        `${where}: connection "${config.connection}" is neither a postgres nor a mysql connection`,
      );
    },
  },
});
