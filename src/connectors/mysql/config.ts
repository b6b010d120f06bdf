import { type Static, Type } from "typebox";
import { Duration, Secret } from "../../config/schema-types.js";
import {
  type SqlFlavour,
  type SqlPollConfig,
  sqlPollProperties,
  sqlRequestSchema,
  sqlSinkSchema,
} from "../sql/sql-config.js";

export const mysqlFlavour: SqlFlavour = {
  name: "mysql",
  label: "MySQL/MariaDB",
  placeholders: "`?`",
  exampleUpdate: "UPDATE stock SET qty = qty - ? WHERE sku = ?",
  exampleSelect: "SELECT id, name, tier FROM customers WHERE id = ?",
  examplePoll:
    "SELECT o.id, o.updated_at, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.updated_at > :watermark OR (o.updated_at = :watermark AND o.id > :key)",
};

export const MysqlConnectionSchema = Type.Object(
  {
    url: Secret({
      description:
        "Connection URL: `mysql://user:password@host:3306/database` (`mariadb://` also accepted). Keep the password in the environment: `${MYSQL_URL}`.",
      examples: ["mysql://root@127.0.0.1:3306/test", "${MYSQL_URL}"],
    }),
    poolSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 10,
        description: "Largest number of open connections in the pool.",
      }),
    ),
    statementTimeout: Type.Optional(
      Duration({
        description:
          "Longest wait for a statement's answer; past it the connection is closed and the statement retried. `0s` turns it off.",
        default: "30s",
      }),
    ),
    connectTimeout: Type.Optional(
      Duration({ description: "Longest wait to open a connection.", default: "10s" }),
    ),
  },
  { additionalProperties: false },
);
export type MysqlConnectionConfig = Static<typeof MysqlConnectionSchema>;

export const MysqlSinkSchema = sqlSinkSchema(mysqlFlavour);
export const MysqlRequestSchema = sqlRequestSchema(mysqlFlavour);
export const MysqlSourceSchema = Type.Object(sqlPollProperties(mysqlFlavour), {
  additionalProperties: false,
});
export type MysqlSourceConfig = SqlPollConfig;
