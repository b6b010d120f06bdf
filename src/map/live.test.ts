import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { startEngine } from "../../test/helpers/engine.js";
import { createAdminServer } from "../admin/server.js";
import { registerMapCommand } from "../cli/map.js";
import { liveMap } from "./serve.js";
import type { IntegrationMap } from "./types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = join(ROOT, "examples/map-analysis");

/** `junction map ...` in this process (a child process would load every connector again). */
async function junction(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = { code: 0, stdout: "", stderr: "" };
  const program = new Command().exitOverride();
  registerMapCommand(program, ["-c, --config <file>", "configuration file"], {
    stdout: (text) => {
      result.stdout += text;
    },
    stderr: (text) => {
      result.stderr += text;
    },
    exit: (code) => {
      result.code = code;
    },
  });
  await program.parseAsync(["node", "junction", ...args]);
  return result;
}

const CONFIG = `
systems:
  sensors: { owner: iot-team, owns: [reading] }
routes:
  readings:
    from: { generate: { interval: 10ms, count: 20, system: sensors, data: { value: 1 } } }
    steps: [{ map: { jsonata: '{ "v": value }' } }]
    to: [{ log: { output: logger } }]
`;

test("GET /api/map serves the running engine's map with figures from its journal; the CLI reads it with --live", async () => {
  const running = await startEngine(CONFIG);
  const app = createAdminServer(running.engine, {});
  try {
    let map: IntegrationMap | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const response = await app.inject({ url: "/api/map?window=5" });
      assert.equal(response.statusCode, 200);
      map = response.json() as IntegrationMap;
      if ((map.figures?.routes.readings?.messages ?? 0) >= 20) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(map);
    assert.equal(map.version, 1);
    assert.equal(map.figures?.windowMinutes, 5);
    const route = map.nodes.find((node) => node.id === "route:readings");
    assert.equal(route?.figures?.messages, 20);
    assert.equal(route?.figures?.rate, 4, "20 messages over 5 minutes");
    assert.equal(route?.figures?.errorRate, 0);
    assert.ok(route?.figures?.lastSeen);
    const source = map.edges.find((edge) => edge.kind === "source");
    assert.equal(source?.from, "system:sensors");

    // The same figures through the CLI, drawn as Mermaid from the running engine.
    const cli = await junction(
      "map",
      "-c",
      "/nonexistent/junction.yaml",
      "--live",
      "--admin",
      running.adminUrl,
      "--format",
      "json",
    );
    assert.equal(cli.code, 0, cli.stderr);
    const served = JSON.parse(cli.stdout) as IntegrationMap;
    assert.equal(served.nodes.find((node) => node.id === "route:readings")?.figures?.messages, 20);
  } finally {
    await app.close();
    await running.stop();
  }
});

test("liveMap reads at most 10 000 journal entries and flags a truncated window", async () => {
  const now = Date.now();
  const store = {
    journal: async (query: { limit?: number }) =>
      Array.from({ length: query.limit ?? 0 }, (_, i) => ({
        at: new Date(now - i).toISOString(),
        messageId: `m${i}`,
        correlationId: `m${i}`,
        route: "r",
        step: null,
        outcome: "processed" as const,
        durationMs: 0,
      })),
  };
  const model = {
    configDir: "/",
    systems: {},
    connections: {},
    channels: {},
    policies: {},
    routes: {},
  } as any;
  const map = await liveMap(model, store, { window: "bogus" }, now);
  assert.equal(map.figures?.entries, 10_000);
  assert.equal(map.figures?.truncated, true);
  assert.equal(map.figures?.windowMinutes, 15);
});

test("junction map: formats, --output, --analyze with --json, and exit 2 on bad input", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "junction-map-")), "map.html");
  const results: Awaited<ReturnType<typeof junction>>[] = [];
  for (const args of [
    ["-c", join(EXAMPLE, "hub.yaml")],
    ["-c", join(EXAMPLE, "hub.yaml"), "--format", "dot"],
    ["-c", join(EXAMPLE, "outage.yaml"), "--analyze", "--json", "--down", "tax", "--for", "2h"],
    ["-c", join(EXAMPLE, "mesh.yaml"), "--analyze"],
    ["-c", join(EXAMPLE, "outage.yaml"), "--analyze", "--down", "taxes"],
    ["-c", join(EXAMPLE, "outage.yaml"), "--analyze", "--for", "two hours"],
    ["-c", join(EXAMPLE, "outage.yaml"), "--format", "svg"],
    ["-c", join(EXAMPLE, "sync-chain.yaml"), "--format", "html", "--output", out],
  ]) {
    results.push(await junction("map", ...args));
  }
  const [mermaid, dot, analysis, text, unknown, badFor, badFormat, html] = results;
  assert.equal(mermaid.code, 0, mermaid.stderr);
  assert.match(mermaid.stdout, /^flowchart LR\n/);
  assert.equal(dot.code, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph junction \{/);
  assert.equal(analysis.code, 0, analysis.stderr);
  const parsed = JSON.parse(analysis.stdout);
  assert.deepEqual(
    parsed.survival[0].routes.map((item: any) => [item.route, item.verdict]),
    [
      ["orders-to-finance", "survives"],
      ["finance-to-tax", "dead-letters"],
    ],
  );
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /mesh of 4 systems \(billing, crm, erp, shop\)/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /system "taxes" is not in the map/);
  assert.equal(badFor.code, 2);
  assert.match(badFor.stderr, /--for: not a duration/);
  assert.equal(badFormat.code, 2);
  assert.equal(html.code, 0, html.stderr);
  assert.equal(html.stdout, "");
  assert.match(readFileSync(out, "utf8"), /<svg /);
});
