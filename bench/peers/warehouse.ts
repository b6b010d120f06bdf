/**
 * The downstream "warehouse": a tiny node:http server that accepts shipments and counts them.
 * POST /shipments → 201 (reads the body; counts every request and every distinct Idempotency-Key).
 * GET /stats → { total, distinct, bytes }. Prints `{"port": N}` on stdout once it listens.
 *
 * LATENCY=1: the body is parsed and, when it has a numeric `sentAt` (ms since the epoch, set by the
 * load generator), the end-to-end latency is recorded; GET /stats adds `latency: { count, p50, p99 }`
 * of the latencies since the last POST /reset, and `received` (requests since then).
 */
import { createServer } from "node:http";

let total = 0;
let bytes = 0;
const keys = new Set<string>();
const recordLatency = process.env.LATENCY === "1";
let latencies: number[] = [];
let received = 0;

function latencyStats() {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0
      ? null
      : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { count: sorted.length, p50: at(50), p99: at(99) };
}

const server = createServer((request, response) => {
  if (request.method === "POST" && request.url === "/shipments") {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (recordLatency) chunks.push(chunk);
    });
    request.on("end", () => {
      total++;
      received++;
      if (recordLatency) {
        try {
          const sentAt = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { sentAt?: unknown }).sentAt;
          if (typeof sentAt === "number") latencies.push(Date.now() - sentAt);
        } catch {
          // not JSON: counted, no latency
        }
      }
      const key = request.headers["idempotency-key"];
      if (typeof key === "string") keys.add(key);
      response.writeHead(201, { "content-type": "application/json", "content-length": "11" });
      response.end('{"ok":true}');
    });
    return;
  }
  if (request.method === "GET" && request.url === "/stats") {
    const body = JSON.stringify({
      total,
      distinct: keys.size,
      bytes,
      ...(recordLatency ? { received, latency: latencyStats() } : {}),
    });
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
    return;
  }
  if (request.method === "POST" && request.url === "/reset") {
    latencies = [];
    received = 0;
    response.writeHead(204).end();
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
