import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, REPO } from "./helpers/process.js";

/** `examples/quickstart/start.mjs` with its args, on free ports, its output collected. */
async function startQuickstart(args: string[]) {
  const [http, admin, warehouse] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(REPO, "examples/quickstart/start.mjs"), ...args], {
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
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk) => {
    output.stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output.stderr += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, output, closed };
}

test("the quickstart runs: 5 orders reach the warehouse and the CSV export, the malformed one is a dead letter", {
  timeout: 180_000,
}, async () => {
  const { output, closed } = await startQuickstart(["--once"]);
  const code = await closed;
  const { stdout, stderr } = output;
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

test("the quickstart left running stops cleanly on SIGTERM and exits 0", { timeout: 180_000 }, async () => {
  const { child, output, closed } = await startQuickstart([]);
  const deadline = Date.now() + 120_000;
  while (!output.stdout.includes("Junction keeps running") && Date.now() < deadline) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.match(output.stdout, /Junction keeps running/, output.stderr);
  child.kill("SIGTERM");
  const code = await closed;
  assert.equal(code, 0, `${output.stdout}\n${output.stderr}`);
  assert.doesNotMatch(
    output.stdout,
    /junction exited with/,
    "the stop asked for is not reported as a failure",
  );
  assert.match(output.stderr, /stopped cleanly/);
});
