import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import { ConfigError } from "../../api/errors.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const run = `jt_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("postgres");

async function post(base: string, path: string, body: unknown): Promise<string> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
}

/** Start an engine that must fail, stopping what it started; the error it failed with. */
async function startFailure(yaml: string): Promise<unknown> {
  const dir = tempDir();
  const text = `${yaml}\nengine:\n  store: { sqlite: { path: store.db } }\n  http: { listen: "127.0.0.1:0" }\n`;
  const { model, issues } = parseYaml(text, join(dir, "junction.yaml"), builtinRegistry(), {});
  assert.ok(model, issues.map(formatIssue).join("\n"));
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  try {
    await engine.start();
  } catch (error) {
    return error;
  } finally {
    await engine.stop();
  }
  assert.fail("the engine started");
}

function issuesOf(yaml: string): string[] {
  const { issues } = parseYaml(yaml, "/tmp/junction.yaml", builtinRegistry(), {});
  return issues.map(formatIssue);
}

describe("postgres connector: configuration", () => {
  test("schema errors name the property", () => {
    const issues = issuesOf(`
connections:
  db: { postgres: { url: "${URL}", poolsize: 3 } }
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { postgres: { connection: dbx, table: t, columns: { id: "$message.id" }, batch: { rows: 0 } } } ]
`);
    const text = issues.join("\n");
    assert.match(text, /unknown property "poolsize" \(did you mean "poolSize"\?\)/);
    assert.match(text, /connection "dbx" is not declared under connections: \(did you mean "db"\?\)/);
    assert.match(text, /batch\.rows.*must be >= 1/);
  });

  const refused = async (yaml: string, pattern: RegExp) => {
    const error = await startFailure(yaml);
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    assert.match(error.message, pattern);
  };

  test("a sink needs table+columns or sql, and keys among the columns", async () => {
    const base = `
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { postgres: { connection: db, BODY } } ]
`;
    await refused(base.replace("BODY", "table: t"), /postgres sink in route "r": `table` needs `columns`/);
    await refused(base.replace("BODY", 'table: t, sql: "select 1"'), /give `table` or `sql`, not both/);
    await refused(
      base.replace("BODY", 'table: t, columns: { a: "x" }, key: [id]'),
      /key column "id" is not among `columns` \(a\)/,
    );
  });

  test("a bad URL names the connection", async () => {
    await refused(
      `
connections:
  warehouse: { postgres: { url: "mysql://root@127.0.0.1/test" } }
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { postgres: { connection: warehouse, table: t, columns: { a: "x" } } } ]
`,
      /^postgres connection "warehouse": url must start with postgres:\/\//,
    );
  });

  test("wrong credentials stop a polling source from starting, naming the connection", service, async () => {
    await refused(
      `
connections:
  db: { postgres: { url: "postgres://nobody_${run}@127.0.0.1:5432/test" } }
routes:
  r:
    from: { postgres: { connection: db, table: t, watermark: updated_at, key: id } }
    to: [ { log: {} } ]
`,
      /postgres connection "db": .*nobody_.* \(SQLSTATE 28000\)/,
    );
  });

  test("an unknown table stops a polling source from starting", service, async () => {
    await refused(
      `
connections:
  db: { postgres: { url: "${URL}" } }
routes:
  r:
    from: { postgres: { connection: db, table: ${run}_missing, watermark: updated_at, key: id } }
    to: [ { log: {} } ]
`,
      /route "r": postgres connection "db": relation ".*_missing" does not exist \(SQLSTATE 42P01\)/,
    );
  });
});

