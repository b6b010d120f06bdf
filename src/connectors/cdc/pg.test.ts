import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { eventually, startEngine } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const run = `jcdc_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("postgres");

interface Change {
  op: string;
  schema: string;
  table: string;
  key: Record<string, unknown> | null;
  before: Record<string, any> | null;
  after: Record<string, any> | null;
  lsn: string | null;
  txid: string | null;
  commitTime: string | null;
  index: number;
  last: boolean;
}

function changes(receiver: Receiver, path: string): (Change & { type: string; ordering: string })[] {
  return receiver.requests
    .filter((request) => request.url === path)
    .map((request) => ({
      ...(JSON.parse(request.body) as Change),
      type: String(request.headers["ce-type"]),
      ordering: String(request.headers["x-cdc-key"] ?? ""),
    }));
}

/** Drop a slot once its walsender has gone (it lingers a moment after the engine stops). */
async function dropSlot(db: pg.Client, slot: string): Promise<void> {
  await eventually(
    async () => {
      await db.query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        [slot],
      );
      return true;
    },
    10_000,
    `slot ${slot} to be dropped`,
  );
  await db.query(`DROP PUBLICATION IF EXISTS ${slot}`);
}

describe("cdc source: PostgreSQL logical replication", () => {
  let db: pg.Client;
  let receiver: Receiver;

  before(async () => {
    if (service.skip) return;
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    receiver = await new Receiver().start();
  });

  after(async () => {
    if (service.skip) return;
    await receiver.close();
    await db.end();
  });

  test("inserts, updates and deletes with before and after images, in commit order", service, async () => {
    const table = `${run}_basic`;
    const slot = `${run}_basic`;
    await db.query(
      `CREATE TABLE ${table} (id int PRIMARY KEY, name text, amount numeric(12,2), big bigint, at timestamptz)`,
    );
    const running = await startEngine(`
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: db, tables: [${table}], slot: ${slot}, replicaIdentityFull: true } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/basic", headers: { x-cdc-key: "{{ $message.headers.\`cdc-key\` }}" } } } ]
`);
    try {
      await db.query("BEGIN");
      await db.query(
        `INSERT INTO ${table} VALUES (1, 'a', 10.50, 9007199254740993, '2026-03-01 10:00:00.000001+00'), (2, 'b', 1, 2, NULL)`,
      );
      await db.query(`UPDATE ${table} SET name = 'a2', amount = 11 WHERE id = 1`);
      await db.query("COMMIT");
      await db.query(`DELETE FROM ${table} WHERE id = 2`);
      const got = await eventually(
        () => {
          const list = changes(receiver, "/basic");
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
      const [first, second, update, del] = got;
      assert.equal(first.type, `cdc.${table}.insert`);
      assert.equal(first.schema, "public");
      assert.equal(first.before, null);
      assert.deepEqual(first.after, {
        id: 1,
        name: "a",
        amount: "10.50",
        big: "9007199254740993",
        at: "2026-03-01T10:00:00.000001+00:00",
      });
      // One transaction: same txid and commit LSN, positions 0..2, the last one marked.
      assert.equal(first.txid, update.txid);
      assert.equal(first.lsn, update.lsn);
      assert.deepEqual([first.index, second.index, update.index], [0, 1, 2]);
      assert.deepEqual([first.last, second.last, update.last], [false, false, true]);
      assert.match(String(first.commitTime), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      // REPLICA IDENTITY FULL: whole old rows.
      assert.deepEqual(update.before, { ...first.after });
      assert.equal(update.after?.name, "a2");
      assert.equal(update.after?.amount, "11.00");
      assert.deepEqual(del.before, { id: 2, name: "b", amount: "1.00", big: "2", at: null });
      assert.equal(del.after, null);
      assert.notEqual(del.txid, first.txid);
      assert.equal(del.ordering, `public.${table}:{"id":2}`);
      await db.query(`TRUNCATE ${table}`);
      const truncate = await eventually(
        () => changes(receiver, "/basic").find((c) => c.op === "truncate"),
        15_000,
        "the truncate",
      );
      assert.equal(truncate.type, `cdc.${table}.truncate`);
      assert.deepEqual([truncate.key, truncate.before, truncate.after], [null, null, null]);
    } finally {
      await running.stop();
      await dropSlot(db, slot);
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  test(
    "the snapshot and the stream meet without loss or duplicate under concurrent writes",
    service,
    async () => {
      const table = `${run}_snap`;
      const slot = `${run}_snap`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
      await db.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 1000) g`);
      const writer = new pg.Client({ connectionString: URL });
      await writer.connect();
      let writing = true;
      let next = 1001;
      // Inserts and updates keep committing while the slot and its snapshot are being made.
      const writes = (async () => {
        while (writing) {
          await writer.query(`INSERT INTO ${table} VALUES ($1, 0)`, [next]);
          await writer.query(`UPDATE ${table} SET v = v + 1 WHERE id = $1`, [1 + (next % 1000)]);
          next++;
        }
      })();
      const running = await startEngine(`
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: db, tables: [public.${table}], slot: ${slot}, maxTransactionMessages: 500 } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/snap" } } ]
`);
      try {
        await eventually(
          () => changes(receiver, "/snap").some((c) => c.op === "insert"),
          20_000,
          "streamed inserts",
        );
        writing = false;
        await writes;
        const expected = (await db.query(`SELECT id, v FROM ${table}`)).rows as { id: number; v: number }[];
        // Replay the messages on a copy: it must end equal to the table.
        const replay = () => {
          const copy = new Map<number, number>();
          const seen = { snapshot: new Set<number>(), inserted: new Set<number>(), duplicates: 0 };
          for (const c of changes(receiver, "/snap")) {
            const id = Number((c.after ?? c.before)?.id);
            if (c.op === "snapshot" || c.op === "insert") {
              if (seen.snapshot.has(id) || seen.inserted.has(id)) seen.duplicates++;
              (c.op === "snapshot" ? seen.snapshot : seen.inserted).add(id);
            }
            if (c.after) copy.set(id, Number(c.after.v));
          }
          return { copy, seen };
        };
        const { copy, seen } = await eventually(
          () => {
            const result = replay();
            return expected.every((row) => result.copy.get(row.id) === row.v) ? result : undefined;
          },
          20_000,
          "the copy to match the table",
        );
        assert.equal(seen.duplicates, 0, "no row both in the snapshot and inserted, or twice");
        assert.equal(copy.size, expected.length);
        assert.ok(seen.snapshot.size >= 1000, `snapshot rows: ${seen.snapshot.size}`);
        assert.ok(seen.inserted.size > 0, "rows inserted after the snapshot were streamed");
        assert.equal(seen.snapshot.size + seen.inserted.size, expected.length);
      } finally {
        writing = false;
        await writes.catch(() => {});
        await writer.end();
        await running.stop();
        await dropSlot(db, slot);
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );

  test(
    "only the listed tables are captured; schema changes are reported and rows take the new shape",
    service,
    async () => {
      const wanted = `${run}_wanted`;
      const other = `${run}_other`;
      const slot = `${run}_filter`;
      await db.query(`CREATE TABLE ${wanted} (id int PRIMARY KEY, a text)`);
      await db.query(`CREATE TABLE ${other} (id int PRIMARY KEY, a text)`);
      const running = await startEngine(`
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: db, tables: [${wanted}], slot: ${slot}, healthInterval: 100ms } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/filter" } } ]
`);
      try {
        await db.query(`INSERT INTO ${other} VALUES (1, 'no')`);
        await db.query(`INSERT INTO ${wanted} VALUES (1, 'x')`);
        await eventually(() => changes(receiver, "/filter").length >= 1, 15_000, "the first row");
        await db.query(`ALTER TABLE ${wanted} ADD COLUMN b int`);
        await db.query(`INSERT INTO ${wanted} VALUES (2, 'y', 7)`);
        await db.query(`ALTER TABLE ${wanted} DROP COLUMN a`);
        await db.query(`INSERT INTO ${wanted} VALUES (3, 8)`);
        await db.query(`INSERT INTO ${other} VALUES (2, 'no')`);
        await db.query(`UPDATE ${wanted} SET b = 9 WHERE id = 3`);
        const got = await eventually(
          () => {
            const list = changes(receiver, "/filter");
            return list.length >= 4 ? list : undefined;
          },
          15_000,
          "four changes",
        );
        assert.ok(
          got.every((c) => c.table === wanted),
          "nothing from the other table",
        );
        assert.deepEqual(
          got.map((c) => c.after),
          [
            { id: 1, a: "x" },
            { id: 2, a: "y", b: 7 },
            { id: 3, b: 8 },
            { id: 3, b: 9 },
          ],
        );
        const metrics = await eventually(
          async () => {
            const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
            return /junction_cdc_relation_changes\{route="capture",slot="[^"]+"\} 2/.test(text)
              ? text
              : undefined;
          },
          10_000,
          "the relation change count",
        );
        assert.match(metrics, new RegExp(`junction_cdc_slot_active\\{route="capture",slot="${slot}"\\} 1`));
        const retained = Number(
          new RegExp(`junction_cdc_slot_retained_wal_bytes\\{route="capture",slot="${slot}"\\} (\\d+)`).exec(
            metrics,
          )?.[1],
        );
        assert.ok(retained > 0, `retained WAL reported: ${retained}`);
      } finally {
        await running.stop();
        await dropSlot(db, slot);
        await db.query(`DROP TABLE IF EXISTS ${wanted}, ${other}`);
      }
    },
  );

  test("a restart resumes from the checkpoint: changes made while stopped arrive once", service, async () => {
    const table = `${run}_resume`;
    const slot = `${run}_resume`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const yaml = `
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  capture:
    from: { cdc: { connection: db, tables: [${table}], slot: ${slot}, maxTransactionMessages: 7 } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/resume" } } ]
`;
    const first = await startEngine(yaml);
    let second: Awaited<ReturnType<typeof startEngine>> | undefined;
    try {
      await db.query(`INSERT INTO ${table} SELECT generate_series(1, 20)`);
      await eventually(() => changes(receiver, "/resume").length >= 20, 15_000, "the first rows");
      await first.stop();
      await db.query(`INSERT INTO ${table} SELECT generate_series(21, 50)`);
      second = await startEngine(yaml, { dir: first.dir });
      await db.query(`INSERT INTO ${table} VALUES (51)`);
      const got = await eventually(
        () => {
          const list = changes(receiver, "/resume");
          return list.length >= 51 ? list : undefined;
        },
        15_000,
        "every row",
      );
      const ids = got.map((c) => Number(c.after?.id));
      assert.deepEqual(
        ids,
        Array.from({ length: 51 }, (_, i) => i + 1),
        "each row once, in order",
      );
      // A 30-row transaction in chunks of 7: one txid, positions 0..29, only the last marked.
      const big = got.filter((c) => Number(c.after?.id) > 20 && Number(c.after?.id) <= 50);
      assert.equal(new Set(big.map((c) => c.txid)).size, 1);
      assert.deepEqual(
        big.map((c) => c.index),
        Array.from({ length: 30 }, (_, i) => i),
      );
      assert.deepEqual(
        big.filter((c) => c.last).map((c) => c.index),
        [29],
      );
    } finally {
      await second?.stop();
      await first.stop().catch(() => {});
      await dropSlot(db, slot);
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });
  test(
    "a cut replication connection is reported; the engine restarts the source and nothing is lost or repeated",
    service,
    async () => {
      const table = `${run}_cut`;
      const slot = `${run}_cut`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const proxy = await new TcpProxy(5432).start();
      const running = await startEngine(`
connections:
  db: { postgres: { url: "postgres://postgres@127.0.0.1:${proxy.port}/test", connectTimeout: 1s } }
routes:
  capture:
    from: { cdc: { connection: db, tables: [${table}], slot: ${slot} } }
    concurrency: 1
    to: [ { http: { url: "${receiver.url}/cut" } } ]
`);
      try {
        for (let id = 1; id <= 40; id++) {
          await db.query(`INSERT INTO ${table} VALUES ($1)`, [id]);
          if (id % 10 === 0) {
            proxy.refuse(true); // every session through the proxy breaks, new ones are refused
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
          "each row once, in commit order",
        );
      } finally {
        await running.stop();
        await proxy.close();
        await dropSlot(db, slot);
        await db.query(`DROP TABLE IF EXISTS ${table}`);
      }
    },
  );
});
