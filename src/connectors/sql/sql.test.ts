import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serviceTest } from "../../../test/helpers/services.js";
import type { ComponentContext } from "../../api/component.js";
import { TimeoutError } from "../../api/errors.js";
import { silentLogger } from "../../observe/logger.js";
import { classifyMysql, MysqlConnection, mysqlDialect } from "../mysql/connection.js";
import { classifyPostgres, PostgresConnection, postgresDialect } from "../postgres/connection.js";
import { bindable, isoTime, namedPlaceholders } from "./sql-database.js";

const postgres = await serviceTest("postgres");
const mariadb = await serviceTest("mariadb");
const context = (owner: string) => ({ owner, logger: silentLogger() }) as unknown as ComponentContext;

describe("sql helpers", () => {
  test("identifiers are quoted part by part, quotes doubled", () => {
    assert.equal(postgresDialect.quote("sales.orders"), '"sales"."orders"');
    assert.equal(postgresDialect.quote('a"b'), '"a""b"');
    assert.equal(mysqlDialect.quote("sales.orders"), "`sales`.`orders`");
    assert.equal(mysqlDialect.quote("a`b"), "`a``b`");
  });

  test("upsert clauses update every non-key column", () => {
    assert.equal(
      postgresDialect.upsertClause(["id", "sku", "qty"], ["id"]),
      'ON CONFLICT ("id") DO UPDATE SET "sku" = EXCLUDED."sku", "qty" = EXCLUDED."qty"',
    );
    assert.equal(postgresDialect.upsertClause(["a", "b"], ["a", "b"]), 'ON CONFLICT ("a", "b") DO NOTHING');
    assert.equal(
      mysqlDialect.upsertClause(["id", "qty"], ["id"]),
      "ON DUPLICATE KEY UPDATE `qty` = VALUES(`qty`)",
    );
    assert.equal(mysqlDialect.upsertClause(["id"], ["id"]), "ON DUPLICATE KEY UPDATE `id` = VALUES(`id`)");
  });

  test("database timestamps become exact ISO 8601", () => {
    assert.equal(isoTime("2026-11-24 16:50:15.192345+00"), "2026-11-24T16:50:15.192345+00:00");
    assert.equal(isoTime("2026-11-24 16:50:15+05:30"), "2026-11-24T16:50:15+05:30");
    assert.equal(isoTime("1900-01-01 00:00:00+00:09:21"), "1900-01-01T00:00:00+00:09:21");
    assert.equal(isoTime("2026-11-24 16:50:15.5"), "2026-11-24T16:50:15.5");
    assert.equal(isoTime("infinity"), "infinity");
    assert.equal(isoTime("2026-11-24 16:50:15 BC"), "2026-11-24 16:50:15 BC");
  });

  test(":named placeholders, outside quotes and casts", () => {
    const sql = "SELECT ':watermark', x::text FROM t WHERE (a, b) > (:watermark, :key) OR a = :watermark";
    assert.deepEqual(namedPlaceholders(sql, ["watermark", "key"], postgresDialect), {
      sql: "SELECT ':watermark', x::text FROM t WHERE (a, b) > ($1, $2) OR a = $1",
      order: ["watermark", "key"],
    });
    assert.deepEqual(namedPlaceholders(sql, ["watermark", "key"], mysqlDialect), {
      sql: "SELECT ':watermark', x::text FROM t WHERE (a, b) > (?, ?) OR a = ?",
      order: ["watermark", "key", "watermark"],
    });
  });

  test("parameters: undefined is NULL, objects and arrays are JSON", () => {
    assert.equal(bindable(undefined), null);
    assert.equal(bindable({ a: [1] }), '{"a":[1]}');
    assert.equal(bindable([1, 2]), "[1,2]");
    assert.equal(bindable("x"), "x");
    const date = new Date(0);
    assert.equal(bindable(date), date);
  });

  test("postgres errors: retryable or permanent by SQLSTATE", () => {
    const error = (code: string) => Object.assign(new Error(`failed ${code}`), { code, constraint: "c1" });
    for (const code of ["40001", "40P01", "55P03", "08006", "57P01", "53300", "28P01"]) {
      assert.equal(classifyPostgres(error(code), "db").retryable, true, code);
    }
    for (const code of ["23505", "23514", "22P02", "42P01", "42703", "0A000", "P0001"]) {
      const classified = classifyPostgres(error(code), "db");
      assert.equal(classified.retryable, false, code);
      assert.equal(classified.code, `JUNCTION_POSTGRES_${code}`);
      assert.deepEqual(classified.details, { sqlstate: code, constraint: "c1" });
    }
    assert.ok(classifyPostgres(error("57014"), "db") instanceof TimeoutError);
    const network = classifyPostgres(
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      "db",
    );
    assert.equal(network.retryable, true);
    assert.equal(network.code, "JUNCTION_POSTGRES_UNREACHABLE");
    assert.match(network.message, /^postgres connection "db": connect ECONNREFUSED/);
  });

  test("mysql errors: retryable or permanent by errno and SQLSTATE", () => {
    const error = (errno: number, sqlState: string) =>
      Object.assign(new Error(`failed ${errno}`), { errno, sqlState, code: "ER_X" });
    for (const [errno, state] of [
      [1213, "40001"],
      [1205, "HY000"],
      [1040, "08004"],
      [1045, "28000"],
      [1049, "42000"],
      [1290, "HY000"],
    ] as const) {
      assert.equal(classifyMysql(error(errno, state), "db").retryable, true, String(errno));
    }
    for (const [errno, state] of [
      [1062, "23000"],
      [1452, "23000"],
      [1366, "22007"],
      [1364, "HY000"],
      [1146, "42S02"],
      [4025, "23000"],
    ] as const) {
      const classified = classifyMysql(error(errno, state), "db");
      assert.equal(classified.retryable, false, String(errno));
      assert.equal(classified.code, `JUNCTION_MYSQL_${errno}`);
      assert.deepEqual(classified.details, { errno, sqlstate: state, name: "ER_X" });
    }
    const lost = classifyMysql(
      Object.assign(new Error("Connection lost"), { code: "PROTOCOL_CONNECTION_LOST", fatal: true }),
      "db",
    );
    assert.equal(lost.retryable, true);
    assert.equal(lost.code, "JUNCTION_MYSQL_UNREACHABLE");
  });
});