describe("postgres connector: sink and request", () => {
  let running: RunningEngine;
  let db: pg.Client;
  let proxy: TcpProxy;
  const t = {
    events: `${run}_events`,
    orders: `${run}_orders`,
    stock: `${run}_stock`,
    many: `${run}_many`,
    flaky: `${run}_flaky`,
    customers: `${run}_customers`,
    enriched: `${run}_enriched`,
  };

  before(async () => {
    if (service.skip) return;
    db = new pg.Client({ connectionString: URL });
    await db.connect();
    await db.query(`
      CREATE TABLE ${t.events} (id uuid PRIMARY KEY, correlation_id text NOT NULL, kind text, body jsonb);
      CREATE TABLE ${t.orders} (id text PRIMARY KEY, sku text NOT NULL, qty int NOT NULL CHECK (qty > 0));
      CREATE TABLE ${t.stock} (sku text PRIMARY KEY, qty int NOT NULL);
      INSERT INTO ${t.stock} VALUES ('A-1', 100);
      CREATE TABLE ${t.many} (n int PRIMARY KEY, message_id uuid NOT NULL);
      CREATE TABLE ${t.flaky} (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
      CREATE TABLE ${t.customers} (id int PRIMARY KEY, name text, tier text, since timestamptz);
      INSERT INTO ${t.customers} VALUES (7, 'Ada', 'gold', '2026-01-02 03:04:05.123456+00');
      CREATE TABLE ${t.enriched} (order_id text PRIMARY KEY, customer jsonb, name text, since text, none int);
    `);
    proxy = await new TcpProxy(5432).start();
    running = await startEngine(`
connections:
  db: { postgres: { url: "${URL}", poolSize: 4 } }
  flaky: { postgres: { url: "postgres://postgres@127.0.0.1:${proxy.port}/test", connectTimeout: 2s } }
policies:
  quick: { retry: { attempts: 50, initial: 20ms, max: 200ms } }
routes:
  events:
    from: { webhook: { path: /events } }
    to:
      - postgres:
          connection: db
          table: ${t.events}
          columns: { id: "$message.id", correlation_id: "$message.correlationId", kind: kind, body: "$" }
  orders:
    from: { webhook: { path: /orders } }
    policy: quick
    to:
      - postgres: { connection: db, table: ${t.orders}, columns: { id: id, sku: sku, qty: quantity }, key: [id] }
  stock:
    from: { webhook: { path: /stock } }
    to:
      - postgres: { connection: db, sql: "UPDATE ${t.stock} SET qty = qty - $1 WHERE sku = $2", params: [quantity, sku] }
  many:
    from: { webhook: { path: /many } }
    concurrency: 64
    to:
      - postgres: { connection: db, table: ${t.many}, columns: { n: n, message_id: "$message.id" }, key: [n], batch: { rows: 50, window: 20ms } }
  flaky:
    from: { webhook: { path: /flaky } }
    concurrency: 16
    policy: quick
    to:
      - postgres: { connection: flaky, table: ${t.flaky}, columns: { n: n }, key: [n] }
  enrich:
    from: { webhook: { path: /enrich } }
    steps:
      - enrich:
          with: { postgres: { connection: db, sql: "SELECT name, tier, since FROM ${t.customers} WHERE id = $1", params: [customerId], single: true } }
          into: customer
      - enrich:
          with: { postgres: { connection: db, sql: "SELECT id FROM ${t.customers} WHERE tier = $1", params: ["'none'"] } }
          into: none
    to:
      - postgres:
          connection: db
          table: ${t.enriched}
          columns: { order_id: orderId, customer: customer, name: customer.name, since: customer.since, none: "$count(none)" }
`);
  });

  after(async () => {
    if (service.skip) return;
    await running?.stop();
    await proxy?.close();
    await db.query(`DROP TABLE IF EXISTS ${Object.values(t).join(", ")}`);
    await db.end();
  });

  test("insert maps columns from the data and the envelope", service, async () => {
    const id = await post(running.url, "/events", { kind: "created", items: [1, 2] });
    const row = await eventually(async () => (await db.query(`SELECT * FROM ${t.events}`)).rows[0]);
    assert.equal(row.id, id);
    assert.equal(row.correlation_id, id);
    assert.equal(row.kind, "created");
    assert.deepEqual(row.body, { kind: "created", items: [1, 2] });
  });

  test("upsert: the same order posted twice is one row, updated", service, async () => {
    await post(running.url, "/orders", { id: "o-1", sku: "A-1", quantity: 2 });
    await eventually(async () => (await db.query(`SELECT 1 FROM ${t.orders} WHERE id = 'o-1'`)).rowCount);
    await post(running.url, "/orders", { id: "o-1", sku: "A-1", quantity: 5 });
    await eventually(
      async () => (await db.query(`SELECT qty FROM ${t.orders} WHERE id = 'o-1'`)).rows[0]?.qty === 5,
    );
    const { rows } = await db.query(`SELECT * FROM ${t.orders} WHERE id = 'o-1'`);
    assert.deepEqual(rows, [{ id: "o-1", sku: "A-1", qty: 5 }]);
  });

  test("raw sql with parameters", service, async () => {
    await post(running.url, "/stock", { sku: "A-1", quantity: 3 });
    await post(running.url, "/stock", { sku: "A-1'; DROP TABLE x; --", quantity: 1 });
    await eventually(async () => (await db.query(`SELECT qty FROM ${t.stock}`)).rows[0].qty === 97);
    assert.equal(running.engine.routes().find((route) => route.name === "stock")?.deadLettered, 0);
  });

  test("writes pile up behind a busy statement and go together (group commit)", service, async () => {
    const count = 200;
    // Hold the table: the first statements wait, and the rows arriving meanwhile gather.
    await db.query(`BEGIN; LOCK TABLE ${t.many} IN EXCLUSIVE MODE`);
    try {
      await Promise.all(Array.from({ length: count }, (_, n) => post(running.url, "/many", { n })));
      await eventually(() => running.engine.routes().find((route) => route.name === "many")!.inFlight >= 32);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await db.query("COMMIT");
    }
    await eventually(
      async () => Number((await db.query(`SELECT count(*) FROM ${t.many}`)).rows[0].count) === count,
      15_000,
      "every row",
    );
    // Rows written by one statement share its transaction id (xmin).
    const statements = Number(
      (await db.query(`SELECT count(DISTINCT xmin::text) AS n FROM ${t.many}`)).rows[0].n,
    );
    assert.ok(statements <= count / 10, `${count} rows in ${statements} statements`);
  });

  test(
    "a constraint violation dead-letters its own message, with the SQLSTATE; the batch lands",
    service,
    async () => {
      const ids = await Promise.all([
        post(running.url, "/orders", { id: "o-2", sku: "B", quantity: 1 }),
        post(running.url, "/orders", { id: "o-3", sku: "B", quantity: 0 }),
        post(running.url, "/orders", { id: "o-4", sku: "B", quantity: 4 }),
        post(running.url, "/orders", { id: "o-5", quantity: 4 }),
      ]);
      const dead = await eventually(async () => {
        const letters = await running.engine.store.deadLetters({ route: "orders" });
        return letters.length === 2 ? letters : undefined;
      });
      const byId = new Map(dead.map((letter) => [letter.message.id, letter]));
      const check = byId.get(ids[1])!;
      assert.equal(check.error.code, "JUNCTION_POSTGRES_23514");
      assert.equal(check.error.retryable, false);
      assert.equal(check.error.details?.sqlstate, "23514");
      assert.match(check.error.message, /^postgres connection "db": .*check constraint/);
      assert.equal(check.attempts.length, 1, "not retried");
      assert.equal(byId.get(ids[3])!.error.details?.sqlstate, "23502");
      const { rows } = await db.query(`SELECT id FROM ${t.orders} WHERE sku = 'B' ORDER BY id`);
      assert.deepEqual(
        rows.map((row) => row.id),
        ["o-2", "o-4"],
      );
    },
  );

  test("a connection cut mid-stream is retried and every row lands once", service, async () => {
    const count = 120;
    proxy.delay(10); // statements take a while, so the cuts find some in flight
    const posting = (async () => {
      for (let n = 0; n < count; n++) {
        await post(running.url, "/flaky", { n });
        if (n % 30 === 15) proxy.cut();
        if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await posting;
    proxy.cut();
    await eventually(
      async () => Number((await db.query(`SELECT count(*) FROM ${t.flaky}`)).rows[0].count) === count,
      20_000,
      "every row after the cuts",
    );
    assert.equal((await running.engine.store.deadLetters({ route: "flaky" })).length, 0);
    const status = running.engine.routes().find((route) => route.name === "flaky")!;
    assert.ok(status.failed > 0, "the cuts interrupted statements in flight");
    proxy.delay(0);
  });

  test("enrich: a looked-up row becomes part of the message", service, async () => {
    await post(running.url, "/enrich", { orderId: "e-1", customerId: 7 });
    await post(running.url, "/enrich", { orderId: "e-2", customerId: 8 });
    const rows = await eventually(async () => {
      const result = await db.query(`SELECT * FROM ${t.enriched} ORDER BY order_id`);
      return result.rowCount === 2 ? result.rows : undefined;
    });
    assert.deepEqual(rows[0].customer, {
      name: "Ada",
      tier: "gold",
      since: "2026-01-02T03:04:05.123456+00:00",
    });
    assert.equal(rows[0].name, "Ada");
    assert.equal(rows[0].since, "2026-01-02T03:04:05.123456+00:00");
    assert.equal(rows[0].none, 0, "a query without rows answers []");
    assert.equal(rows[1].customer, null, "single: true without a row answers null");
    assert.equal(rows[1].name, null);
  });
});
