import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, REPO } from "./helpers/process.js";

test("the quickstart runs: 5 orders reach the warehouse and the CSV export, the malformed one is a dead letter", {
  timeout: 180_000,
}, async () => {
  const [http, admin, warehouse] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(REPO, "examples/quickstart/start.mjs"), "--once"], {
    env: {
      ...process.env,
      QUICKSTART_USE_TSX: "1",
      NO_PRETTY: "1",
      JUNCTION_HTTP: `127.0.0.1:${http}`,
      JUNCTION_ADMIN: `127.0.0.1:${admin}`,
      WAREHOUSE_PORT: String(warehouse),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.equal(stdout.match(/: 202 /g)?.length, 6, "every order, good or bad, is accepted durably");
  assert.match(stdout, /warehouse received 5 shipments/);
  assert.match(stdout, /SO-1005,linus,34\.5,EUR,/);
  assert.match(
    stdout,
    /dead letters: 1\n {2}SO-BAD in shop-orders-in at steps\[0\]:validate: .*items\[0\]\.quantity must be >= 1/,
  );
  assert.match(stderr, /junction running 3 routes/);
  assert.match(stderr, /stopped cleanly/);
});
