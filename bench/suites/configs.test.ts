import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { relayNames } from "../lib/brokers.js";
import { ROOT, type ScenarioConfig, writeConfig } from "../lib/junction.js";
import { endToEnd } from "../scenarios/end-to-end.js";
import { backlogConfig } from "./backlog.js";
import { relayConfig } from "./broker-relay.js";
import { flowConfig } from "./jsonata-flow.js";

const configs: Record<string, ScenarioConfig> = {
  "end-to-end (TypeScript, a function step)": endToEnd.junction({ warehouseUrl: "http://127.0.0.1:9" }),
  "jsonata-flow": flowConfig("http://127.0.0.1:9"),
  "broker-relay amqp": relayConfig("amqp", relayNames("amqp", "test")),
  "broker-relay nats": relayConfig("nats", relayNames("nats", "test")),
  backlog: backlogConfig("http://127.0.0.1:9"),
};

for (const [name, config] of Object.entries(configs)) {
  test(`the generated ${name} configuration passes junction validate`, () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-config-"));
    try {
      const file = writeConfig(dir, config, { http: 18080, admin: 18081 });
      const result = spawnSync(
        process.execPath,
        ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "validate", "-c", file],
        { cwd: ROOT, encoding: "utf8" },
      );
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
