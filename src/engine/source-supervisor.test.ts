import assert from "node:assert/strict";
import { test } from "node:test";
import type { Source, SourceContext } from "../api/component.js";
import { ConfigError, ConnectionError } from "../api/errors.js";
import { silentLogger } from "../observe/logger.js";
import { SourceSupervisor } from "./source-supervisor.js";

function flakySource(failures: number) {
  const events: string[] = [];
  let lost: ((error: unknown) => void) | undefined;
  const source: Source = {
    async start(context) {
      lost = context.lost;
      if (failures-- > 0) {
        events.push("start-failed");
        throw new ConnectionError("broker down");
      }
      events.push("started");
    },
    async stop() {
      events.push("stopped");
    },
  };
  return { source, events, lose: (error: unknown) => lost?.(error) };
}

const context = (lost: (error: unknown) => void) => ({ lost }) as unknown as SourceContext;

test("a source that cannot connect is retried with backoff until it starts", async () => {
  const { source, events } = flakySource(2);
  const supervisor = new SourceSupervisor(source, context, silentLogger());
  await supervisor.start();
  assert.equal(supervisor.state, "reconnecting");
  const deadline = Date.now() + 5000;
  while (!events.includes("started") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, ["start-failed", "start-failed", "started"]);
  assert.equal(supervisor.state, "running");
  await supervisor.stop();
});

test("a source that reports its connection lost is stopped and started again", async () => {
  const { source, events, lose } = flakySource(0);
  const supervisor = new SourceSupervisor(source, context, silentLogger());
  await supervisor.start();
  lose(new Error("connection reset"));
  lose(new Error("reported twice"));
  const deadline = Date.now() + 5000;
  while (events.filter((e) => e === "started").length < 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, ["started", "stopped", "started"]);
  await supervisor.stop();
});

test("a configuration error is not retried", async () => {
  const source: Source = {
    start: async () => {
      throw new ConfigError("queue name missing");
    },
    stop: async () => {},
  };
  await assert.rejects(new SourceSupervisor(source, context, silentLogger()).start(), ConfigError);
});
