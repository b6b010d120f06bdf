import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { serviceTest } from "../../../test/helpers/services.js";
import { TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import { ConfigError } from "../../api/errors.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";

const URL = "mysql://root@127.0.0.1:3306/test";
const run = `jt_${process.pid}_${Date.now().toString(36)}`;
const service = await serviceTest("mariadb");

async function post(base: string, path: string, body: unknown): Promise<string> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { id: string }).id;
}

/** A JSON column's value: mysql2 decodes some (MariaDB's JSON is LONGTEXT underneath), not all. */
const parsed = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

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

async function refused(yaml: string, pattern: RegExp): Promise<void> {
  const error = await startFailure(yaml);
  assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
  assert.match(error.message, pattern);
}

describe("mysql connector: configuration", () => {
  test("schema errors name the property", () => {
    const { issues } = parseYaml(
      `
connections:
  db: { mysql: { url: "${URL}", pool: 3 } }
routes:
  r:
    from: { mysql: { connection: db, table: t, watermark: updated_at, key: id, listen: [x] } }
    to: [ { mysql: { connection: db, table: t, columns: { id: "$message.id" }, key: [] } } ]
`,
      "/tmp/junction.yaml",
      builtinRegistry(),
      {},
    );
    const text = issues.map(formatIssue).join("\n");
    assert.match(text, /unknown property "pool"/);
    assert.match(text, /from\.mysql\.listen.*unknown property "listen"/);
    assert.match(text, /key.*must NOT have fewer than 1 items/);
  });

  test("a sink needs table+columns or sql; a polling source a key", async () => {
    const base = `
connections:
  db: { mysql: { url: "${URL}" } }
routes:
  r:
    from: { FROM }
    to: [ { mysql: { connection: db, BODY } } ]
`;
    const webhook = "webhook: { path: /x }";
    await refused(
      base.replace("FROM", webhook).replace("BODY", 'sql: "UPDATE t SET a = ?", columns: { a: x }'),
      /mysql sink in route "r": `columns` and `key` go with `table`/,
    );
    await refused(
      base
        .replace("FROM", "mysql: { connection: db, table: t, watermark: updated_at }")
        .replace("BODY", 'table: t, columns: { a: "x" }'),
      /mysql source in route "r": needs `key`/,
    );
    await refused(
      base
        .replace(
          "FROM",
          'mysql: { connection: db, sql: "SELECT * FROM t WHERE id > :key", watermark: w, key: id }',
        )
        .replace("BODY", 'table: t, columns: { a: "x" }'),
      /`sql` must use the :watermark placeholder/,
    );
  });

  test("a bad URL names the connection", async () => {
    await refused(
      `
connections:
  shop: { mysql: { url: "not a url" } }
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { mysql: { connection: shop, table: t, columns: { a: "x" } } } ]
`,
      /^mysql connection "shop": url is not a valid URL/,
    );
  });

  test("wrong credentials stop a polling source from starting, naming the connection", service, async () => {
    await refused(
      `
connections:
  db: { mysql: { url: "mysql://nobody_${run}:secret@127.0.0.1:3306/test" } }
routes:
  r:
    from: { mysql: { connection: db, table: t, watermark: updated_at, key: id } }
    to: [ { log: {} } ]
`,
      /^route "r": mysql connection "db": Access denied for user 'nobody_.*' .*\(errno (1045|1698), SQLSTATE 28000\)/,
    );
  });

  test("an unknown table stops a polling source from starting", service, async () => {
    await refused(
      `
connections:
  db: { mysql: { url: "${URL}" } }
routes:
  r:
    from: { mysql: { connection: db, table: ${run}_missing, watermark: updated_at, key: id } }
    to: [ { log: {} } ]
`,
      /mysql connection "db": Table 'test\..*_missing' doesn't exist \(errno 1146/,
    );
  });
});

