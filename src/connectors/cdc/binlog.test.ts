import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import { eventually, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";

const URL = "mysql://root@127.0.0.1:3306/test";
const run = `jcdc_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("mariadb");

interface Change {
  op: string;
  schema: string;
  table: string;
  key: Record<string, unknown> | null;
  before: Record<string, any> | null;
  after: Record<string, any> | null;
  lsn: string | null;
  txid: string | null;
  index: number;
  last: boolean;
}

function changes(receiver: Receiver, path: string): (Change & { type: string })[] {
  return receiver.requests
    .filter((request) => request.url === path)
    .map((request) => ({
      ...(JSON.parse(request.body) as Change),
      type: String(request.headers["ce-type"]),
    }));
}

describe("cdc source: MySQL/MariaDB binlog", () => {
  let db: mysql.Connection;
  let receiver: Receiver;

  before(async () => {
    if (service.skip) return;
    db = await mysql.createConnection({ uri: URL, dateStrings: true });
    receiver = await new Receiver().start();
  });

  after(async () => {
    if (service.skip) return;
    await receiver.close();
    await db.end();
  });

  test(
    "inserts, updates and deletes with before and after images; a restart resumes from the checkpoint",
    service,
    async () => {
      const table = `${run}_orders`;
      const other = `${run}_other`;
      await db.query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(12,2), at DATETIME(6)) ENGINE=InnoDB`,
      );
      await db.query(`CREATE TABLE ${other} (id INT PRIMARY KEY) ENGINE=InnoDB`);
      const yaml = `
connections:
  shop: { mysql: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: shop, tables: [${table}], maxTransactionMessages: 4 } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/binlog" } } ]
`;
      const first = await startEngine(yaml);
      let second: Awaited<ReturnType<typeof startEngine>> | undefined;
      try {
        await db.beginTransaction();
        await db.query(
          `INSERT INTO ${table} VALUES (1, 'a', 10.50, '2026-03-01 10:00:00.000001'), (2, 'b', 1, NULL)`,
        );
        await db.query(`UPDATE ${table} SET name = 'a2' WHERE id = 1`);
        await db.commit();
        await db.query(`INSERT INTO ${other} VALUES (1)`);
        await db.query(`DELETE FROM ${table} WHERE id = 2`);
        const got = await eventually(
          () => {
            const list = changes(receiver, "/binlog");
            return list.length >= 4 ? list : undefined;
          },
          15_000,
          "four changes",
        );
        assert.deepEqual(
          got.map((c) => [c.op, c.key]),
          [
            ["insert", { id: 1 }],
            ["insert", { id: 2 }],
            ["update", { id: 1 }],
            ["delete", { id: 2 }],
          ],
        );
        const [insert, , update, del] = got;
        assert.equal(insert.type, `cdc.${table}.insert`);
        assert.equal(insert.schema, "test");
        assert.deepEqual(insert.after, {
          id: 1,
          name: "a",
          amount: "10.50",
          at: "2026-03-01T10:00:00.000001",
        });
        assert.equal(insert.before, null);
        assert.deepEqual(update.before, insert.after);
        assert.equal(update.after?.name, "a2");
        assert.equal(insert.txid, update.txid);
        assert.match(String(insert.txid), /^\d+-\d+-\d+$/, "the MariaDB GTID");
        assert.notEqual(insert.txid, del.txid);
        assert.deepEqual([insert.index, update.index, update.last], [0, 2, true]);
        assert.deepEqual(del.before, { id: 2, name: "b", amount: "1.00", at: null });
        assert.equal(del.after, null);
        assert.ok(
          got.every((c) => c.table === table),
          "the unlisted table is not captured",
        );

        // Stopped: a 10-row transaction (stored in chunks of 4 later) and a single insert.
        await first.stop();
        await db.query(
          `INSERT INTO ${table} (id) VALUES ${Array.from({ length: 10 }, (_, i) => `(${10 + i})`).join(", ")}`,
        );
        await db.query(`INSERT INTO ${table} (id) VALUES (30)`);
        second = await startEngine(yaml, { dir: first.dir });
        await db.query(`ALTER TABLE ${table} ADD COLUMN note VARCHAR(10)`);
        await db.query(`INSERT INTO ${table} (id, note) VALUES (31, 'new')`);
        const all = await eventually(
          () => {
            const list = changes(receiver, "/binlog");
            return list.length >= 16 ? list : undefined;
          },
          15_000,
          "the changes made while stopped",
        );
        const ids = all.slice(4).map((c) => Number(c.after?.id));
        assert.deepEqual(ids, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 30, 31], "each once, in binlog order");
        assert.deepEqual(
          all.slice(4, 14).map((c) => c.index),
          Array.from({ length: 10 }, (_, i) => i),
        );
        assert.ok(
          all.slice(4, 15).every((c) => c.after && !("note" in c.after)),
          "rows written before ALTER TABLE keep the shape they were written with",
        );
        assert.equal(all[15].after?.note, "new", "the row after ALTER TABLE carries the new column");
        const metrics = await (await fetch(`${second.adminUrl}/metrics`)).text();
        assert.match(metrics, /junction_cdc_relation_changes\{route="capture",slot="binlog:\d+"\} 1/);
        assert.match(metrics, /junction_cdc_slot_active\{route="capture",slot="binlog:\d+"\} 1/);
      } finally {
        await second?.stop();
        await first.stop().catch(() => {});
        await db.query(`DROP TABLE IF EXISTS ${table}, ${other}`);
      }
    },
  );
  test(
    "a first start reads the existing rows (op snapshot), then the binlog from exactly there, while rows are written",
    service,
    async () => {
      const table = `${run}_snap`;
      await db.query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, amount DECIMAL(12,2), big BIGINT, at DATETIME(6)) ENGINE=InnoDB`,
      );
      const values = "10.50, 9007199254740993, '2026-03-01 10:00:00.000001'";
      await db.query(
        `INSERT INTO ${table} VALUES ${Array.from({ length: 30 }, (_, i) => `(${i + 1}, ${values})`).join(", ")}`,
      );
      // Rows keep arriving before, during and after the snapshot (read in batches of 4).
      let writing = true;
      let next = 101;
      const writer = (async () => {
        while (writing) await db.query(`INSERT INTO ${table} VALUES (${next++}, ${values})`);
      })();
      const yaml = `
connections:
  shop: { mysql: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: shop, tables: [${table}], maxTransactionMessages: 4 } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/snap" } } ]
`;
      let first: Awaited<ReturnType<typeof startEngine>> | undefined;
      let second: Awaited<ReturnType<typeof startEngine>> | undefined;
      try {
        await new Promise((resolve) => setTimeout(resolve, 50));
        first = await startEngine(yaml);
        await eventually(
          () => changes(receiver, "/snap").some((c) => c.op === "insert"),
          15_000,
          "a streamed insert",
        );
        writing = false;
        await writer;
        const written = next - 101;
        const got = await eventually(
          () => {
            const list = changes(receiver, "/snap");
            return list.length >= 30 + written ? list : undefined;
          },
          15_000,
          `all ${30 + written} rows`,
        );
        await new Promise((resolve) => setTimeout(resolve, 300)); // and nothing more
        const all = changes(receiver, "/snap");
        const ids = all.map((c) => Number(c.key?.id));
        assert.deepEqual(
          [...ids].sort((a, b) => a - b),
          [
            ...Array.from({ length: 30 }, (_, i) => i + 1),
            ...Array.from({ length: written }, (_, i) => 101 + i),
          ],
          "every row once, in the snapshot or in the stream",
        );
        const snapshot = got.filter((c) => c.op === "snapshot");
        assert.ok(snapshot.length >= 30, "the rows there before the start are in the snapshot");
        assert.deepEqual(
          all.slice(0, snapshot.length).map((c) => c.op),
          snapshot.map(() => "snapshot"),
          "the snapshot comes first",
        );
        assert.deepEqual(
          all.slice(snapshot.length).map((c) => c.op),
          all.slice(snapshot.length).map(() => "insert"),
        );
        const row = snapshot[0];
        assert.equal(row.type, `cdc.${table}.snapshot`);
        assert.deepEqual(row.key, { id: 1 });
        assert.equal(row.before, null);
        assert.deepEqual(
          row.after,
          { id: 1, amount: "10.50", big: "9007199254740993", at: "2026-03-01T10:00:00.000001" },
          "values as the stream's rows carry them",
        );
        const streamed = all[snapshot.length];
        assert.deepEqual({ ...streamed.after, id: 1 }, row.after, "a streamed row of the same values");
        assert.deepEqual(
          snapshot.map((c) => c.index),
          snapshot.map((_, i) => i),
        );
        assert.match(String(row.lsn), /^.+:\d+$/, "the binlog position the stream starts from");
        assert.ok(snapshot.every((c) => c.lsn === row.lsn && c.txid === null && c.last === false));

        // A restart resumes from the checkpoint: no second snapshot.
        await first.stop();
        second = await startEngine(yaml, { dir: first.dir });
        await db.query(`INSERT INTO ${table} VALUES (1000, ${values})`);
        await eventually(
          () => changes(receiver, "/snap").length > all.length,
          15_000,
          "the insert after the restart",
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(
          changes(receiver, "/snap")
            .slice(all.length)
            .map((c) => [c.op, c.key?.id]),
          [["insert", 1000]],
        );
      } finally {
        writing = false;
        await writer.catch(() => {});
        await second?.stop();
        await first?.stop().catch(() => {});
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
  test("snapshot: false starts at the binlog's end: rows there before are not read", service, async () => {
    const table = `${run}_nosnap`;
    await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY) ENGINE=InnoDB`);
    await db.query(`INSERT INTO ${table} VALUES (1), (2), (3)`);
    const running = await startEngine(`
connections:
  shop: { mysql: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: shop, tables: [${table}], snapshot: false } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/nosnap" } } ]
`);
    try {
      await db.query(`INSERT INTO ${table} VALUES (4)`);
      await eventually(() => changes(receiver, "/nosnap").length > 0, 15_000, "the insert");
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(
        changes(receiver, "/nosnap").map((c) => [c.op, c.key?.id]),
        [["insert", 4]],
      );
    } finally {
      await running.stop();
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });
  test(
    "a cut binlog connection is reported; the engine restarts the source and nothing is lost or repeated",
    service,
    async () => {
      const table = `${run}_cut`;
      await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY) ENGINE=InnoDB`);
      const proxy = await new TcpProxy(3306).start();
      const running = await startEngine(`
connections:
  shop: { mysql: { url: "mysql://root@127.0.0.1:${proxy.port}/test", connectTimeout: 1s } }
routes:
  capture:
    from: { cdc: { connection: shop, tables: [${table}] } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/cut" } } ]
`);
      try {
        for (let id = 1; id <= 40; id++) {
          await db.query(`INSERT INTO ${table} VALUES (?)`, [id]);
          if (id % 10 === 0) {
            proxy.refuse(true);
            await new Promise((resolve) => setTimeout(resolve, 100));
            proxy.refuse(false);
          }
        }
        const got = await eventually(
          () => {
            const list = changes(receiver, "/cut");
            return list.length >= 40 ? list : undefined;
          },
          30_000,
          "all 40 rows",
        );
        assert.deepEqual(
          got.map((c) => Number(c.after?.id)),
          Array.from({ length: 40 }, (_, i) => i + 1),
          "each row once, in binlog order",
        );
      } finally {
        await running.stop();
        await proxy.close();
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
});
