import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ComponentContext, Sink } from "../../api/component.js";
import { ConfigError, ConnectionError, DeliveryRejectedError, ValidationError } from "../../api/errors.js";
import { createMessage, type Message } from "../../api/message.js";
import { silentLogger } from "../../observe/logger.js";
import { AppendWriter } from "./append-writer.js";
import type { FileSinkConfig } from "./config.js";
import { exportPath, TEMP_PATTERN } from "./export-writer.js";
import { ioError } from "./io-errors.js";
import { createFileSink } from "./sink.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "junction-file-sink-"));
}

/** A context whose render substitutes `{{ path }}` from the data, like the engine's for plain paths. */
function context(configDir: string): ComponentContext {
  return {
    owner: "test",
    configDir,
    logger: silentLogger(),
    connection: () => {
      throw new Error("no connections");
    },
    httpServer: () => {
      throw new Error("no http");
    },
    evaluate: async () => undefined,
    render: async (template, data) =>
      template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, path: string) =>
        String(path.split(".").reduce((node: any, key) => node?.[key], data) ?? ""),
      ),
  };
}

const message = (data: unknown): Message => createMessage({ source: "test", type: "t", data });
const signal = new AbortController().signal;

function sink(dir: string, config: FileSinkConfig): Sink {
  return createFileSink(config, context(dir));
}

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean);

describe("file sink, append mode", () => {
  test("ndjson: one line per message, in order, on disk when write resolves", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "out/a.ndjson", fsync: true });
    for (let i = 0; i < 5; i++) {
      await out.write(message({ i }), signal);
      assert.equal(lines(join(dir, "out/a.ndjson")).length, i + 1);
    }
    await out.close?.();
    assert.deepEqual(
      lines(join(dir, "out/a.ndjson")).map((line) => JSON.parse(line).i),
      [0, 1, 2, 3, 4],
    );
  });

  test("concurrent writes never interleave lines", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "a.ndjson" });
    const pad = "x".repeat(10_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => out.write(message({ i, pad }), signal)));
    await out.close?.();
    const seen = lines(join(dir, "a.ndjson")).map((line) => JSON.parse(line).i);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test("envelope: the whole message", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "a.ndjson", envelope: true });
    const m = message({ a: 1 });
    await out.write(m, signal);
    await out.close?.();
    const written = JSON.parse(lines(join(dir, "a.ndjson"))[0]);
    assert.equal(written.id, m.id);
    assert.deepEqual(written.data, { a: 1 });
  });

  test("csv: header on a new file from the first message's keys; nested values as JSON", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "a.csv", format: "csv" });
    await out.write(message([]), signal); // no rows: nothing written, no columns learnt
    await out.write(message({ sku: "A,1", qty: 2, ok: true, tags: ["x"] }), signal);
    await out.write(message([{ sku: "B", qty: 3, extra: 1 }, { qty: 4 }]), signal);
    await out.close?.();
    assert.equal(
      readFileSync(join(dir, "a.csv"), "utf8"),
      'sku,qty,ok,tags\n"A,1",2,true,"[""x""]"\nB,3,,\n,4,,\n',
    );
  });

  test("csv: appending to an existing file keeps its header's columns", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.csv"), "qty,sku\n1,A\n");
    const out = sink(dir, { path: "a.csv", format: "csv" });
    await out.write(message({ sku: "B", qty: 2 }), signal);
    await out.close?.();
    assert.equal(readFileSync(join(dir, "a.csv"), "utf8"), "qty,sku\n1,A\n2,B\n");
  });

  test("csv of something that is not an object is a permanent ValidationError; the file is unchanged", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "a.csv", format: "csv", columns: ["a"] });
    await out.write(message({ a: 1 }), signal);
    for (const data of ["text", 42, null, [1]]) {
      await assert.rejects(out.write(message(data), signal), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.retryable, false);
        assert.match(error.message, /cannot be written as CSV/);
        return true;
      });
    }
    await out.write(message({ a: 2 }), signal);
    await out.close?.();
    assert.equal(readFileSync(join(dir, "a.csv"), "utf8"), "a\n1\n2\n");
  });

  test("rotation by size: the current file is renamed <name>.<timestamp>.<ext>, nothing is lost", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "logs/a.csv", format: "csv", rotate: { size: "100b" } });
    for (let i = 0; i < 20; i++) await out.write(message({ n: i, text: "0123456789" }), signal);
    await out.close?.();
    const files = readdirSync(join(dir, "logs")).sort();
    assert.ok(files.length > 3, `expected several files, got ${files}`);
    const rotated = files.filter((name) => name !== "a.csv");
    for (const name of rotated) assert.match(name, /^a\.\d{8}T\d{9}Z\.csv$/);
    const rows: number[] = [];
    // Rotated names sort by time; the current file holds the newest rows.
    for (const name of [...rotated, "a.csv"]) {
      const content = readFileSync(join(dir, "logs", name), "utf8");
      assert.ok(Buffer.byteLength(content) <= 100, `${name} is ${Buffer.byteLength(content)} bytes`);
      const [header, ...body] = content.split("\n").filter(Boolean);
      assert.equal(header, "n,text", `${name} starts with the header`);
      rows.push(...body.map((row) => Number(row.split(",")[0])));
    }
    assert.deepEqual(
      rows,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  test("rotation by age happens at the first write after `every`", async () => {
    const dir = tempDir();
    let now = Date.now();
    const writer = new AppendWriter(join(dir, "a.ndjson"), {
      format: "ndjson",
      delimiter: ",",
      header: true,
      envelope: false,
      fsync: false,
      rotateEveryMs: 60_000,
      now: () => now,
    });
    await writer.write(message({ n: 1 }));
    now += 30_000;
    await writer.write(message({ n: 2 }));
    assert.equal(readdirSync(dir).length, 1);
    now += 31_000;
    await writer.write(message({ n: 3 }));
    await writer.close();
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    assert.deepEqual(lines(join(dir, "a.ndjson")), ['{"n":3}']);
    assert.deepEqual(lines(join(dir, files.find((name) => name !== "a.ndjson")!)), ['{"n":1}', '{"n":2}']);
  });

  test("a full disk is a retryable ConnectionError", { skip: !existsSync("/dev/full") }, async () => {
    const writer = new AppendWriter("/dev/full", {
      format: "ndjson",
      delimiter: ",",
      header: true,
      envelope: false,
      fsync: false,
    });
    await assert.rejects(writer.write(message({ a: 1 })), (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.retryable, true);
      assert.match(error.message, /ENOSPC/);
      return true;
    });
    await writer.close();
  });

  test("file-system errors: disk trouble retries, impossible paths do not", () => {
    const io = (code: string) => Object.assign(new Error(`${code}: x`), { code });
    assert.ok(ioError(io("ENOSPC"), "write", "p") instanceof ConnectionError);
    assert.ok(ioError(io("EIO"), "write", "p") instanceof ConnectionError);
    assert.ok(ioError(io("EACCES"), "write", "p") instanceof ConnectionError);
    assert.ok(ioError(io("ENAMETOOLONG"), "write", "p") instanceof DeliveryRejectedError);
  });

  test("options that do not fit together are config errors", () => {
    const dir = tempDir();
    assert.throws(() => sink(dir, { path: "a.json", format: "json" }), ConfigError);
    assert.throws(() => sink(dir, { path: "{{ id }}.ndjson" }), ConfigError);
    assert.throws(() => sink(dir, { path: "a", mode: "export", rotate: { size: "1mb" } }), ConfigError);
  });
});

