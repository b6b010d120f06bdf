import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import pino from "pino";
import { eventually } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import type { ComponentContext, SourceContext } from "../../api/component.js";
import { BackpressureError, ConfigError, ShuttingDownError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { cdcSlots } from "../../observe/metrics.js";
import { MysqlConnection } from "../mysql/connection.js";
import { PostgresConnection } from "../postgres/connection.js";
import { BinlogCdcSource } from "./binlog-source.js";
import { cdcConnector } from "./index.js";
import { PgCdcSource } from "./pg-source.js";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const run = `jcdcs_${process.pid}_${Date.now().toString(36)}`;
const MYSQL_URL = "mysql://root@127.0.0.1:3306/test";
const service = await serviceTest("postgres");
const mariadb = await serviceTest("mariadb");

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

function sourceContext(
  logger: pino.Logger,
  fail?: (messages: MessageInit[]) => boolean | Error,
  delayMs = 0,
) {
  const emitted: MessageInit[] = [];
  const checkpoints = new Map<string, string>();
  const lost: unknown[] = [];
  const abort = new AbortController();
  const context = {
    owner: "health",
    configDir: ".",
    logger,
    signal: abort.signal,
    async emit(messages: MessageInit[], options: { checkpoint?: { key: string; value: string } } = {}) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const failure = fail?.(messages);
      if (failure instanceof Error) throw failure;
      if (failure) throw new Error("the store is unavailable");
      emitted.push(...messages);
      if (options.checkpoint) checkpoints.set(options.checkpoint.key, options.checkpoint.value);
      return { ids: messages.map((_, i) => String(i)), duplicate: false };
    },
    checkpoint: (key: string) => checkpoints.get(key),
    lost: (error: unknown) => lost.push(error),
    async deadLetter() {},
  } as unknown as SourceContext;
  return { context, emitted, checkpoints, lost, abort };
}

