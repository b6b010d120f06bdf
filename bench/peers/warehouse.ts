/**
 * The downstream "warehouse": a tiny node:http server that accepts shipments and counts them.
 * POST /shipments → 201 (reads the body; counts every request and every distinct Idempotency-Key).
 * GET /stats → { total, distinct, bytes }. Prints `{"port": N}` on stdout once it listens.
 */
import { createServer } from "node:http";

let total = 0;
let bytes = 0;
const keys = new Set<string>();

const server = createServer((request, response) => {
  if (request.method === "POST" && request.url === "/shipments") {
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on("end", () => {
      total++;
      const key = request.headers["idempotency-key"];
      if (typeof key === "string") keys.add(key);
      response.writeHead(201, { "content-type": "application/json", "content-length": "11" });
      response.end('{"ok":true}');
    });
    return;
  }
  if (request.method === "GET" && request.url === "/stats") {
    const body = JSON.stringify({ total, distinct: keys.size, bytes });
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
    return;
  }
  response.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`,
  );
});

process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
