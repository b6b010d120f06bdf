import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { eventually, startEngine } from "../../test/helpers/engine.js";
import { serviceTest } from "../../test/helpers/services.js";

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

test(
  "GET /api/routes/:name/runs lists a scheduled extraction's runs; an unknown route is 404",
  await serviceTest("postgres"),
  async () => {
    const table = `admin_runs_${randomBytes(3).toString("hex")}`;
    const client = new pg.Client(PG_URL);
    await client.connect();
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    await client.query(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    const running = await startEngine(`
connections:
  db: { postgres: { url: "${PG_URL}" } }
routes:
  products:
    from: { postgres: { connection: db, table: ${table}, key: id, mode: snapshot, interval: 1s } }
    to: [ { log: {} } ]
`);
    try {
      const runs = await eventually(async () => {
        const response = await fetch(`${running.adminUrl}/api/routes/products/runs`);
        const body = (await response.json()) as { outcome: string; rows: number; mode: string; id: string }[];
        return body.length > 0 ? body : undefined;
      });
      assert.equal(runs[0].outcome, "success");
      assert.equal(runs[0].mode, "snapshot");
      assert.equal(runs[0].rows, 3);
      assert.match(runs[0].id, /^\d{8}T\d{6}Z-/);
      const missing = await fetch(`${running.adminUrl}/api/routes/nope/runs`);
      assert.equal(missing.status, 404);
    } finally {
      await running.stop();
      await client.query(`DROP TABLE ${table}`);
      await client.end();
    }
  },
);
