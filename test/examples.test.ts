import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { builtinRegistry } from "../src/builtins.js";
import { loadConfig } from "../src/config/load.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/observe/logger.js";
import { eventually, tempDir } from "./helpers/engine.js";
import { freePort, REPO, runJunction } from "./helpers/process.js";
import { Receiver } from "./helpers/receiver.js";

const examples = readdirSync(join(REPO, "examples"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) =>
    readdirSync(join(REPO, "examples", entry.name))
      .filter((file) => /^(junction\.ya?ml|integration\.ts)$/.test(file))
      .map((file) => `examples/${entry.name}/${file}`),
  );

test("there are examples, YAML and TypeScript", () => {
  assert.ok(examples.some((file) => file.endsWith(".yaml")));
  assert.ok(examples.some((file) => file.endsWith(".ts")));
});

for (const example of examples) {
  test(`${example} validates with \`junction validate\``, async () => {
    const result = await runJunction(["validate", "-c", example], { env: { SHOP_SECRET: "s" } });
    assert.equal(result.code, 0, result.stderr);
  });
}

test("the TypeScript example runs: its function steps filter and map, its targets deliver", async () => {
  const crm = await new Receiver().start();
  const [http, admin] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    CRM_URL: crm.url,
    JUNCTION_HTTP: `127.0.0.1:${http}`,
    JUNCTION_ADMIN: `127.0.0.1:${admin}`,
  };
  // Load with the test's environment: the module reads process.env at import time.
  Object.assign(process.env, env);
  const { model, issues } = await loadConfig(
    join(REPO, "examples/typescript/integration.ts"),
    builtinRegistry(),
    env,
  );
  assert.deepEqual(issues, []);
  model!.engine.store.sqlite.path = join(tempDir(), "store.db");
  const engine = new Engine({ model: model!, registry: builtinRegistry(), logger: silentLogger() });
  const info = await engine.start();
  try {
    const post = (body: unknown) =>
      fetch(`${info.listeners[0].url}/signups`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    assert.equal((await post({ email: "Ada@Lovelace.org", fullName: "Ada King Lovelace" })).status, 202);
    assert.equal((await post({ email: "bot@example.invalid", fullName: "Bot" })).status, 202);
    await eventually(() => crm.requests.length === 1, 5000, "one contact");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(crm.requests.length, 1, "the filter dropped the invalid signup");
    assert.deepEqual(JSON.parse(crm.requests[0].body), {
      email: "ada@lovelace.org",
      firstName: "Ada",
      lastName: "King Lovelace",
      plan: "free",
      source: "website",
    });
    assert.equal(crm.requests[0].url, "/contacts");
  } finally {
    await engine.stop();
    await crm.close();
  }
});
