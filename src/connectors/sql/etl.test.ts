import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, startEngine } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import type { ComponentContext, EmitOptions, SourceContext } from "../../api/component.js";
import { ConfigError, ShuttingDownError } from "../../api/errors.js";
import type { Message, MessageInit } from "../../api/message.js";
import { silentLogger } from "../../observe/logger.js";
import { MysqlConnection } from "../mysql/connection.js";
import { PostgresConnection } from "../postgres/connection.js";
import { runLog } from "./run-log.js";
import { checkSchedule, missedTick, nextTicks, RunSchedule } from "./schedule.js";
import type { SqlPollConfig } from "./sql-config.js";
import type { SqlDatabase } from "./sql-database.js";
import {
  checkPollConfig,
  RUN_COMPLETE_HEADER,
  RUN_ID_HEADER,
  RUN_SEQ_HEADER,
  SNAPSHOT_COMPLETE_HEADER,
  SqlPollingSource,
  WATERMARK_CHECKPOINT,
} from "./sql-poll.js";
import { SqlSink } from "./sql-sink.js";

const postgres = await serviceTest("postgres");
const mariadb = await serviceTest("mariadb");
const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const MY_URL = "mysql://root@127.0.0.1:3306/test";
const run = `je_${process.pid}_${Date.now().toString(36)}`;

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("schedule", () => {
  const where = 'postgres source in route "r"';
  const base: SqlPollConfig = { connection: "db", table: "t", watermark: "updated_at", key: "id" };

  test("a bad cron expression or time zone is a ConfigError naming the field", () => {
    assert.throws(
      () => checkPollConfig({ ...base, schedule: { cron: "0 61 * * *" } }, "postgres", "r"),
      (error: unknown) =>
        error instanceof ConfigError && /schedule\.cron "0 61 \* \* \*".*hour: 61/.test(error.message),
    );
    assert.throws(
      () => checkSchedule({ cron: "0 * * * *", timezone: "Europe/Pariss" }, where),
      (error: unknown) =>
        error instanceof ConfigError && /schedule\.timezone "Europe\/Pariss"/.test(error.message),
    );
    assert.throws(
      () => checkPollConfig({ ...base, interval: "5s", schedule: { cron: "* * * * *" } }, "postgres", "r"),
      /give `interval` or `schedule`, not both/,
    );
    assert.throws(
      () => checkPollConfig({ ...base, mode: "snapshot" }, "postgres", "r"),
      /`watermark` goes with mode: incremental/,
    );
    checkPollConfig(
      { ...base, schedule: { cron: "0 */5 * * * *", timezone: "Europe/Paris" } },
      "postgres",
      "r",
    );
  });

  test("ticks are read in the time zone, across both DST changes", () => {
    // 02:30 Paris time does not exist on 29 March 2026: a fixed time runs at 03:00 CEST instead.
    assert.deepEqual(
      iso(nextTicks({ cron: "30 2 * * *", timezone: "Europe/Paris" }, 3, new Date("2026-03-28T12:00:00Z"))),
      ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"],
    );
    // 02:30 happens twice on 25 October 2026: a fixed time runs once, at the first.
    assert.deepEqual(
      iso(nextTicks({ cron: "30 2 * * *", timezone: "Europe/Paris" }, 2, new Date("2026-10-24T12:00:00Z"))),
      ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"],
    );
    // Without a time zone the expression is UTC.
    assert.deepEqual(iso(nextTicks({ cron: "30 2 * * *" }, 1, new Date("2026-03-28T12:00:00Z"))), [
      "2026-03-29T02:30:00.000Z",
    ]);
  });

  test("misfire: a tick between the last run and now means one run at start", () => {
    const hourly = { cron: "0 * * * *", timezone: "Asia/Kolkata" }; // +05:30: ticks at :30 UTC
    const last = new Date("2026-11-24T10:30:00Z");
    assert.equal(missedTick(hourly, last, new Date("2026-11-24T11:29:59Z")), false);
    assert.equal(missedTick(hourly, last, new Date("2026-11-24T11:30:00Z")), true);
    assert.equal(missedTick(hourly, last, new Date("2026-11-25T08:00:00Z")), true);
  });

  test("a run that outlasts its tick: the next ticks are skipped, runs never overlap", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const skipped: Date[] = [];
    let release: () => void = () => {};
    const schedule = new RunSchedule(
      { cron: "* * * * * *" },
      async () => {
        runs++;
        running++;
        most = Math.max(most, running);
        // The first run lasts until a tick was skipped because of it.
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
        running--;
      },
      (tick) => {
        skipped.push(tick);
        release();
      },
    );
    schedule.start();
    try {
      await eventually(() => runs >= 2, 10_000, "a run after the skipped tick");
    } finally {
      schedule.stop();
    }
    assert.ok(skipped.length >= 1, "a tick was skipped");
    assert.equal(most, 1, "never two runs at once");
  });
});