describe("cdc source: configuration and slot health", () => {
  let db: pg.Client;

  before(async () => {
    if (service.skip) return;
    db = new pg.Client({ connectionString: URL });
    await db.connect();
  });

  after(async () => {
    if (service.skip) return;
    await db.end();
  });

  test("a connection that is neither postgres nor mysql is a configuration error naming it", () => {
    const context = { owner: "orders", connection: () => ({}) } as unknown as ComponentContext;
    assert.throws(
      () => cdcConnector.source.create({ connection: "cache" }, context),
      (error: unknown) =>
        error instanceof ConfigError &&
        /route "orders": connection "cache" is neither a postgres nor a mysql connection/.test(error.message),
    );
  });

  test(
    "a named publication that does not exist stops the start with a configuration error",
    service,
    async () => {
      const { logger } = capturingLogger();
      const connection = new PostgresConnection({ url: URL }, {
        owner: "db",
        logger,
      } as unknown as ComponentContext);
      const source = new PgCdcSource(
        connection,
        { connection: "db", publication: `${run}_missing` },
        "health",
      );
      try {
        await assert.rejects(
          source.start(sourceContext(logger).context),
          (error: unknown) =>
            error instanceof ConfigError &&
            /publication "jcdcs_.*_missing" does not exist/.test(error.message),
        );
      } finally {
        await source.stop();
        await connection.close();
      }
    },
  );

  test(
    "slot health: retained WAL and active are published; past walWarning a warning is logged",
    service,
    async () => {
      const table = `${run}_t`;
      const slot = `${run}_slot`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const { logger, lines } = capturingLogger();
      const connection = new PostgresConnection({ url: URL }, {
        owner: "db",
        logger,
      } as unknown as ComponentContext);
      const source = new PgCdcSource(
        connection,
        {
          connection: "db",
          tables: [table],
          slot,
          walWarning: "1b",
          healthInterval: "50ms",
          snapshot: false,
        },
        "health",
      );
      const { context, emitted, checkpoints, lost } = sourceContext(logger);
      try {
        await source.start(context);
        await db.query(`INSERT INTO ${table} VALUES (1), (2)`);
        await eventually(() => emitted.length >= 2, 10_000, "two changes");
        assert.deepEqual(
          emitted.map((m) => m.type),
          [`cdc.${table}.insert`, `cdc.${table}.insert`],
        );
        assert.equal(
          JSON.parse(checkpoints.get(`position:${slot}`) ?? "{}").n,
          -1,
          "the transaction is complete",
        );
        const warning = await eventually(
          () => lines.find((line) => line.level === 40 && /retains \d+ bytes of WAL/.test(line.msg)),
          10_000,
          "the retained WAL warning",
        );
        assert.match(warning.msg, new RegExp(`slot ${slot} retains`));
        const health = source.health();
        assert.equal(health.active, true);
        assert.ok(health.retainedWalBytes > 0, `retained ${health.retainedWalBytes}`);
        assert.equal(cdcSlots.get(`health:${slot}`)?.active, true, "published for the metrics");
        assert.deepEqual(lost, []);
        await source.stop();
        assert.equal(cdcSlots.get(`health:${slot}`)?.active, false, "inactive once stopped");
      } finally {
        await source.stop();
        await connection.close();
        await eventually(async () => {
          await db.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [slot],
          );
          return true;
        });
        await db.query(`DROP PUBLICATION IF EXISTS ${slot}`);
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
  test(
    "a slot dropped behind the source's back is reported, made again, and the tables snapshotted",
    service,
    async () => {
      const table = `${run}_gone`;
      const slot = `${run}_gone`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await db.query(`INSERT INTO ${table} VALUES (1)`);
      const { logger, lines } = capturingLogger();
      const connection = new PostgresConnection({ url: URL }, {
        owner: "db",
        logger,
      } as unknown as ComponentContext);
      const config = { connection: "db", tables: [table], slot };
      const { context, emitted } = sourceContext(logger);
      try {
        const first = new PgCdcSource(connection, config, "gone");
        await first.start(context);
        assert.deepEqual(
          emitted.map((m) => (m.data as { op: string }).op),
          ["snapshot"],
        );
        await db.query(`INSERT INTO ${table} VALUES (2)`);
        await eventually(() => emitted.length >= 2, 10_000, "the streamed insert");
        await first.stop();
        await eventually(async () => {
          await db.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [slot],
          );
          return true;
        });
        await db.query(`INSERT INTO ${table} VALUES (3)`); // made while no slot existed
        const second = new PgCdcSource(connection, config, "gone");
        await second.start(context);
        await second.stop();
        assert.ok(
          lines.some((line) => line.level === 50 && /slot .* is gone or lost its WAL/.test(line.msg)),
          "an error names the gap",
        );
        assert.deepEqual(
          emitted
            .slice(2)
            .map((m) => [(m.data as { op: string }).op, (m.data as { key: { id: number } }).key.id]),
          [
            ["snapshot", 1],
            ["snapshot", 2],
            ["snapshot", 3],
          ],
        );
      } finally {
        await connection.close();
        await eventually(async () => {
          await db.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [slot],
          );
          return true;
        });
        await db.query(`DROP PUBLICATION IF EXISTS ${slot}`);
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
  /**
   * A store failure after the first chunk of a 20-change transaction (chunks of 8): the restarted
   * source must skip the 8 changes its checkpoint says are stored and deliver the other 12 once.
   */
  for (const kind of ["postgres", "mariadb"] as const) {
    test(
      `${kind}: a transaction interrupted between chunks resumes after the stored ones`,
      kind === "postgres" ? service : mariadb,
      async () => {
        const table = `${run}_chunk_${kind}`;
        const { logger } = capturingLogger();
        const owner = { owner: "db", logger } as unknown as ComponentContext;
        let failed = false;
        const { context, emitted, lost } = sourceContext(logger, (messages) => {
          const index = (messages[0]?.data as { index?: number } | undefined)?.index;
          if (failed || index !== 8) return false;
          failed = true;
          return true;
        });
        const config = {
          connection: "db",
          tables: [table],
          slot: table,
          snapshot: false,
          maxTransactionMessages: 8,
        };
        const values = Array.from({ length: 20 }, (_, i) => `(${i + 1})`).join(", ");
        if (kind === "postgres") {
          await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
          const connection = new PostgresConnection({ url: URL }, owner);
          try {
            const first = new PgCdcSource(connection, config, "chunks");
            await first.start(context);
            await db.query(`INSERT INTO ${table} VALUES ${values}`);
            await eventually(() => lost.length > 0, 10_000, "the store failure to be reported");
            await first.stop();
            const second = new PgCdcSource(connection, config, "chunks");
            await second.start(context);
            await eventually(() => emitted.length >= 20, 10_000, "the rest of the transaction");
            await second.stop();
          } finally {
            await connection.close();
            await eventually(async () => {
              await db.query(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                [table],
              );
              return true;
            });
            await db.query(`DROP PUBLICATION IF EXISTS ${table}`);
            await db.query(`DROP TABLE IF EXISTS ${table}`);
          }
        } else {
          const { slot: _slot, ...binlogConfig } = config;
          const connection = new MysqlConnection({ url: MYSQL_URL }, owner);
          await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
          try {
            const first = new BinlogCdcSource(connection, binlogConfig, "chunks");
            await first.start(context);
            await connection.query(`INSERT INTO ${table} VALUES ${values}`, []);
            await eventually(() => lost.length > 0, 10_000, "the store failure to be reported");
            await first.stop();
            const second = new BinlogCdcSource(connection, binlogConfig, "chunks");
            await second.start(context);
            await eventually(() => emitted.length >= 20, 10_000, "the rest of the transaction");
            await second.stop();
          } finally {
            await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
            await connection.close();
          }
        }
        const data = emitted.map(
          (m) => m.data as { index: number; last: boolean; txid: string; after: { id: number } },
        );
        assert.deepEqual(
          data.map((d) => d.index),
          Array.from({ length: 20 }, (_, i) => i),
          "each change of the transaction once, in order",
        );
        assert.deepEqual(
          data.map((d) => d.after.id),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.deepEqual(
          data.filter((d) => d.last).map((d) => d.index),
          [19],
        );
        assert.equal(lost.length, 1);
      },
    );
  }
  test(
    "mariadb: a snapshot cut short by a store failure is taken again whole on the next start, then the stream follows it",
    mariadb,
    async () => {
      const table = `${run}_snapfail`;
      const { logger } = capturingLogger();
      const owner = { owner: "db", logger } as unknown as ComponentContext;
      let failures = 0;
      const { context, emitted, checkpoints } = sourceContext(logger, (messages) => {
        const index = (messages[0]?.data as { index?: number } | undefined)?.index;
        if (failures > 0 || index !== 4) return false;
        failures++;
        return true;
      });
      const config = { connection: "db", tables: [table], maxTransactionMessages: 4 };
      const connection = new MysqlConnection({ url: MYSQL_URL }, owner);
      await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
      try {
        const values = Array.from({ length: 10 }, (_, i) => `(${i + 1})`).join(", ");
        await connection.query(`INSERT INTO ${table} VALUES ${values}`, []);
        const first = new BinlogCdcSource(connection, config, "snapfail");
        await assert.rejects(first.start(context), /the store is unavailable/);
        assert.equal(checkpoints.size, 0, "no position is stored before the snapshot is");
        await connection.query(`INSERT INTO ${table} VALUES (11)`, []);
        const second = new BinlogCdcSource(connection, config, "snapfail");
        await second.start(context);
        await connection.query(`INSERT INTO ${table} VALUES (12)`, []);
        await eventually(() => emitted.length >= 4 + 11 + 1, 10_000, "the snapshot and the insert");
        await second.stop();
        const data = emitted.map((m) => m.data as { op: string; after: { id: number } });
        assert.deepEqual(
          data.map((d) => [d.op, d.after.id]),
          [
            ...[1, 2, 3, 4].map((id) => ["snapshot", id]),
            ...Array.from({ length: 11 }, (_, i) => ["snapshot", i + 1]),
            ["insert", 12],
          ],
          "the first batch twice (at-least-once), then the whole table, then the stream",
        );
        assert.equal(checkpoints.size, 1);
      } finally {
        await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
        await connection.close();
      }
    },
  );
  test(
    "mariadb: a checkpoint whose binlog file is gone, or from another server, resumes from its GTID position, inside a chunked transaction too",
    mariadb,
    async () => {
      const table = `${run}_gtid`;
      const { logger, lines } = capturingLogger();
      const owner = { owner: "db", logger } as unknown as ComponentContext;
      let failed = false;
      const { context, emitted, checkpoints, lost } = sourceContext(logger, (messages) => {
        const index = (messages[0]?.data as { index?: number } | undefined)?.index;
        if (failed || index !== 8) return false;
        failed = true;
        return true;
      });
      const config = { connection: "db", tables: [table], snapshot: false, maxTransactionMessages: 8 };
      const connection = new MysqlConnection({ url: MYSQL_URL }, owner);
      await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
      try {
        const first = new BinlogCdcSource(connection, config, "gtid");
        await first.start(context);
        await connection.query(`INSERT INTO ${table} VALUES (1)`, []);
        await eventually(() => emitted.length === 1, 10_000, "the first insert");
        const afterFirst = JSON.parse(checkpoints.get("binlog")!);
        assert.match(afterFirst.gtid, /^\d+-\d+-\d+$/, "the checkpoint carries the GTID position");
        // 20 changes in one transaction, stored in chunks of 8: the second chunk fails.
        const values = Array.from({ length: 20 }, (_, i) => `(${i + 2})`).join(", ");
        await connection.query(`INSERT INTO ${table} VALUES ${values}`, []);
        await eventually(() => lost.length > 0, 10_000, "the store failure");
        await first.stop();
        const inside = JSON.parse(checkpoints.get("binlog")!);
        assert.equal(inside.n, 8, "8 changes of the transaction stored");
        assert.equal(inside.gtid, afterFirst.gtid, "the position before the transaction");
        await connection.query(`INSERT INTO ${table} VALUES (30)`, []);
        // As after a failover: the file of the checkpoint is not on this server.
        checkpoints.set("binlog", JSON.stringify({ ...inside, file: "gone-bin.000042", pos: 4 }));
        const second = new BinlogCdcSource(connection, config, "gtid");
        await second.start(context);
        await eventually(() => emitted.length >= 1 + 20 + 1, 10_000, "the rest");
        await new Promise((resolve) => setTimeout(resolve, 200));
        await second.stop();
        assert.deepEqual(
          emitted.map((m) => (m.data as { after: { id: number } }).after.id),
          [1, ...Array.from({ length: 20 }, (_, i) => i + 2), 30],
          "each change once, in order",
        );
        assert.ok(
          lines.some(
            (line) =>
              line.level === 40 &&
              /gone-bin\.000042 of the checkpoint is not on the server .*; resuming from GTID position/.test(
                line.msg,
              ),
          ),
        );
        assert.notEqual(
          JSON.parse(checkpoints.get("binlog")!).file,
          "gone-bin.000042",
          "back on file positions",
        );

        // A checkpoint taken on another server: its file position means nothing here, even where a
        // file of that name exists.
        const current = JSON.parse(checkpoints.get("binlog")!);
        assert.match(current.server, /^\d+$/, "the checkpoint names its server");
        await connection.query(`INSERT INTO ${table} VALUES (31)`, []);
        checkpoints.set("binlog", JSON.stringify({ ...current, pos: 4, server: "424242" }));
        const elsewhere = new BinlogCdcSource(connection, config, "gtid");
        await elsewhere.start(context);
        await eventually(() => emitted.length >= 23, 10_000, "the insert made meanwhile");
        await new Promise((resolve) => setTimeout(resolve, 200));
        await elsewhere.stop();
        assert.deepEqual(
          emitted.slice(22).map((m) => (m.data as { after: { id: number } }).after.id),
          [31],
          "read from the GTID position, not from position 4 of the file",
        );
        assert.ok(
          lines.some((line) =>
            /taken on server 424242, this is server \d+; resuming from GTID/.test(line.msg),
          ),
        );

        // Without a GTID position there is nothing to resume from: said, not retried for ever.
        checkpoints.set("binlog", JSON.stringify({ file: "gone-bin.000042", pos: 4, n: 0 }));
        const third = new BinlogCdcSource(connection, config, "gtid");
        await assert.rejects(
          third.start(context),
          (error: unknown) =>
            error instanceof ConfigError &&
            /gone-bin\.000042 of the checkpoint is not on the server/.test(error.message),
        );
      } finally {
        await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
        await connection.close();
      }
    },
  );
  test("mariadb: a stop during the snapshot ends it at once; nothing is checkpointed", mariadb, async () => {
    const table = `${run}_snapstop`;
    const { logger } = capturingLogger();
    const owner = { owner: "db", logger } as unknown as ComponentContext;
    const { context, emitted, checkpoints, abort } = sourceContext(logger, undefined, 100);
    const connection = new MysqlConnection({ url: MYSQL_URL }, owner);
    await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
    try {
      const values = Array.from({ length: 200 }, (_, i) => `(${i + 1})`).join(", ");
      await connection.query(`INSERT INTO ${table} VALUES ${values}`, []);
      // 50 batches of 4, each stored in 100 ms: 5 s if it ran to the end.
      const source = new BinlogCdcSource(
        connection,
        { connection: "db", tables: [table], maxTransactionMessages: 4 },
        "snapstop",
      );
      const starting = source.start(context);
      await eventually(() => emitted.length > 0, 10_000, "the first batch");
      const stopped = Date.now();
      abort.abort();
      await assert.rejects(starting, ShuttingDownError);
      assert.ok(Date.now() - stopped < 1000, `ended ${Date.now() - stopped} ms after the stop`);
      assert.ok(emitted.length < 200);
      assert.equal(checkpoints.size, 0, "the next start takes the snapshot again");
    } finally {
      await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
      await connection.close();
    }
  });
  test(
    "mariadb: a listed table that does not exist is skipped by the snapshot with a warning",
    mariadb,
    async () => {
      const table = `${run}_snapmissing`;
      const { logger, lines } = capturingLogger();
      const owner = { owner: "db", logger } as unknown as ComponentContext;
      const { context, emitted, checkpoints } = sourceContext(logger);
      const connection = new MysqlConnection({ url: MYSQL_URL }, owner);
      await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
      try {
        await connection.query(`INSERT INTO ${table} VALUES (1), (2)`, []);
        const config = { connection: "db", tables: [`${table}_gone`, table] };
        const source = new BinlogCdcSource(connection, config, "snapmissing");
        await source.start(context);
        await connection.query(`INSERT INTO ${table} VALUES (3)`, []);
        await eventually(() => emitted.length >= 3, 10_000, "the snapshot and the insert");
        await source.stop();
        assert.deepEqual(
          emitted.map((m) => {
            const data = m.data as { op: string; table: string; after: { id: number } };
            return [data.op, data.table, data.after.id];
          }),
          [
            ["snapshot", table, 1],
            ["snapshot", table, 2],
            ["insert", table, 3],
          ],
        );
        assert.equal(checkpoints.size, 1);
        assert.ok(
          lines.some((line) => line.level === 40 && line.msg.includes(`test.${table}_gone does not exist`)),
          "a warning names the missing table",
        );
      } finally {
        await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
        await connection.close();
      }
    },
  );
  test(
    "postgres: back-pressure from the route is waited out; nothing is lost or reordered",
    service,
    async () => {
      const table = `${run}_full`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const { logger } = capturingLogger();
      const connection = new PostgresConnection({ url: URL }, {
        owner: "db",
        logger,
      } as unknown as ComponentContext);
      let calls = 0;
      const { context, emitted, lost } = sourceContext(logger, (messages) =>
        messages.length > 0 && calls++ < 5
          ? new BackpressureError("route above its high-water mark", 10)
          : false,
      );
      const source = new PgCdcSource(
        connection,
        { connection: "db", tables: [table], slot: table, snapshot: false },
        "full",
      );
      try {
        await source.start(context);
        for (let id = 1; id <= 5; id++) await db.query(`INSERT INTO ${table} VALUES ($1)`, [id]);
        await eventually(() => emitted.length >= 5, 10_000, "five changes");
        assert.deepEqual(
          emitted.map((m) => (m.data as { after: { id: number } }).after.id),
          [1, 2, 3, 4, 5],
        );
        assert.equal(calls, 10, "five refusals, then each of the five transactions stored once");
        assert.deepEqual(lost, []);
      } finally {
        await source.stop();
        await connection.close();
        await eventually(async () => {
          await db.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [table],
          );
          return true;
        });
        await db.query(`DROP PUBLICATION IF EXISTS ${table}`);
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
  test(
    "mariadb: a slow store closes the binlog stream until the queue is stored, then resumes where it ends",
    mariadb,
    async () => {
      const table = `${run}_slow`;
      const { logger } = capturingLogger();
      const connection = new MysqlConnection({ url: MYSQL_URL }, {
        owner: "db",
        logger,
      } as unknown as ComponentContext);
      await connection.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`, []);
      // Each store takes 10 ms; the queue limit is 10 x maxTransactionMessages = 20 changes.
      const { context, emitted, lost } = sourceContext(logger, undefined, 10);
      const source = new BinlogCdcSource(
        connection,
        { connection: "db", tables: [table], maxTransactionMessages: 2 },
        "slow",
      );
      try {
        await source.start(context);
        for (let id = 1; id <= 150; id++) await connection.query(`INSERT INTO ${table} VALUES (?)`, [id]);
        await eventually(() => emitted.length >= 150, 30_000, "150 changes");
        assert.deepEqual(
          emitted.map((m) => (m.data as { after: { id: number } }).after.id),
          Array.from({ length: 150 }, (_, i) => i + 1),
          "each once, in order, across the closed and reopened streams",
        );
        assert.ok(source.pauses > 0, `the stream was closed for back-pressure (${source.pauses} times)`);
        assert.deepEqual(lost, []);
      } finally {
        await source.stop();
        await connection.query(`DROP TABLE IF EXISTS ${table}`, []);
        await connection.close();
      }
    },
  );
});
