import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { runLog } from "../connectors/sql/run-log.js";
import type { Engine } from "../engine/engine.js";
import { parseListen } from "../engine/http-host.js";
import { problem } from "../engine/problem.js";
import { liveMap } from "../map/serve.js";
import { registerDeadLetterRoutes } from "./dlq-routes.js";
import { REGISTRY_PREFIX, registerRegistryRoutes, registryAuthorized } from "./registry-routes.js";

/**
 * The admin HTTP API behind the CLI and the console: health, routes, channels, dead letters and
 * traces. Loopback by default; with a token, every /api call needs `Authorization: Bearer <token>`.
 */
export function createAdminServer(engine: Engine, options: { token?: string }): FastifyInstance {
  const app = Fastify({ logger: false });
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;

  app.addHook("onRequest", async (request, reply) => {
    const registry = request.url.startsWith(`${REGISTRY_PREFIX}/`) || request.url === REGISTRY_PREFIX;
    if (!expected || (!request.url.startsWith("/api/") && !registry)) return;
    const given = Buffer.from(String(request.headers.authorization ?? ""));
    // Registry clients speak Basic auth: any user name, the token as password.
    if (registry && registryAuthorized(request.headers.authorization, options.token!)) return;
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .type("application/problem+json")
        .send(problem(401, "Unauthorized", "a valid bearer token is required"));
    }
  });

  // No configured secret leaves through the admin API, whatever a dead letter quotes.
  app.addHook("onSend", async (_request, _reply, payload) =>
    typeof payload === "string" ? engine.redactor.text(payload) : payload,
  );

  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const ready = engine.state === "running";
    // The pid tells a supervisor (or a test) that the answer comes from the process it started,
    // not from another one that holds the port.
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : engine.state, pid: process.pid });
  });

  app.get("/api/routes", async () => {
    const model = engine.model;
    return engine.routes().map((status) => {
      const route = model.routes[status.name];
      return {
        ...status,
        from: route.from.kind === "channel" ? { channel: route.from.config } : { connector: route.from.kind },
        to: route.to.map((ref) =>
          ref.kind === "channel" ? { channel: ref.config } : { connector: ref.kind },
        ),
        steps: route.steps.map((step) => step.kind),
        depth: engine.store.depth(status.subscription),
      };
    });
  });

  app.get("/metrics", async (_request, reply) => {
    const registry = engine.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  // Extraction runs of scheduled SQL sources (ETL): newest first, the last 20 per route.
  app.get<{ Params: { name: string } }>("/api/routes/:name/runs", async (request, reply) => {
    if (!engine.model.routes[request.params.name]) {
      return reply.code(404).send({ error: `no route "${request.params.name}"` });
    }
    return runLog.recent(request.params.name);
  });

  app.get("/api/breakers", async () => engine.breakers());
  app.get("/api/alerts", async () => engine.alerts());

  app.get("/api/channels", async () => {
    const stats = await engine.store.stats();
    return stats.map((stat) => ({
      channel: stat.channel,
      subscription: stat.subscription,
      kind: stat.channel.startsWith("route:")
        ? "inbox"
        : (engine.model.channels[stat.channel]?.kind ?? "queue"),
      depth: stat.depth,
      inFlight: stat.inFlight,
      oldestAgeSeconds: stat.oldestAgeMs === null ? null : stat.oldestAgeMs / 1000,
    }));
  });

  registerDeadLetterRoutes(app, engine);
  registerRegistryRoutes(app, engine);

  app.get<{ Querystring: { window?: string } }>("/api/map", async (request) =>
    liveMap(engine.model, engine.store, request.query),
  );

  app.get<{ Params: { id: string } }>("/api/trace/:id", async (request) => {
    const byMessage = await engine.store.journal({ messageId: request.params.id });
    const correlationId = byMessage[0]?.correlationId ?? request.params.id;
    return { correlationId, hops: await engine.store.journal({ correlationId }) };
  });

  return app;
}

export async function startAdminServer(engine: Engine): Promise<{ app: FastifyInstance; url: string }> {
  const { listen, token } = engine.model.engine.admin;
  const app = createAdminServer(engine, token ? { token } : {});
  const { host, port } = parseListen(listen);
  await app.listen({ host, port });
  const address = app.server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return { app, url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}` };
}
