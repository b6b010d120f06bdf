import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { builtinRegistry } from "../../builtins.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";

/** A real engine on a temporary directory: `routes` is the YAML of the routes section. */
async function startEngine(routes: string): Promise<{ engine: Engine; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "junction-file-engine-"));
  mkdirSync(join(dir, "in"));
  const text = `routes:
${routes}
engine:
  store: { sqlite: { path: ${join(dir, "store.db")} } }
  http: { listen: "127.0.0.1:0" }
  admin: { listen: "127.0.0.1:0" }
  shutdown: { timeout: 2s }
`;
  const file = join(dir, "junction.yaml");
  writeFileSync(file, text);
  const { model, issues } = parseYaml(text, file, builtinRegistry(), process.env);
  assert.ok(model, `config is valid: ${JSON.stringify(issues)}`);
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  await engine.start();
  return { engine, dir };
}

/** Drop a file the way writers should: write under a dot name, then rename into the directory. */
function drop(dir: string, name: string, content: string): void {
  writeFileSync(join(dir, "in", `.${name}.part`), content);
  renameSync(join(dir, "in", `.${name}.part`), join(dir, "in", name));
}

async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function outLines(dir: string, name = "out.ndjson"): unknown[] {
  const path = join(dir, name);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** Every byte under a directory, for "this text appears nowhere" checks. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) parts.push(readFileSync(join(entry.parentPath, entry.name)));
  }
  return Buffer.concat(parts);
}

// concurrency 1: the assertions below check the order of the sink's lines.
const route = (from: string) => `  drop:
    concurrency: 1
    from: { file: { dir: in, pollInterval: 25ms, ${from} } }
    to: [ { file: { path: out.ndjson } } ]`;

