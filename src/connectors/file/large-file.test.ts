import assert from "node:assert/strict";
import { once } from "node:events";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { builtinRegistry } from "../../builtins.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";

// A full collection before each sample measures what is live, not garbage waiting for the collector.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

// Few, large records: the point is the bytes read, not the per-message cost of the engine.
const RECORDS = 2_000;
const PAD = "x".repeat(25_000);

async function writeBigFile(path: string): Promise<number> {
  const out = createWriteStream(path);
  for (let i = 1; i <= RECORDS; i++) {
    if (!out.write(`{"i":${i},"pad":"${PAD}"}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return statSync(path).size;
}

/** Record numbers in the sink's output (route concurrency may reorder neighbours). */
async function readNumbers(path: string): Promise<number[]> {
  const numbers: number[] = [];
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line) numbers.push(JSON.parse(line).i);
  }
  return numbers;
}

test("a ~50 MB NDJSON file streams through the engine without being held in memory", {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-file-large-"));
  mkdirSync(join(dir, "in"));
  const size = await writeBigFile(join(dir, ".big.ndjson.part"));
  assert.ok(size > 45_000_000, `file is ${size} bytes`);
  const text = `routes:
  big:
    from: { file: { dir: in, pollInterval: 50ms, batch: 500 } }
    to: [ { file: { path: out.ndjson } } ]
engine:
  store: { sqlite: { path: ${join(dir, "store.db")} } }
  http: { listen: "127.0.0.1:0" }
  admin: { listen: "127.0.0.1:0" }
`;
  const { model, issues } = parseYaml(text, join(dir, "junction.yaml"), builtinRegistry(), process.env);
  assert.ok(model, JSON.stringify(issues));
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  await engine.start();
  gc();
  // Buffers live outside the V8 heap: count them too.
  const live = () => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const baseline = live();
  let peak = 0;
  const sampler = setInterval(() => {
    gc();
    peak = Math.max(peak, live() - baseline);
  }, 200);
  const started = Date.now();
  try {
    renameSync(join(dir, ".big.ndjson.part"), join(dir, "in", "big.ndjson"));
    const deadline = Date.now() + 50_000;
    while (
      !existsSync(join(dir, "in", "done", "big.ndjson")) ||
      engine.store.depth("route:big") > 0 ||
      engine.routes()[0].inFlight > 0
    ) {
      assert.ok(Date.now() < deadline, "processed in time");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clearInterval(sampler);
    await engine.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const numbers = await readNumbers(join(dir, "out.ndjson"));
  rmSync(dir, { recursive: true, force: true });
  assert.equal(numbers.length, RECORDS);
  assert.deepEqual(
    numbers.sort((a, b) => a - b),
    Array.from({ length: RECORDS }, (_, i) => i + 1),
    "every record exactly once",
  );
  const peakMb = peak / 1024 / 1024;
  console.log(
    `# ${RECORDS} records, ${(size / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s; peak live memory +${peakMb.toFixed(1)} MB`,
  );
  assert.ok(
    peakMb < 40,
    `live memory grew by ${peakMb.toFixed(1)} MB while reading a ${(size / 1e6).toFixed(0)} MB file`,
  );
});
