import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import { serviceTest } from "../helpers/services.js";
import { EngineProcess, summary, until } from "./harness.js";

/**
 * ETL under crashes: an incremental extraction from PostgreSQL, upserted by key into MariaDB, on
 * a cron schedule, while `junction run` is SIGKILLed twice in the middle of a run. The source table
 * has ties everywhere (100 rows per watermark value, pages of 150 ending inside them); between the
 * two kills 1,000 rows are updated and 200 are inserted at the very watermark of the checkpoint,
 * with higher keys (ties with the checkpoint).
 *
 * Pass: the target equals the source row for row (count, sum, every value); every row version was
 * emitted exactly once (the audit channel, appended in the acknowledging transaction, holds one
 * message per version); at least one run was resumed after a kill under its own id; exit 0 on
 * SIGTERM.
 */
const ROWS = 5000;
const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const MY_URL = "mysql://root@127.0.0.1:3306/test";
const pgService = await serviceTest("postgres");
const myService = await serviceTest("mariadb");
const service = pgService.skip ? pgService : myService;
const name = `chaos_etl_${process.pid}_${Date.now().toString(36)}`;

test(`etl: ${ROWS} rows PostgreSQL → MariaDB, upsert by key, 2 SIGKILLs mid-run`, {
  ...service,
  timeout: 120_000,
}, async () => {
  const source = new pg.Client({ connectionString: PG_URL });
  await source.connect();
  const target = await mysql.createConnection(MY_URL);
  const started = performance.now();
  await source.query(
    `CREATE TABLE ${name} (id int PRIMARY KEY, updated_at timestamptz(6) NOT NULL, v text NOT NULL, amount bigint NOT NULL)`,
  );
  await target.query(
    `CREATE TABLE ${name} (id int PRIMARY KEY, updated_at varchar(40) NOT NULL, v text NOT NULL, amount bigint NOT NULL)`,
  );
  // 100 rows per microsecond-precise instant: the watermark is full of ties.
  await source.query(
    `INSERT INTO ${name} SELECT i, timestamptz '2026-01-01 00:00:00+00' + ((i - 1) / 100) * interval '1 second' + interval '1 microsecond', 'v1-' || i, i * 3 FROM generate_series(1, ${ROWS}) i`,
  );
  const engine = await EngineProcess.create(`
connections:
  src: { postgres: { url: "${PG_URL}" } }
  dst: { mysql: { url: "${MY_URL}" } }
channels:
  audit: { topic: { retention: 1h } }
routes:
  load:
    from:
      postgres:
        connection: src
        table: ${name}
        watermark: updated_at
        key: id
        batch: 150
        schedule: { cron: "* * * * * *", timezone: "Europe/Paris" }
    concurrency: 32
    maxDepth: 400
    to:
      - mysql:
          connection: dst
          table: ${name}
          columns: { id: id, updated_at: updated_at, v: v, amount: amount }
          key: [id]
          batch: { rows: 100 }
      - channel: audit
`);
  const count = async (where = "1=1") => {
    const [rows] = await target.query(`SELECT count(*) AS n FROM ${name} WHERE ${where}`);
    return Number((rows as { n: number }[])[0].n);
  };
  try {
    await engine.start();
    // Kill 1: in the middle of the first load (the inbox bound keeps the run open meanwhile).
    await until(async () => (await count()) >= 1500, 60_000, "1,500 rows loaded");
    await engine.kill();
    const afterFirstKill = await count();
    await engine.start();
    await until(async () => (await count()) === ROWS, 60_000, "the first load");

    // Changes: 1,000 updates with a newer watermark, 200 inserts tied with the checkpoint's.
    const [{ max }] = (await source.query(`SELECT max(updated_at)::text AS max FROM ${name}`)).rows;
    await source.query(
      `UPDATE ${name} SET v = 'v2-' || id, amount = amount + 1, updated_at = $1::timestamptz + interval '1 second' WHERE id % 5 = 0`,
      [max],
    );
    await source.query(
      `INSERT INTO ${name} SELECT i, $1::timestamptz, 'tie-' || i, i FROM generate_series(${ROWS + 1}, ${ROWS + 200}) i`,
      [max],
    );
    // Kill 2: while the second run is loading.
    await until(
      async () => (await count("v LIKE 'v2-%' OR v LIKE 'tie-%'")) >= 100,
      60_000,
      "the second run",
    );
    await engine.kill();
    const afterSecondKill = await count("v LIKE 'v2-%' OR v LIKE 'tie-%'");
    await engine.start();
    await until(
      async () => (await count("v LIKE 'v2-%' OR v LIKE 'tie-%'")) === 1200,
      60_000,
      "the second load",
    );
    await until(() => engine.drained(), 30_000, "empty inboxes");

    // Row for row: count, sums, and every value.
    const expected = (await source.query(`SELECT id, v, amount, updated_at FROM ${name} ORDER BY id`)).rows;
    const [actual] = await target.query(`SELECT id, v, amount, updated_at FROM ${name} ORDER BY id`);
    const got = actual as { id: number; v: string; amount: number; updated_at: string }[];
    assert.equal(got.length, ROWS + 200, "every source row is in the target once");
    const sum = (rows: { amount: unknown }[]) => rows.reduce((total, row) => total + Number(row.amount), 0);
    assert.equal(sum(got), sum(expected), "sum of amount");
    const mismatches = expected.filter((row, index) => {
      const other = got[index];
      return (
        !other ||
        other.id !== row.id ||
        other.v !== row.v ||
        Number(other.amount) !== Number(row.amount) ||
        Date.parse(other.updated_at) !== Date.parse(row.updated_at.toISOString?.() ?? row.updated_at) ||
        // Microseconds survive: the extracted watermark keeps every digit.
        !String(other.updated_at).includes(".")
      );
    });
    assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} rows differ`);

    const resumed = engine
      .log()
      .split("\n")
      .filter(
        (line) => line.includes('"trigger":"resume"') && line.includes("extraction run started"),
      ).length;
    assert.ok(resumed >= 1, "a kill landed in a run, which resumed under its id");
    assert.equal(await engine.stop(), 0, "exit 0 on SIGTERM");
    // Exactly once at the source: one audit message per row version (5,000 + 1,000 + 200).
    const store = new Database(engine.storeFile, { readonly: true });
    const bodies = store
      .prepare("SELECT body FROM messages WHERE channel = 'audit'")
      .pluck()
      .all() as string[];
    store.close();
    const versions = bodies.map((body) => {
      const message = JSON.parse(body) as {
        data: { id: number; v: string };
        headers: Record<string, string>;
      };
      assert.ok(message.headers["junction-run-id"], "every message names its run");
      return `${message.data.id}/${message.data.v}`;
    });
    assert.equal(new Set(versions).size, ROWS + 1200, "every row version was emitted");
    assert.equal(versions.length, ROWS + 1200, "and none twice");
    assert.equal(engine.integrityCheck(), "ok");
    summary("etl", {
      rows: ROWS + 200,
      versions: ROWS + 1200,
      kills: 2,
      loadedAtKill1: afterFirstKill,
      changedAtKill2: afterSecondKill,
      resumedRuns: resumed,
      seconds: ((performance.now() - started) / 1000).toFixed(1),
    });
    engine.remove();
  } catch (error) {
    console.log(`engine log: ${engine.logFile}`);
    throw error;
  } finally {
    await engine.kill();
    await source.query(`DROP TABLE IF EXISTS ${name}`);
    await target.query(`DROP TABLE IF EXISTS ${name}`);
    await source.end();
    await target.end();
  }
});