/** A source context that keeps checkpoints in a map and records what was emitted. */
function fakeContext(owner: string, checkpoints: Map<string, string>) {
  const emitted: MessageInit[] = [];
  const lost: unknown[] = [];
  const abort = new AbortController();
  const context = {
    owner,
    configDir: "/tmp",
    logger: silentLogger(),
    signal: abort.signal,
    lost: (error: unknown) => lost.push(error),
    checkpoint: (key: string) => checkpoints.get(key),
    deadLetter: async () => {},
    emit: async (messages: MessageInit[], options?: EmitOptions) => {
      if (options?.checkpoint) checkpoints.set(options.checkpoint.key, options.checkpoint.value);
      emitted.push(...messages);
      return { ids: [], duplicate: false };
    },
  } as unknown as SourceContext;
  return { context, emitted, lost };
}

const header = (message: MessageInit, name: string) => message.headers?.[name];

for (const flavour of ["postgres", "mysql"] as const) {
  const service = flavour === "postgres" ? postgres : mariadb;
  const table = `${run}_${flavour}_src`;
  const open = (): SqlDatabase & { close(): Promise<void> } => {
    const context = { owner: "db", logger: silentLogger() } as unknown as ComponentContext;
    return flavour === "postgres"
      ? new PostgresConnection({ url: PG_URL }, context)
      : new MysqlConnection({ url: MY_URL }, context);
  };

  describe(`${flavour}: extraction runs`, () => {
    let db: SqlDatabase & { close(): Promise<void> };

    before(async () => {
      if (service.skip) return;
      db = open();
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, updated_at bigint NOT NULL, v text)`, []);
      // Ten rows; ids 3..8 share one watermark (ties), and the ids are not in watermark order.
      const rows = [
        [10, 1],
        [3, 5],
        [4, 5],
        [5, 5],
        [6, 5],
        [7, 5],
        [8, 5],
        [1, 7],
        [2, 9],
        [9, 9],
      ];
      for (const [id, at] of rows)
        await db.query(`INSERT INTO ${table} (id, updated_at, v) VALUES (${id}, ${at}, 'v${id}')`, []);
    });

    after(async () => {
      if (service.skip) return;
      await db.query(`DROP TABLE IF EXISTS ${table}`, []);
      await db.close();
    });

    test(
      "a snapshot interrupted mid-run resumes under its run id; the last row marks the end",
      service,
      async () => {
        const checkpoints = new Map<string, string>();
        const config: SqlPollConfig = {
          connection: "db",
          table,
          key: "id",
          mode: "snapshot",
          batch: 3,
          schedule: { cron: "* * * * * *" },
        };
        // First life: the second page cannot be stored because the engine is going down.
        const first = fakeContext(`${table}_snap`, checkpoints);
        const source = new SqlPollingSource(db, config);
        let calls = 0;
        const emit = first.context.emit;
        first.context.emit = async (messages, options) => {
          if (++calls === 2) throw new ShuttingDownError();
          return emit(messages, options);
        };
        await source.start(first.context);
        await eventually(() => calls >= 2, 10_000, "the second page");
        await source.stop();
        assert.equal(first.emitted.length, 3);
        const saved = JSON.parse(checkpoints.get(WATERMARK_CHECKPOINT) ?? "{}");
        assert.equal(saved.run.seq, 3, "the open run is checkpointed after its first page");

        // Second life: the run resumes at once, same id, from the 4th row, and ends with the 10th.
        const second = fakeContext(`${table}_snap`, checkpoints);
        const again = new SqlPollingSource(db, config);
        await again.start(second.context);
        try {
          await eventually(
            () => second.emitted.some((message) => header(message, SNAPSHOT_COMPLETE_HEADER) === "true"),
            10_000,
            "the end of the snapshot",
          );
        } finally {
          await again.stop();
        }
        const all = [...first.emitted, ...second.emitted];
        const firstRun = all.filter(
          (message) => header(message, RUN_ID_HEADER) === header(all[0], RUN_ID_HEADER),
        );
        assert.deepEqual(
          firstRun.map((message) => (message.data as { id: number }).id),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        );
        assert.deepEqual(
          firstRun.map((message) => header(message, RUN_SEQ_HEADER)),
          ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        );
        assert.deepEqual(
          firstRun
            .filter((message) => header(message, RUN_COMPLETE_HEADER) === "true")
            .map((m) => header(m, RUN_SEQ_HEADER)),
          ["10"],
        );
        const closed = JSON.parse(checkpoints.get(WATERMARK_CHECKPOINT) ?? "{}");
        assert.equal(closed.run, undefined, "no open run once the snapshot ended");
        assert.ok(closed.lastRun, "the finished run's start is kept for misfires");
        const record = runLog.recent(`${table}_snap`)[0];
        assert.equal(record.outcome, "success");
        assert.equal(record.trigger, "resume");
        assert.equal(record.rows, 10);
      },
    );

    test("an incremental run reads ties once; a later run reads only the newer rows", service, async () => {
      const checkpoints = new Map<string, string>();
      const config: SqlPollConfig = {
        connection: "db",
        table,
        watermark: "updated_at",
        key: "id",
        batch: 4,
        schedule: { cron: "* * * * * *" },
      };
      const life = fakeContext(`${table}_inc`, checkpoints);
      const source = new SqlPollingSource(db, config);
      await source.start(life.context);
      try {
        await eventually(() => life.emitted.length >= 10, 10_000, "the first run");
        // Rows written at the checkpoint's watermark with a higher key, and a newer one.
        await db.query(`INSERT INTO ${table} (id, updated_at, v) VALUES (11, 9, 'tie'), (12, 10, 'new')`, []);
        await db.query(`UPDATE ${table} SET updated_at = 11, v = 'changed' WHERE id = 4`, []);
        await eventually(() => life.emitted.length >= 13, 10_000, "the second run");
      } finally {
        await source.stop();
        await db.query(`DELETE FROM ${table} WHERE id > 10`, []);
        await db.query(`UPDATE ${table} SET updated_at = 5, v = 'v4' WHERE id = 4`, []);
      }
      const ids = life.emitted.map((message) => (message.data as { id: number }).id);
      assert.deepEqual(ids.slice(0, 10), [10, 3, 4, 5, 6, 7, 8, 1, 2, 9]);
      assert.deepEqual(ids.slice(10), [11, 12, 4]);
      const runs = new Set(life.emitted.map((message) => header(message, RUN_ID_HEADER)));
      assert.equal(runs.size, 2, "two runs");
      assert.equal(life.lost.length, 0);
    });

    test(
      "a failed query fails the run and the watermark stays; the restarted source runs again at once",
      service,
      async () => {
        // A yearly schedule whose last run was long ago: only the catch-up at start can run.
        const checkpoints = new Map<string, string>([
          [
            WATERMARK_CHECKPOINT,
            JSON.stringify({ watermark: 5, key: 8, lastRun: "2020-01-01T00:00:00.000Z" }),
          ],
        ]);
        const life = fakeContext(`${table}_fail`, checkpoints);
        const failing = Object.create(db) as SqlDatabase;
        let queries = 0;
        failing.query = async (sql, params, signal) => {
          if (++queries === 2) throw new Error("connection reset");
          return db.query(sql, params, signal);
        };
        Object.defineProperty(failing, "dialect", { value: db.dialect });
        const source = new SqlPollingSource(failing, {
          connection: "db",
          table,
          watermark: "updated_at",
          key: "id",
          schedule: { cron: "0 0 1 1 *" },
        });
        await source.start(life.context);
        await eventually(() => life.lost.length === 1, 10_000, "the run's failure");
        // What the engine does with a lost source: stop it, and start it again after a backoff.
        await source.stop();
        assert.equal(life.emitted.length, 0);
        assert.deepEqual(JSON.parse(checkpoints.get(WATERMARK_CHECKPOINT) ?? "{}").watermark, 5);
        assert.equal(runLog.recent(`${table}_fail`)[0].outcome, "failed");
        await source.start(life.context);
        try {
          await eventually(() => life.emitted.length === 3, 10_000, "the rows past (5, 8)");
        } finally {
          await source.stop();
        }
        assert.deepEqual(
          life.emitted.map((message) => (message.data as { id: number }).id),
          [1, 2, 9],
        );
        assert.equal(runLog.recent(`${table}_fail`)[0].outcome, "success");
        assert.equal(runLog.recent(`${table}_fail`)[0].trigger, "catch-up");
      },
    );
  });

  describe(`${flavour}: batched upserts`, () => {
    const target = `${run}_${flavour}_dst`;
    let db: SqlDatabase & { close(): Promise<void> };

    before(async () => {
      if (service.skip) return;
      db = open();
      await db.query(`CREATE TABLE ${target} (id int PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0))`, []);
    });

    after(async () => {
      if (service.skip) return;
      await db.query(`DROP TABLE IF EXISTS ${target}`, []);
      await db.close();
    });

    test(
      "one bad row in a batch: the others are written, the bad one fails for good with the reason",
      service,
      async () => {
        const context = {
          owner: "load",
          logger: silentLogger(),
          evaluate: async (expression: string, data: Record<string, unknown>) => data[expression],
        } as unknown as ComponentContext;
        const statements: string[] = [];
        const spy = Object.create(db) as SqlDatabase;
        spy.query = (sql, params, signal) => {
          statements.push(sql);
          return db.query(sql, params, signal);
        };
        Object.defineProperty(spy, "dialect", { value: db.dialect });
        const sink = new SqlSink(
          spy,
          {
            connection: "db",
            table: target,
            columns: { id: "id", qty: "qty" },
            key: ["id"],
            batch: { rows: 100, window: "50ms" },
          },
          context,
        );
        const rows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => ({ id, qty: id === 6 ? -1 : id }));
        // Id 2 twice in the batch: the later value wins, both writes succeed.
        rows.push({ id: 2, qty: 200 });
        const message = (data: unknown) =>
          ({ id: String(Math.random()), data, headers: {} }) as unknown as Message;
        const results = await Promise.allSettled(
          rows.map((row) => sink.write(message(row), AbortSignal.timeout(10_000))),
        );
        await sink.close();
        const failed = results.flatMap((result, index) =>
          result.status === "rejected" ? [{ index, error: result.reason }] : [],
        );
        assert.equal(failed.length, 1, JSON.stringify(failed));
        assert.equal(rows[failed[0].index].id, 6);
        assert.equal(failed[0].error.retryable, false, "a constraint violation is permanent: a dead letter");
        assert.match(failed[0].error.message, /check|constraint/i);
        const stored = await db.query(`SELECT id, qty FROM ${target} ORDER BY id`, []);
        assert.deepEqual(
          stored.map((row) => [Number(row.id), Number(row.qty)]),
          [1, 2, 3, 4, 5, 7, 8, 9, 10].map((id) => [id, id === 2 ? 200 : id]),
        );
        // The whole batch was tried as one statement first (nothing of it committed), then row by row.
        assert.ok(statements[0].split("), (").length >= 10, statements[0]);
      },
    );

    test(
      "through the engine: the bad row of a batch is a dead letter with the reason, the rest is loaded",
      service,
      async () => {
        const url = flavour === "postgres" ? PG_URL : MY_URL;
        const engine = await startEngine(`
connections:
  db: { ${flavour}: { url: "${url}" } }
routes:
  load:
    from: { webhook: { path: /rows } }
    concurrency: 32
    to: [ { ${flavour}: { connection: db, table: ${target}, columns: { id: id, qty: qty }, key: [id], batch: { rows: 50, window: 50ms } } } ]
`);
        try {
          await db.query(`DELETE FROM ${target}`, []);
          const ids = Array.from({ length: 20 }, (_, index) => 100 + index);
          await Promise.all(
            ids.map((id) =>
              fetch(`${engine.url}/rows`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ id, qty: id === 107 ? -5 : id }),
              }).then((response) => assert.equal(response.status, 202)),
            ),
          );
          const letters = await eventually(
            async () => {
              const found = await engine.engine.store.deadLetters({ route: "load" });
              return found.length === 1 ? found : undefined;
            },
            15_000,
            "the dead letter",
          );
          assert.deepEqual(letters[0].message.data, { id: 107, qty: -5 });
          assert.match(letters[0].error.message, /check|constraint/i);
          await eventually(
            async () => (await db.query(`SELECT id FROM ${target}`, [])).length === 19,
            15_000,
            "19 rows",
          );
        } finally {
          await engine.stop();
        }
      },
    );
  });
}
