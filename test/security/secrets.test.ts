import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { eventually, tempDir } from "../helpers/engine.js";
import { exited, freePort, spawnJunction, waitReady } from "../helpers/process.js";
import { Receiver } from "../helpers/receiver.js";

const CANARIES = {
  urlPassword: "canary-url-pass-7f3a",
  token: "canary-bearer-token-91c2",
  apiKey: "canary-api-key-55e0",
  hmac: "canary-hmac-secret-0b4d",
  admin: "canary-admin-token-c8a1",
};

test("configured secrets never appear in logs, dead letters, the journal or admin API answers", {
  timeout: 180_000,
}, async () => {
  // A careless ERP that echoes the request's headers in its error answers.
  const erp = await new Receiver().start();
  erp.status = (request) => (request.url === "/echo-400" ? 400 : 503);
  const echoes: string[] = [];
  erp.answer = (request) => {
    echoes.push(JSON.stringify(request.headers));
    return { error: "rejected", youSent: request.headers };
  };
  const dir = tempDir();
  const [httpPort, adminPort] = [await freePort(), await freePort()];
  const erpUrl = new URL(erp.url);
  writeFileSync(
    join(dir, "junction.yaml"),
    `
connections:
  erp:
    http:
      baseUrl: "http://erp-user:${CANARIES.urlPassword}@${erpUrl.host}"
      headers: { x-api-key: "\${ERP_KEY}" }
    circuitBreaker: { after: 100 }
policies:
  quick: { retry: { attempts: 2, initial: 10ms } }
routes:
  rejected:
    from: { webhook: { path: /rejected, verify: { hmacSha256: "\${HMAC_SECRET}" } } }
    steps:
      # A careless log line that prints a secret through the environment.
      - log: { message: "checking signature with \${HMAC_SECRET}" }
    to: [ { http: { connection: erp, path: /echo-400 } } ]
  retried:
    from: { webhook: { path: /retried } }
    policy: quick
    to: [ { http: { url: "http://${erpUrl.host}/echo-503", headers: { authorization: "Bearer \${ERP_TOKEN}" } } } ]
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:${httpPort}" }
  admin: { listen: "127.0.0.1:${adminPort}", token: "\${ADMIN_TOKEN}" }
`,
  );
  const logFile = join(dir, "junction.log");
  const child = spawnJunction(["run", "-c", join(dir, "junction.yaml")], {
    logFile,
    env: {
      ERP_KEY: CANARIES.apiKey,
      HMAC_SECRET: CANARIES.hmac,
      ERP_TOKEN: CANARIES.token,
      ADMIN_TOKEN: CANARIES.admin,
    },
  });
  await waitReady(`http://127.0.0.1:${adminPort}/readyz`, 30_000, child);
  const { createHmac } = await import("node:crypto");
  const body = JSON.stringify({ order: 1 });
  const signature = `sha256=${createHmac("sha256", CANARIES.hmac).update(body).digest("hex")}`;
  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${httpPort}${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });
  assert.equal((await post("/rejected", { "x-hub-signature-256": signature })).status, 202);
  assert.equal((await post("/retried", { authorization: `Bearer ${CANARIES.token}` })).status, 202);
  const admin = { authorization: `Bearer ${CANARIES.admin}` };
  const api = async (path: string) =>
    (await fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: admin })).text();
  await eventually(async () => JSON.parse(await api("/api/dlq")).length === 2, 10_000, "both dead letters");

  // The secrets were really used: the ERP saw them (so the test could fail).
  const seen = echoes.join("\n");
  assert.ok(
    seen.includes(CANARIES.apiKey) && seen.includes(CANARIES.token),
    "the ERP received the credentials",
  );
  assert.ok(
    seen.includes(Buffer.from(`erp-user:${CANARIES.urlPassword}`).toString("base64")),
    "basic auth from the URL",
  );

  const letters = JSON.parse(await api("/api/dlq")) as { message: { id: string } }[];
  const outputs = [
    await api("/api/dlq"),
    ...(await Promise.all(letters.map((letter) => api(`/api/trace/${letter.message.id}`)))),
    await api("/api/routes"),
    await api("/api/channels"),
    await api("/api/breakers"),
    await api("/api/alerts"),
    await api("/metrics"),
  ];
  assert.match(outputs[0], /\[redacted\]/, "the echoed credentials were found and redacted");
  child.kill("SIGTERM");
  assert.equal((await exited(child)).code, 0);
  const logs = readFileSync(logFile, "utf8");
  assert.match(logs, /checking signature with \[redacted\]/);
  const everything = [logs, ...outputs].join("\n");
  const found = Object.entries(CANARIES).filter(([, canary]) => everything.includes(canary));
  assert.deepEqual(found, [], "canaries found");
  await erp.close();
});
