#!/usr/bin/env node
// The quickstart: a stand-in warehouse API, Junction running examples/quickstart/junction.yaml,
// and a shop posting signed orders (one of them malformed). `--once` exits after the demo.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const once = process.argv.includes("--once");
const secret = process.env.SHOP_SECRET ?? "quickstart-secret";
const httpListen = process.env.JUNCTION_HTTP ?? "127.0.0.1:8080";
const adminListen = process.env.JUNCTION_ADMIN ?? "127.0.0.1:4195";
const warehousePort = Number(process.env.WAREHOUSE_PORT ?? 9000);
const say = (text = "") => process.stdout.write(`${text}\n`);

// A fresh run every time: the demo's store and export live beside the config.
rmSync(join(here, ".junction"), { recursive: true, force: true });
rmSync(join(here, "exports"), { recursive: true, force: true });

// 1. The warehouse: a plain HTTP API that prints what it receives.
const shipments = [];
const warehouse = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    shipments.push({ key: request.headers["idempotency-key"], body: JSON.parse(body) });
    say(`  warehouse ← ${request.method} ${request.url} ${body}`);
    response.writeHead(201, { "content-type": "application/json" }).end('{"accepted":true}');
  });
});
await new Promise((resolve) => warehouse.listen(warehousePort, "127.0.0.1", resolve));

// 2. Junction, as users run it.
const built = join(repo, "dist", "cli", "main.js");
const args =
  existsSync(built) && !process.env.QUICKSTART_USE_TSX
    ? [built]
    : ["--import", "tsx", join(repo, "src", "cli", "main.ts")];
const junction = spawn(process.execPath, [...args, "run", "-c", join(here, "junction.yaml")], {
  env: {
    ...process.env,
    WAREHOUSE_URL: `http://127.0.0.1:${warehousePort}`,
    SHOP_SECRET: secret,
    JUNCTION_HTTP: httpListen,
    JUNCTION_ADMIN: adminListen,
  },
  stdio: ["ignore", "inherit", "inherit"],
});
const stopAll = (code) => {
  stopping = true; // junction's exit is then the one asked for, not a failure to report
  junction.kill("SIGTERM");
  junction.once("exit", (exit) => {
    warehouse.close();
    process.exit(code ?? exit ?? 0);
  });
};
let stopping = false;
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
junction.once("exit", (code) => {
  if (!stopping) {
    say(`junction exited with ${code}`);
    warehouse.close();
    process.exit(code || 1);
  }
});

const admin = `http://${adminListen}`;
for (let tries = 0; ; tries++) {
  if (junction.exitCode !== null) await new Promise(() => {}); // the exit handler reports it
  try {
    if ((await fetch(`${admin}/readyz`)).ok) break;
  } catch {}
  if (tries > 300) throw new Error("junction did not become ready");
  await new Promise((resolve) => setTimeout(resolve, 100));
}

// 3. The shop posts orders, signed like GitHub webhooks (X-Hub-Signature-256).
const post = async (order) => {
  const body = JSON.stringify(order);
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const response = await fetch(`http://${httpListen}/orders`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
  });
  return `${response.status} ${await response.text()}`;
};
say("\nshop → POST /orders");
const customers = ["ada", "grace", "linus"];
for (let index = 1; index <= 5; index++) {
  const order = {
    orderId: `SO-${1000 + index}`,
    customerId: customers[index % 3],
    customer: { name: customers[index % 3].toUpperCase(), email: `${customers[index % 3]}@example.com` },
    items: [
      { sku: "TEA-01", quantity: index, price: 4.5 },
      { sku: "CUP-02", quantity: 1, price: 12 },
    ],
  };
  say(`  ${order.orderId}: ${await post(order)}`);
}
const malformed = {
  orderId: "SO-BAD",
  customerId: "ada",
  customer: { name: "ADA" },
  items: [{ sku: "TEA-01", quantity: 0, price: 4.5 }],
};
say(`  SO-BAD (quantity 0): ${await post(malformed)}`);

// 4. What happened.
for (let tries = 0; shipments.length < 5 && tries < 100; tries++)
  await new Promise((resolve) => setTimeout(resolve, 100));
await new Promise((resolve) => setTimeout(resolve, 300));
say(`\nwarehouse received ${shipments.length} shipments`);
const csv = join(here, "exports", "orders.csv");
say("\nfinance export examples/quickstart/exports/orders.csv:");
say(existsSync(csv) ? readFileSync(csv, "utf8").trimEnd().replace(/^/gm, "  ") : "  (not written yet)");
const letters = await (await fetch(`${admin}/api/dlq`)).json();
say(`\ndead letters: ${letters.length}`);
for (const letter of letters)
  say(`  ${letter.message.data.orderId} in ${letter.route} at ${letter.step}: ${letter.error.message}`);

if (once) {
  stopping = true;
  stopAll(shipments.length === 5 && letters.length === 1 ? 0 : 1);
} else {
  say(`\nJunction keeps running. Try:`);
  say(`  curl -s ${admin}/api/routes | head -c 600; echo`);
  say(`  curl -s ${admin}/api/channels; echo`);
  say(`  curl -s ${admin}/api/dlq; echo`);
  say(`Ctrl-C stops it (SIGTERM drains in-flight work first).`);
  process.on("SIGINT", () => {
    stopping = true;
  });
}