describe("mysql connector: sink and request", () => {
  let running: RunningEngine;
  let db: mysql.Connection;
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
  const rows = async (sql: string, params: unknown[] = []) =>
    (await db.query(sql, params))[0] as Record<string, any>[];
  const count = async (table: string) => Number((await rows(`SELECT count(*) AS n FROM ${table}`))[0].n);

  before(async () => {
    if (service.skip) return;
    db = await mysql.createConnection({ uri: URL, multipleStatements: true });
    await db.query(`
      CREATE TABLE ${t.events} (id CHAR(36) PRIMARY KEY, correlation_id CHAR(36) NOT NULL, kind VARCHAR(20), body JSON);
      CREATE TABLE ${t.orders} (id VARCHAR(20) PRIMARY KEY, sku VARCHAR(20) NOT NULL, qty INT NOT NULL CHECK (qty > 0));
      CREATE TABLE ${t.stock} (sku VARCHAR(40) PRIMARY KEY, qty INT NOT NULL);
      INSERT INTO ${t.stock} VALUES ('A-1', 100);
      CREATE TABLE ${t.many} (n INT PRIMARY KEY, message_id CHAR(36) NOT NULL, ins DATETIME(6) NOT NULL DEFAULT NOW(6));
      CREATE TABLE ${t.flaky} (n INT PRIMARY KEY);
      CREATE TABLE ${t.customers} (id INT PRIMARY KEY, name VARCHAR(20), tier VARCHAR(10), since DATETIME(6));
      INSERT INTO ${t.customers} VALUES (7, 'Ada', 'gold', '2026-01-02 03:04:05.123456');
      CREATE TABLE ${t.enriched} (order_id VARCHAR(20) PRIMARY KEY, customer JSON, name VARCHAR(20), since VARCHAR(40), none INT);
    `);
    proxy = await new TcpProxy(3306).start();
    running = await startEngine(`
connections:
  db: { mysql: { url: "${URL}", poolSize: 4 } }
  flaky: { mysql: { url: "mysql://root@127.0.0.1:${proxy.port}/test", connectTimeout: 2s } }
policies:
  quick: { retry: { attempts: 50, initial: 20ms, max: 200ms } }
routes:
  events:
    from: { webhook: { path: /events } }
    to:
      - mysql:
          connection: db
          table: ${t.events}
          columns: { id: "$message.id", correlation_id: "$message.correlationId", kind: kind, body: "$" }
  orders:
    from: { webhook: { path: /orders } }
    policy: quick
    to:
      - mysql: { connection: db, table: ${t.orders}, columns: { id: id, sku: sku, qty: quantity }, key: [id] }
  stock:
    from: { webhook: { path: /stock } }
    to:
      - mysql: { connection: db, sql: "UPDATE ${t.stock} SET qty = qty - ? WHERE sku = ?", params: [quantity, sku] }
  many:
    from: { webhook: { path: /many } }
    concurrency: 64
    to:
      - mysql: { connection: db, table: ${t.many}, columns: { n: n, message_id: "$message.id" }, key: [n], batch: { rows: 50, window: 20ms } }
  flaky:
    from: { webhook: { path: /flaky } }
    concurrency: 16
    policy: quick
    to:
      - mysql: { connection: flaky, table: ${t.flaky}, columns: { n: n }, key: [n] }
  enrich:
    from: { webhook: { path: /enrich } }
    steps:
      - enrich:
          with: { mysql: { connection: db, sql: "SELECT name, tier, since FROM ${t.customers} WHERE id = ?", params: [customerId], single: true } }
          into: customer
      - enrich:
          with: { mysql: { connection: db, sql: "SELECT id FROM ${t.customers} WHERE tier = ?", params: ["'none'"] } }
          into: none
    to:
      - mysql:
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
    const [row] = await eventually(async () => {
      const found = await rows(`SELECT * FROM ${t.events}`);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(row.id, id);
    assert.equal(row.correlation_id, id);
    assert.equal(row.kind, "created");
    assert.deepEqual(parsed(row.body), { kind: "created", items: [1, 2] });
  });

  test("upsert: the same order posted twice is one row, updated", service, async () => {
    await post(running.url, "/orders", { id: "o-1", sku: "A-1", quantity: 2 });
    await eventually(async () => (await rows(`SELECT 1 FROM ${t.orders} WHERE id = 'o-1'`)).length);
    await post(running.url, "/orders", { id: "o-1", sku: "A-1", quantity: 5 });
    await eventually(async () => (await rows(`SELECT qty FROM ${t.orders} WHERE id = 'o-1'`))[0]?.qty === 5);
    assert.deepEqual(await rows(`SELECT * FROM ${t.orders} WHERE id = 'o-1'`), [
      { id: "o-1", sku: "A-1", qty: 5 },
    ]);
  });

  test("raw sql with parameters", service, async () => {
    await post(running.url, "/stock", { sku: "A-1", quantity: 3 });
    await post(running.url, "/stock", { sku: "A-1'; DROP TABLE x; --", quantity: 1 });
    await eventually(async () => (await rows(`SELECT qty FROM ${t.stock}`))[0].qty === 97);
    assert.equal(running.engine.routes().find((route) => route.name === "stock")?.deadLettered, 0);
  });

  test("writes pile up behind a busy statement and go together (group commit)", service, async () => {
    const total = 200;
    // Hold the table: the first statements wait, and the rows arriving meanwhile gather.
    await db.query(`LOCK TABLES ${t.many} WRITE`);
    try {
      await Promise.all(Array.from({ length: total }, (_, n) => post(running.url, "/many", { n })));
      await eventually(() => running.engine.routes().find((route) => route.name === "many")!.inFlight >= 32);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await db.query("UNLOCK TABLES");
    }
    await eventually(async () => (await count(t.many)) === total, 15_000, "every row");
    // Rows written by one statement share its start time, NOW(6).
    const [{ statements }] = await rows(`SELECT count(DISTINCT ins) AS statements FROM ${t.many}`);
    assert.ok(Number(statements) <= total / 10, `${total} rows in ${statements} statements`);
  });

  test(
    "a constraint violation dead-letters its own message, with the errno; the batch lands",
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
      assert.equal(check.error.code, "JUNCTION_MYSQL_4025");
      assert.equal(check.error.retryable, false);
      assert.equal(check.error.details?.errno, 4025);
      assert.equal(check.error.details?.sqlstate, "23000");
      assert.match(check.error.message, /^mysql connection "db": CONSTRAINT .* failed/);
      assert.equal(check.attempts.length, 1, "not retried");
      assert.equal(byId.get(ids[3])!.error.details?.errno, 1048);
      assert.deepEqual(
        (await rows(`SELECT id FROM ${t.orders} WHERE sku = 'B' ORDER BY id`)).map((row) => row.id),
        ["o-2", "o-4"],
      );
    },
  );

  test("a connection cut mid-stream is retried and every row lands once", service, async () => {
    const total = 120;
    proxy.delay(10); // statements take a while, so the cuts find some in flight
    for (let n = 0; n < total; n++) {
      await post(running.url, "/flaky", { n });
      if (n % 30 === 15) proxy.cut();
      if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    proxy.cut();
    await eventually(async () => (await count(t.flaky)) === total, 20_000, "every row after the cuts");
    assert.equal((await running.engine.store.deadLetters({ route: "flaky" })).length, 0);
    const status = running.engine.routes().find((route) => route.name === "flaky")!;
    assert.ok(status.failed > 0, "the cuts interrupted statements in flight");
    proxy.delay(0);
  });

  test("enrich: a looked-up row becomes part of the message", service, async () => {
    await post(running.url, "/enrich", { orderId: "e-1", customerId: 7 });
    await post(running.url, "/enrich", { orderId: "e-2", customerId: 8 });
    const found = await eventually(async () => {
      const result = await rows(`SELECT * FROM ${t.enriched} ORDER BY order_id`);
      return result.length === 2 ? result : undefined;
    });
    assert.deepEqual(parsed(found[0].customer), {
      name: "Ada",
      tier: "gold",
      since: "2026-01-02T03:04:05.123456",
    });
    assert.equal(found[0].name, "Ada");
    assert.equal(found[0].since, "2026-01-02T03:04:05.123456");
    assert.equal(found[0].none, 0, "a query without rows answers []");
    assert.equal(found[1].customer, null, "single: true without a row answers null");
  });
});