describe("file connector in a running engine", () => {
  test("CSV with a header reaches the file sink in order with typed columns; the file moves to done/", async () => {
    const { engine, dir } = await startEngine(
      route("columns: { qty: integer, price: number, active: boolean }, batch: 3"),
    );
    try {
      const rows = Array.from({ length: 10 }, (_, i) => `SKU-${i},${i},${i}.5,${i % 2 === 0}`);
      drop(dir, "orders.csv", `sku,qty,price,active\n${rows.join("\n")}\n`);
      await until(() => outLines(dir).length === 10, "10 records in out.ndjson");
      await until(() => existsSync(join(dir, "in", "done", "orders.csv")), "orders.csv in done/");
      assert.deepEqual(
        outLines(dir),
        Array.from({ length: 10 }, (_, i) => ({
          sku: `SKU-${i}`,
          qty: i,
          price: i + 0.5,
          active: i % 2 === 0,
        })),
      );
      assert.equal(existsSync(join(dir, "in", "orders.csv")), false);
      assert.deepEqual(await engine.store.deadLetters(), []);
    } finally {
      await engine.stop();
    }
  });

  test("a CSV row with the wrong column count becomes a dead letter naming its line; other rows arrive", async () => {
    const { engine, dir } = await startEngine(route("columns: { qty: integer }"));
    try {
      drop(dir, "orders.csv", "sku,qty\nA,1\nB,2,extra\nC,3\nD,four\nE,5\n");
      await until(() => existsSync(join(dir, "in", "done", "orders.csv")), "orders.csv in done/");
      await until(() => outLines(dir).length === 3, "3 good records");
      assert.deepEqual(
        outLines(dir).map((record) => (record as { sku: string }).sku),
        ["A", "C", "E"],
      );
      const dead = await engine.store.deadLetters({ route: "drop" });
      const reasons = dead.map((letter) => letter.error.message).sort();
      assert.equal(reasons.length, 2);
      assert.match(
        reasons[0],
        /^orders\.csv line 3 \(record 2\): the row has 3 fields where the header has 2/,
      );
      assert.match(reasons[1], /^orders\.csv line 5 \(record 4\): column "qty": "four" is not an integer/);
      const row = dead.find((letter) => letter.message.headers["junction-line"] === "3")!;
      assert.deepEqual(row.message.data, ["B", "2", "extra"]);
      assert.equal(row.error.retryable, false);
    } finally {
      await engine.stop();
    }
  });

  test("an NDJSON line that is not JSON becomes a dead letter naming its line; other lines arrive", async () => {
    const { engine, dir } = await startEngine(route("batch: 2"));
    try {
      drop(dir, "events.ndjson", '{"n":1}\n{"n":2}\n{"n":3,\n{"n":4}\n\n{"n":5}\n');
      await until(() => existsSync(join(dir, "in", "done", "events.ndjson")), "events.ndjson in done/");
      await until(() => outLines(dir).length === 4, "4 good records");
      assert.deepEqual(outLines(dir), [{ n: 1 }, { n: 2 }, { n: 4 }, { n: 5 }]);
      const [dead, ...more] = await engine.store.deadLetters({ route: "drop" });
      assert.equal(more.length, 0);
      assert.match(dead.error.message, /^events\.ndjson line 3 \(record 3\): not JSON/);
      assert.equal(dead.message.data, '{"n":3,');
      assert.equal(dead.message.subject, "events.ndjson");
    } finally {
      await engine.stop();
    }
  });

  test("a JSON array file and an XML file with recordElement give the right records", async () => {
    const { engine, dir } = await startEngine(route("recordElement: order"));
    try {
      drop(
        dir,
        "a.json",
        JSON.stringify([
          { id: 1, lines: [{ sku: "A" }] },
          { id: 2, note: "x,]}" },
        ]),
      );
      await until(() => existsSync(join(dir, "in", "done", "a.json")), "a.json in done/");
      drop(
        dir,
        "b.xml",
        `<?xml version="1.0"?>
<orders><header>ignored</header>
  <order id="3"><line sku="B" qty="1"/><line sku="C" qty="2"/><note>glass &amp; care</note></order>
  <order id="4"><line sku="D" qty="3"/></order>
</orders>`,
      );
      await until(() => existsSync(join(dir, "in", "done", "b.xml")), "b.xml in done/");
      await until(() => outLines(dir).length === 4, "4 records");
      assert.deepEqual(outLines(dir), [
        { id: 1, lines: [{ sku: "A" }] },
        { id: 2, note: "x,]}" },
        {
          "@id": "3",
          line: [
            { "@sku": "B", "@qty": "1" },
            { "@sku": "C", "@qty": "2" },
          ],
          note: "glass & care",
        },
        { "@id": "4", line: { "@sku": "D", "@qty": "3" } },
      ]);
    } finally {
      await engine.stop();
    }
  });

  test("XXE and billion-laughs documents go to failed/ with a reason, leak nothing, and the next file is processed", async () => {
    const { engine, dir } = await startEngine(route("recordElement: order"));
    const secret = readFileSync("/etc/passwd", "utf8").split("\n")[0];
    try {
      drop(
        dir,
        "xxe.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x><order>&e;</order></x>',
      );
      const lol = Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
      ).join("\n");
      drop(
        dir,
        "lol.xml",
        `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n${lol}\n]>\n<lolz><order>&lol9;</order></lolz>`,
      );
      await until(
        () =>
          existsSync(join(dir, "in", "failed", "xxe.xml.reason.txt")) &&
          existsSync(join(dir, "in", "failed", "lol.xml.reason.txt")),
        "both reason files",
      );
      drop(dir, "good.xml", '<orders><order id="1"/></orders>');
      await until(() => existsSync(join(dir, "in", "done", "good.xml")), "good.xml in done/");
      await until(() => outLines(dir).length === 1, "the good record");
      assert.deepEqual(outLines(dir), [{ "@id": "1" }]);
      for (const name of ["xxe.xml", "lol.xml"]) {
        assert.ok(existsSync(join(dir, "in", "failed", name)), `${name} kept in failed/`);
        const reason = readFileSync(join(dir, "in", "failed", `${name}.reason.txt`), "utf8");
        assert.match(reason, /entity declarations are refused \(.*\) \(line \d+\)/);
        assert.match(reason, /Records stored before the error: 0/);
      }
      assert.deepEqual(await engine.store.deadLetters(), []);
      assert.ok(statSync(join(dir, "out.ndjson")).size < 100);
    } finally {
      await engine.stop();
    }
    assert.equal(allBytes(dir).includes(secret), false, "no byte of /etc/passwd was copied anywhere");
  });
});