describe("file sink, export mode", () => {
  test("one file per message at the rendered path, in the chosen format", async () => {
    const dir = tempDir();
    const json = sink(dir, { path: "exports/{{ orderId }}.json", mode: "export", format: "json" });
    await json.write(message({ orderId: "A-1", total: 5 }), signal);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "exports/A-1.json"), "utf8")), {
      orderId: "A-1",
      total: 5,
    });
    const csv = sink(dir, { path: "exports/batch.csv", mode: "export", format: "csv" });
    await csv.write(message([{ a: 1 }, { a: 2, b: "x" }]), signal);
    assert.equal(readFileSync(join(dir, "exports/batch.csv"), "utf8"), "a,b\n1,\n2,x\n");
    const ndjson = sink(dir, { path: "exports/lines.ndjson", mode: "export" });
    await ndjson.write(message([{ a: 1 }, { a: 2 }]), signal);
    assert.equal(readFileSync(join(dir, "exports/lines.ndjson"), "utf8"), '{"a":1}\n{"a":2}\n');
  });

  test("a rendered path may not climb out of the template's directory", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "exports/{{ id }}.json", mode: "export", format: "json" });
    await assert.rejects(out.write(message({ id: "../../evil" }), signal), ValidationError);
    assert.equal(existsSync(join(dir, "../evil.json")), false);
    assert.equal(exportPath("/cfg", "out/{{ a }}/{{ b }}.json", "out/x/y.json"), "/cfg/out/x/y.json");
    assert.throws(() => exportPath("/cfg", "out/{{ a }}", "out/"), ValidationError);
    assert.throws(() => exportPath("/cfg", "out/{{ a }}", "out/a\0b"), ValidationError);
  });

  test("writes are atomic: a reader only ever sees whole files, and no temp file is left", async () => {
    const dir = tempDir();
    const out = sink(dir, { path: "exports/{{ n }}.json", mode: "export", format: "json" });
    const big = "y".repeat(200_000);
    mkdirSync(join(dir, "exports"));
    let writing = true;
    let checks = 0;
    const reader = (async () => {
      while (writing) {
        for (const name of readdirSync(join(dir, "exports"))) {
          if (name.startsWith(".")) {
            assert.match(name, TEMP_PATTERN);
            continue;
          }
          let text: string;
          try {
            text = readFileSync(join(dir, "exports", name), "utf8");
          } catch {
            continue; // replaced between listing and reading
          }
          const data = JSON.parse(text); // throws on a partial file
          assert.equal(data.big.length, big.length);
          checks++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await out.write(message({ n: "first", big }), signal);
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => out.write(message({ n: i % 10, round, big }), signal)),
      );
    }
    writing = false;
    await reader;
    assert.ok(checks > 0, "the reader saw files");
    const names = readdirSync(join(dir, "exports"));
    assert.deepEqual(
      names.filter((name) => name.startsWith(".")),
      [],
    );
    assert.equal(names.length, 11);
  });
});
