import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ValidationError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { RunWriter, runFilePath } from "./run-writer.js";

const dir = mkdtempSync(join(tmpdir(), "junction-run-writer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const row = (run: string, seq: number, total: number, data: unknown): Message =>
  ({
    id: `${run}-${seq}`,
    data,
    headers: {
      "junction-run-id": run,
      "junction-run-seq": String(seq),
      ...(seq === total ? { "junction-run-complete": "true" } : {}),
    },
  }) as unknown as Message;

const options = { delimiter: ",", header: true } as const;

test("a run's rows become one CSV file only once every row is written, whatever their order", async () => {
  const path = join(dir, "csv", "orders.csv");
  const writer = new RunWriter(path, { ...options, format: "csv" });
  const final = runFilePath(path, "20261124T190500Z-aaaaaa");
  assert.equal(final, join(dir, "csv", "orders.20261124T190500Z-aaaaaa.csv"));
  await writer.write(row("20261124T190500Z-aaaaaa", 1, 3, { id: 1, name: "a,b" }));
  // The last message overtakes the second (route concurrency): no file yet.
  await writer.write(row("20261124T190500Z-aaaaaa", 3, 3, { id: 3, name: "c" }));
  assert.equal(existsSync(final), false);
  // A crash: row 1 redelivered (staged, not acknowledged), and a half-written line at the end.
  appendFileSync(join(dir, "csv", ".orders.20261124T190500Z-aaaaaa.csv.run"), '[2,{"id":2,"na');
  const restarted = new RunWriter(path, { ...options, format: "csv" });
  await restarted.write(row("20261124T190500Z-aaaaaa", 1, 3, { id: 1, name: "a,b" }));
  await restarted.write(row("20261124T190500Z-aaaaaa", 2, 3, { id: 2, name: 'say "hi"' }));
  assert.equal(readFileSync(final, "utf8"), 'id,name\n1,"a,b"\n3,c\n2,"say ""hi"""\n');
  assert.deepEqual(
    readdirSync(join(dir, "csv")),
    ["orders.20261124T190500Z-aaaaaa.csv"],
    "no staging file left",
  );
  // A redelivery after the file was made changes nothing.
  await restarted.write(row("20261124T190500Z-aaaaaa", 3, 3, { id: 3, name: "c" }));
  assert.equal(readFileSync(final, "utf8").split("\n").length, 5);
});

test("json and ndjson runs; messages without a run id are refused with the reason", async () => {
  const json = new RunWriter(join(dir, "out.json"), { ...options, format: "json" });
  await json.write(row("r1", 1, 2, { id: 1 }));
  await json.write(row("r1", 2, 2, { id: 2 }));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "out.r1.json"), "utf8")), [{ id: 1 }, { id: 2 }]);
  const ndjson = new RunWriter(join(dir, "out.ndjson"), { ...options, format: "ndjson" });
  await ndjson.write(row("r2", 1, 1, { id: 7 }));
  assert.equal(readFileSync(join(dir, "out.r2.ndjson"), "utf8"), '{"id":7}\n');
  await assert.rejects(
    async () => json.write({ id: "x", data: { id: 1 }, headers: {} } as unknown as Message),
    (error: unknown) => error instanceof ValidationError && /junction-run-id/.test(error.message),
  );
});
