import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { EngineProcess } from "./harness.js";

/**
 * Tests run two files at a time, and a port picked free for one engine can be bound by another
 * test's process before the engine binds it. CI once saw the engine exit with EADDRINUSE while the
 * harness took the other process's `/readyz` for its own; the scenario then ran against nothing.
 */
test("an engine whose admin port is taken starts on new ports, not trusting another process's /readyz", async () => {
  const engine = await EngineProcess.create(`
routes:
  in:
    from: { webhook: { path: /in } }
    to: [ { channel: inbox } ]
channels:
  inbox: { queue: {} }
`);
  const takenPort = engine.adminPort;
  const impostor = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: "ready", pid: 1 }));
  });
  await new Promise<void>((resolve) => impostor.listen(takenPort, "127.0.0.1", resolve));
  try {
    await engine.start();
    assert.notEqual(engine.adminPort, takenPort, "moved to another admin port");
    const ready = (await (await fetch(`${engine.adminUrl}/readyz`)).json()) as { pid: number };
    assert.equal(ready.pid, engine.pid, "/readyz answered by the engine started");
    assert.match(engine.log(), /EADDRINUSE/, "the first start failed on the taken port");
    assert.equal(await engine.stop(), 0);
    engine.remove();
  } finally {
    await engine.stop();
    impostor.close();
  }
});
