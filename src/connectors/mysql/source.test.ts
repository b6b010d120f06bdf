import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import { eventually, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";

const URL = "mysql://root@127.0.0.1:3306/test";
const run = `jt_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("mariadb");

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

describe("mysql source: polling by watermark", () => {
  let db: mysql.Connection;
  let receiver: Receiver;
  const table = `${run}_poll`;

  before(async () => {
    if (service.skip) return;
    db = await mysql.createConnection({ uri: URL });
    receiver = await new Receiver().start();
    await db.query(
      `CREATE TABLE ${table} (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, v VARCHAR(10))`,
    );
  });

  after(async () => {
    if (service.skip) return;
    await receiver.close();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  const insert = (ids: number[], at: string, v = "x") =>
    db.query(`INSERT INTO ${table} (id, updated_at, v) VALUES ?`, [ids.map((id) => [id, at, v])]);

  test(
    "rows before and after a restart arrive exactly once, ties on the watermark included",
    service,
    async () => {
      // Seven rows share one instant (microseconds matter), so batches of 3 end inside the tie.
      const t0 = "2026-03-01 10:00:00.000001";
      const t1 = "2026-03-01 10:00:00.000002";
      await insert([1, 2, 3, 4, 5, 6, 7], t0);
      await insert([8, 9, 10], t1);
      await insert([11], t1, "skip");
      const yaml = `
connections:
  db: { mysql: { url: "${URL}" } }
routes:
  poll:
    from: { mysql: { connection: db, table: ${table}, watermark: updated_at, key: id, batch: 3, interval: 50ms } }
    to: [ { http: { url: "${receiver.url}/table" } } ]
  query:
    from:
      mysql:
        connection: db
        sql: "SELECT id, updated_at, v FROM ${table} WHERE (updated_at > :watermark OR (updated_at = :watermark AND id > :key)) AND v <> 'skip'"
        watermark: updated_at
        key: id
        start: { watermark: "2000-01-01 00:00:00", key: 0 }
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
      await insert([14, 15], "2026-03-01 10:00:01");
      const second = await startEngine(yaml, { dir: first.dir });
      try {
        await insert([16], "2026-03-01 10:00:02");
        await eventually(
          () => received(receiver, "/table").length >= 16 && received(receiver, "/query").length >= 15,
          10_000,
          "every row after the restart",
        );
        await new Promise((resolve) => setTimeout(resolve, 200)); // a few more polls: nothing new
      } finally {
        await second.stop();
      }
      const fromTable = received(receiver, "/table");
      const counts = countById(fromTable);
      assert.deepEqual(
        [...counts.keys()].sort((a, b) => a - b),
        Array.from({ length: 16 }, (_, i) => i + 1),
      );
      assert.ok(
        [...counts.values()].every((n) => n === 1),
        `each row once: ${JSON.stringify([...counts])}`,
      );
      assert.equal(fromTable[0].subject, table);
      // Delivered concurrently (route concurrency 8): not necessarily in row order.
      assert.deepEqual(fromTable.find((row) => row.data.id === 1)?.data, {
        id: 1,
        updated_at: "2026-03-01T10:00:00.000001",
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
      await db.query(`CREATE TABLE ${lossy} (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)`);
      const proxy = await new TcpProxy(3306).start();
      const running = await startEngine(`
connections:
  db: { mysql: { url: "mysql://root@127.0.0.1:${proxy.port}/test", connectTimeout: 1s } }
routes:
  lossy:
    from: { mysql: { connection: db, table: ${lossy}, watermark: updated_at, key: id, batch: 5, interval: 20ms } }
    to: [ { http: { url: "${receiver.url}/lossy" } } ]
`);
      try {
        for (let id = 1; id <= 40; id++) {
          await db.query(`INSERT INTO ${lossy} VALUES (?, NOW(6))`, [id]);
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