describe("statement timeouts", () => {
  test("postgres: a statement past statementTimeout is a retryable timeout", postgres, async () => {
    const db = new PostgresConnection(
      { url: "postgres://postgres@127.0.0.1:5432/test", statementTimeout: "200ms" },
      context("db"),
    );
    try {
      await assert.rejects(db.query("SELECT pg_sleep(2)", []), (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.code, "JUNCTION_POSTGRES_57014");
        return true;
      });
      assert.deepEqual(await db.query("SELECT 1 AS one", []), [{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  test("mysql: a statement past statementTimeout is a retryable timeout", mariadb, async () => {
    const db = new MysqlConnection(
      { url: "mysql://root@127.0.0.1:3306/test", statementTimeout: "200ms", poolSize: 1 },
      context("db"),
    );
    try {
      await assert.rejects(db.query("SELECT SLEEP(2)", []), (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.code, "JUNCTION_MYSQL_TIMEOUT");
        assert.equal(error.retryable, true);
        return true;
      });
      assert.deepEqual(await db.query("SELECT 1 AS one", []), [{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  test("an abandoned statement rejects at once", postgres, async () => {
    const db = new PostgresConnection({ url: "postgres://postgres@127.0.0.1:5432/test" }, context("db"));
    try {
      const started = Date.now();
      await assert.rejects(db.query("SELECT pg_sleep(1)", [], AbortSignal.timeout(50)), TimeoutError);
      assert.ok(Date.now() - started < 900);
    } finally {
      await db.close();
    }
  });
});
