import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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
];

test("importing every connector and the engine loads no client library a config may not use", () => {
  // A fresh process: this one may have loaded them through other tests.
  const script = `
    const Module = (await import("node:module")).default;
    await import("./src/builtins.ts");
    await import("./src/engine/engine.ts");
    const loaded = new Set();
    for (const key of Object.keys(Module._cache)) {
      const match = /node_modules\\/((@[^/]+\\/)?[^/]+)\\//.exec(key);
      if (match) loaded.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...loaded]));
  `;
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", script],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  const loaded = new Set(JSON.parse(output) as string[]);
  assert.ok(loaded.has("better-sqlite3"), "the probe sees CommonJS packages the engine loads");
  assert.deepEqual(
    LAZY.filter((name) => loaded.has(name)),
    [],
  );
});
