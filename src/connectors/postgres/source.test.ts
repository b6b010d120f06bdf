import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { eventually, type RunningEngine, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const run = `jt_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("postgres");

/** Rows the receiver got on a path, as parsed bodies with their subject. */
function received(receiver: Receiver, path: string): { data: any; subject: unknown }[] {
  return receiver.requests
    .filter((request) => request.url === path)
    .map((request) => ({ data: JSON.parse(request.body), subject: request.headers["ce-subject"] }));
}

function countById(rows: { data: any }[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(row.data.id, (counts.get(row.data.id) ?? 0) + 1);
  return counts;
}

describe("postgres source: polling by watermark", () => {
  let db: pg.Client;
  let receiver: Receiver;
  const table = `${run}_poll`;

  before(async () => {
    if (service.skip) return;
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    receiver = await new Receiver().start();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text)`);
  });

  after(async () => {
    if (service.skip) return;
    await receiver.close();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  const insert = (ids: number[], at: string, v = "x") =>
    db.query(
      `INSERT INTO ${table} (id, updated_at, v) SELECT id, $2::timestamptz, $3 FROM unnest($1::int[]) AS id`,
      [ids, at, v],
    );

  test(
    "rows before and after a restart arrive exactly once, ties on the watermark included",
    service,
    async () => {
      // Seven rows share one instant (microseconds matter), so batches of 3 end inside the tie.
      const t0 = "2026-03-01 10:00:00.000001+00";
      const t1 = "2026-03-01 10:00:00.000002+00";
      const t2 = "2026-03-01 10:00:01+00";
      await insert([1, 2, 3, 4, 5, 6, 7], t0);
      await insert([8, 9, 10], t1);
      await insert([11], t1, "skip");
      const yaml = `
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  poll:
    from: { postgres: { connection: db, table: ${table}, watermark: updated_at, key: id, batch: 3, interval: 50ms } }
    to: [ { http: { url: "${receiver.url}/table" } } ]
  query:
    from:
      postgres:
        connection: db
        sql: "SELECT id, updated_at, v FROM ${table} WHERE (updated_at, id) > (:watermark, :key) AND v <> 'skip';"
        watermark: updated_at
        key: id
        start: { watermark: "2000-01-01T00:00:00Z", key: 0 }
        batch: 4
        interval: 50ms
        subject: orders
    to: [ { http: { url: "${receiver.url}/query" } } ]
`;
      const first = await startEngine(yaml);
      await eventually(
        () => received(receiver, "/table").length >= 11 && received(receiver, "/query").length >= 10,
      );
      await first.stop();

      // While it is down: more rows at the last watermark (higher keys) and later.
      await insert([12, 13], t1);
      await insert([14, 15], t2);
      const second = await startEngine(yaml, { dir: first.dir });
      try {
        await insert([16], "2026-03-01 10:00:02+00");
        await eventually(
          () => received(receiver, "/table").length >= 16 && received(receiver, "/query").length >= 15,
          10_000,
          "every row after the restart",
        );
        await new Promise((resolve) => setTimeout(resolve, 200)); // a few more polls: nothing new
      } finally {
        await second.stop();
      }
      const table_ = received(receiver, "/table");
      const counts = countById(table_);
      assert.deepEqual(
        [...counts.keys()].sort((a, b) => a - b),
        Array.from({ length: 16 }, (_, i) => i + 1),
      );
      assert.ok(
        [...counts.values()].every((n) => n === 1),
        `each row once: ${JSON.stringify([...counts])}`,
      );
      assert.equal(table_[0].subject, table);
      // Delivered concurrently (route concurrency 8): not necessarily in row order.
      assert.deepEqual(table_.find((row) => row.data.id === 1)?.data, {
        id: 1,
        updated_at: "2026-03-01T10:00:00.000001+00:00",
        v: "x",
      });

      const query = received(receiver, "/query");
      const queryCounts = countById(query);
      assert.equal(queryCounts.size, 15);
      assert.ok(!queryCounts.has(11), "the query's own condition applies");
      assert.ok([...queryCounts.values()].every((n) => n === 1));
      assert.equal(query[0].subject, "orders");
    },
  );

  test(
    "a lost connection is reported; the engine restarts the source and nothing is lost",
    service,
    async () => {
      const lossy = `${table}_lossy`;
      await db.query(
        `CREATE TABLE ${lossy} (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
      );
      const proxy = await new TcpProxy(5432).start();
      const running = await startEngine(`
connections:
  db: { postgres: { url: "postgres://postgres@127.0.0.1:${proxy.port}/test", connectTimeout: 1s } }
routes:
  lossy:
    from: { postgres: { connection: db, table: ${lossy}, watermark: updated_at, key: id, batch: 5, interval: 20ms } }
    to: [ { http: { url: "${receiver.url}/lossy" } } ]
`);
      try {
        for (let id = 1; id <= 40; id++) {
          await db.query(`INSERT INTO ${lossy} (id) VALUES ($1)`, [id]);
          if (id % 10 === 0) {
            proxy.refuse(true);
            await new Promise((resolve) => setTimeout(resolve, 100));
            proxy.refuse(false);
          }
        }
        await eventually(() => countById(received(receiver, "/lossy")).size === 40, 15_000, "all 40 rows");
        const counts = countById(received(receiver, "/lossy"));
        assert.ok(
          [...counts.values()].every((n) => n === 1),
          "each row once",
        );
      } finally {
        await running.stop();
        await proxy.close();
        await db.query(`DROP TABLE IF EXISTS ${lossy}`);
      }
    },
  );
});

describe("postgres source: LISTEN/NOTIFY", () => {
  let db: pg.Client;
  let receiver: Receiver;
  let running: RunningEngine;
  const channel = `${run}_chan`;
  const strict = `${run}_strict`;
  const app = `jt-listen-${run}`;

  before(async () => {
    if (service.skip) return;
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    receiver = await new Receiver().start();
    running = await startEngine(`
connections:
  db: { postgres: { url: "${URL}", applicationName: ${app} } }
routes:
  notified:
    from: { postgres: { connection: db, listen: [${channel}] } }
    to: [ { http: { url: "${receiver.url}/notify" } } ]
  strict:
    from: { postgres: { connection: db, listen: [${strict}], payload: json } }
    to: [ { http: { url: "${receiver.url}/strict" } } ]
`);
  });

  after(async () => {
    if (service.skip) return;
    await running.stop();
    await receiver.close();
    await db.end();
  });

  const notify = (name: string, payload: string) => db.query("SELECT pg_notify($1, $2)", [name, payload]);
  const listener = async (): Promise<number | undefined> =>
    (
      await db.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND state = 'idle'",
        [app, `LISTEN "${channel}"`],
      )
    ).rows[0]?.pid;

  test("a NOTIFY becomes a message; JSON payloads are decoded", service, async () => {
    await notify(channel, JSON.stringify({ orderId: 42, status: "paid" }));
    await notify(channel, "just text");
    const rows = await eventually(() => {
      const got = received(receiver, "/notify");
      return got.length === 2 ? got : undefined;
    });
    // Delivered concurrently: compare without order.
    const data = rows.map((row) => row.data);
    assert.deepEqual(
      data.find((value) => typeof value === "object"),
      { orderId: 42, status: "paid" },
    );
    assert.ok(data.includes("just text"));
    assert.equal(rows[0].subject, channel);
  });

  test("payload: json dead-letters a payload that is not JSON", service, async () => {
    await notify(strict, "{not json");
    await notify(strict, '{"ok":true}');
    await eventually(() => received(receiver, "/strict").length === 1);
    const [letter] = await eventually(async () => {
      const letters = await running.engine.store.deadLetters({ route: "strict" });
      return letters.length === 1 ? letters : undefined;
    });
    assert.equal(letter.error.code, "JUNCTION_POSTGRES_PAYLOAD");
    assert.equal(letter.message.data, "{not json");
  });

  test(
    "after pg_terminate_backend the engine restarts the source, which LISTENs again",
    service,
    async () => {
      const before = await eventually(listener);
      const { rows } = await db.query("SELECT pg_terminate_backend($1) AS done", [before]);
      assert.equal(rows[0].done, true);
      const again = await eventually(async () => {
        const pid = await listener();
        return pid !== undefined && pid !== before ? pid : undefined;
      });
      assert.notEqual(again, before);
      const already = received(receiver, "/notify").length;
      await notify(channel, JSON.stringify({ after: "restart" }));
      const rows_ = await eventually(() => {
        const got = received(receiver, "/notify");
        return got.length === already + 1 ? got : undefined;
      });
      assert.deepEqual(rows_[already].data, { after: "restart" });
    },
  );
});
