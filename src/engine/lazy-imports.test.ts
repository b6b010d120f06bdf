import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Client libraries a connector or feature loads on first use, never at import. */
const LAZY = [
  "rabbitmq-client",
  "mqtt",
  "ioredis",
  "soap",
  "mysql2",
  "@opentelemetry/sdk-trace-base",
  "@opentelemetry/exporter-trace-otlp-http",
  "@platformatic/kafka",
  "@grpc/grpc-js",
  "@grpc/proto-loader",
  "@nats-io/transport-node",
  "@nats-io/jetstream",
  "@nats-io/nats-core",
  "pg",
  "pg-logical-replication",
  "@vlasky/zongji",
];

/**
 * A loader hook that appends every ES module URL it loads to a file: ESM-only packages
 * (@platformatic/kafka) never show in the CommonJS cache. The hook returns after writing, so the
 * file is complete once the imports resolve.
 */
const RECORD_ESM = `
  import { appendFileSync } from "node:fs";
  let file;
  export function initialize(data) { file = data.file; }
  export async function load(url, context, next) {
    appendFileSync(file, url + "\\n");
    return next(url, context);
  }
`;

test("importing every connector and the engine loads no client library a config may not use", () => {
  // A fresh process: this one may have loaded them through other tests.
  const dir = mkdtempSync(join(tmpdir(), "junction-lazy-"));
  const esmFile = join(dir, "esm.txt");
  const script = `
    const Module = (await import("node:module")).default;
    Module.register("data:text/javascript," + encodeURIComponent(${JSON.stringify(RECORD_ESM)}), {
      data: { file: ${JSON.stringify(esmFile)} },
    });
    await import("./src/builtins.ts");
    await import("./src/engine/engine.ts");
    const esm = (await import("node:fs")).readFileSync(${JSON.stringify(esmFile)}, "utf8").split("\\n");
    const loaded = new Set();
    for (const key of [...Object.keys(Module._cache), ...esm]) {
      const match = /node_modules\\/((@[^/]+\\/)?[^/]+)\\//.exec(key);
      if (match) loaded.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...loaded]));
  `;
  let output: string;
  try {
    output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
      cwd: ROOT,
      encoding: "utf8",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loaded = new Set(JSON.parse(output) as string[]);
  assert.ok(loaded.has("better-sqlite3"), "the probe sees CommonJS packages the engine loads");
  assert.ok(loaded.has("typebox"), "the probe sees ES module packages the engine loads");
  assert.deepEqual(
    LAZY.filter((name) => loaded.has(name)),
    [],
  );
});
