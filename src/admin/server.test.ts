import assert from "node:assert/strict";
import { test } from "node:test";
import { startEngine } from "../../test/helpers/engine.js";
import { createAdminServer } from "./server.js";

test("with a token, /api needs the bearer token; health checks stay open", async () => {
  const running = await startEngine(`
routes:
  r:
    from: { generate: { interval: 1h, count: 1 } }
    to: [ { log: { output: logger } } ]
`);
  const app = createAdminServer(running.engine, { token: "s3cret-token" });
  try {
    assert.equal((await app.inject({ url: "/livez" })).statusCode, 200);
    assert.equal((await app.inject({ url: "/readyz" })).statusCode, 200);
    const denied = await app.inject({ url: "/api/routes" });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers["www-authenticate"], "Bearer");
    assert.equal(
      (await app.inject({ url: "/api/routes", headers: { authorization: "Bearer wrong-token!" } }))
        .statusCode,
      401,
    );
    const allowed = await app.inject({
      url: "/api/routes",
      headers: { authorization: "Bearer s3cret-token" },
    });
    assert.equal(allowed.statusCode, 200);
    assert.equal(allowed.json()[0].name, "r");
    assert.doesNotMatch(allowed.body, /s3cret-token/);
  } finally {
    await app.close();
    await running.stop();
  }
});
