import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../test/helpers/engine.js";
import { freePort } from "../../test/helpers/process.js";
import { Receiver } from "../../test/helpers/receiver.js";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";

/** Prometheus comes from Debian's package (.ci/run installs it); outside CI a missing binary skips. */
function needs(binary: string): { skip?: string } {
  if (existsSync(binary)) return {};
  const reason = `${binary} is not installed (apt-get install prometheus)`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
  return { skip: reason };
}

describe("metrics", () => {
  let running: RunningEngine;
  let receiver: Receiver;

  before(async () => {
    receiver = await new Receiver().start();
    receiver.status = (request) => (request.url === "/gone" ? 410 : 201);
    running = await startEngine(`
channels:
  orders: { queue: {} }
routes:
  intake:
    from: { webhook: { path: /orders } }
    to: [ { channel: orders } ]
  deliver:
    from: { channel: orders }
    to: [ { http: { url: "${receiver.url}/erp" } } ]
  retired:
    from: { webhook: { path: /retired } }
    to: [ { http: { url: "${receiver.url}/gone" } } ]
`);
    for (let index = 0; index < 5; index++) {
      await fetch(`${running.url}/orders`, {
        method: "POST",
        body: JSON.stringify({ index }),
        headers: { "content-type": "application/json" },
      });
    }
    await fetch(`${running.url}/retired`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    await eventually(() => receiver.effects.size === 5, 5000, "deliveries");
    await eventually(
      async () => (await running.engine.store.deadLetters()).length === 1,
      5000,
      "dead letter",
    );
  });

  after(async () => {
    await running.stop();
    await receiver.close();
  });

  const scrape = async () => (await fetch(`${running.adminUrl}/metrics`)).text();

  test("counts what moved, by route, target and outcome; reads depths and dead letters from the store", async () => {
    const text = await scrape();
    assert.match(text, /junction_build_info\{version="\d+\.\d+\.\d+",node="v20/);
    assert.match(text, /messaging_client_consumed_messages_total\{route="intake",connector="webhook"\} 5/);
    assert.match(text, /messaging_client_sent_messages_total\{route="deliver",target="to\[0\]:http"\} 5/);
    assert.match(text, /junction_messages_total\{route="deliver",outcome="processed"\} 5/);
    assert.match(text, /junction_messages_total\{route="retired",outcome="dead_lettered"\} 1/);
    assert.match(
      text,
      /junction_message_failures_total\{route="retired",error_type="JUNCTION_HTTP_410",outcome="dead_lettered"\} 1/,
    );
    assert.match(text, /messaging_process_duration_seconds_count\{route="deliver"\} 5/);
    assert.match(text, /junction_channel_depth_messages\{channel="orders",subscription="orders"\} 0/);
    assert.match(text, /junction_dead_letters_messages\{route="retired"\} 1/);
    assert.match(text, /junction_store_size_bytes \d+/);
    assert.match(text, /junction_journal_rows [1-9]\d*/);
    assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}/, "no message ids in labels");
  });

  test("promtool's metric lint finds nothing", needs(PROMTOOL), async () => {
    const result = spawnSync(PROMTOOL, ["check", "metrics"], { input: await scrape(), encoding: "utf8" });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.equal(result.stdout.trim() + result.stderr.trim(), "");
  });

  test("a real Prometheus server scrapes Junction", { ...needs(PROMETHEUS), timeout: 180_000 }, async () => {
    const dir = tempDir();
    const port = await freePort();
    const admin = new URL(running.adminUrl);
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: junction\n    static_configs: [ { targets: ["${admin.host}"] } ]\n`,
    );
    const server = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    try {
      const value = await eventually(
        async () => {
          const query = encodeURIComponent('junction_messages_total{route="deliver",outcome="processed"}');
          const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`);
          const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
          return body.data.result[0]?.value[1];
        },
        40_000,
        "Prometheus to scrape the counter",
      );
      assert.equal(value, "5");
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`);
      assert.equal(((await up.json()) as any).data.result[0].value[1], "1");
    } finally {
      server.kill("SIGTERM");
    }
  });
});
