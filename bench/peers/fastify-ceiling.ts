/**
 * The ceiling: a plain fastify server doing the same work as Junction without durability.
 *
 * MODE=ingest: parse the JSON body and answer 202 with a fresh id.
 * MODE=end-to-end: parse, apply the plain-JS equivalent of the JSONata mapping, POST it to the
 * warehouse (DOWNSTREAM) with undici, and answer 202 once the warehouse confirmed (502 if not).
 *
 * Prints `{"port": N}` on stdout once it listens; SIGTERM closes it and exits 0.
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { Pool } from "undici";
import { mapOrder } from "../lib/order.js";

const mode = process.env.MODE ?? "ingest";
const downstream = process.env.DOWNSTREAM;
if (mode === "end-to-end" && !downstream)
  throw new Error("MODE=end-to-end needs DOWNSTREAM=http://host:port");

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
const pool = downstream
  ? new Pool(new URL(downstream).origin, {
      connections: Number(process.env.CONNECTIONS ?? 64),
      pipelining: 1,
    })
  : undefined;

app.post("/orders", async (request, reply) => {
  const id = randomUUID();
  if (pool) {
    const shipment = mapOrder(request.body as Parameters<typeof mapOrder>[0], id);
    const response = await pool.request({
      method: "POST",
      path: "/shipments",
      headers: { "content-type": "application/json", "idempotency-key": id, "x-correlation-id": id },
      body: JSON.stringify(shipment),
    });
    await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      return reply.code(502).send({ error: `warehouse answered ${response.statusCode}` });
    }
  }
  return reply.code(202).send({ id });
});

const address = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);

process.on("SIGTERM", () => {
  void app
    .close()
    .then(() => pool?.close())
    .then(() => process.exit(0));
});
