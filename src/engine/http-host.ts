import Fastify, { type FastifyInstance } from "fastify";
import type { HttpMount, HttpRouteOptions } from "../api/component.js";
import type { Logger } from "../observe/logger.js";
import { problem } from "./problem.js";

/**
 * The HTTP listeners shared by webhook-like sources. The engine owns them: sources mount routes
 * before start, the engine listens after every source is ready and closes them first on shutdown
 * (stop intake), letting requests in flight finish.
 */
export class HttpHost {
  readonly #servers = new Map<string, { app: FastifyInstance; mount: HttpMount; routes: string[] }>();

  constructor(private readonly logger: Logger) {}

  mount(listen: string): HttpMount {
    const existing = this.#servers.get(listen);
    if (existing) return existing.mount;
    const app = Fastify({
      logger: false,
      bodyLimit: 1024 * 1024,
      return503OnClosing: true,
      forceCloseConnections: "idle",
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    app.setErrorHandler((error: any, request, reply) => {
      const status = typeof error.statusCode === "number" && error.statusCode >= 400 ? error.statusCode : 500;
      if (status >= 500) this.logger.error({ err: error, path: request.url }, "http request failed");
      const title =
        error.code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? "Payload too large"
          : status >= 500
            ? "Internal error"
            : "Bad request";
      void reply
        .code(status)
        .type("application/problem+json")
        .send(problem(status, title, status >= 500 ? "the request could not be processed" : error.message));
    });
    app.setNotFoundHandler((request, reply) => {
      void reply
        .code(404)
        .type("application/problem+json")
        .send(
          problem(
            404,
            "Not found",
            `no webhook is mounted at ${request.method} ${request.url.split("?")[0]}`,
          ),
        );
    });
    const routes: string[] = [];
    const { host, port } = parseListen(listen);
    const mount: HttpMount = {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
      route: (options: HttpRouteOptions) => {
        routes.push(`${options.method} ${options.path}`);
        app.route({
          method: options.method as any,
          url: options.path,
          bodyLimit: options.bodyLimit,
          handler: async (request, reply) => {
            const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
            const result = await options.handler({
              method: request.method,
              path: request.url.split("?")[0],
              headers: request.headers,
              query: request.query as Record<string, string>,
              rawBody,
            });
            reply.code(result.status);
            for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
            return result.body ?? "";
          },
        });
      },
    };
    this.#servers.set(listen, { app, mount, routes });
    return mount;
  }

  async listen(): Promise<{ url: string; routes: string[] }[]> {
    const out: { url: string; routes: string[] }[] = [];
    for (const [listen, server] of this.#servers) {
      const { host, port } = parseListen(listen);
      await server.app.listen({ host, port });
      const address = server.app.server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      (server.mount as { url: string }).url =
        `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
      out.push({ url: server.mount.url, routes: server.routes });
    }
    return out;
  }

  /** Stop accepting connections; requests in flight complete (their durable commit included). */
  async close(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((server) => server.app.close()));
  }
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:([0-9]+)$/.exec(listen);
  if (!match) throw new Error(`not a listen address: ${listen} (expected host:port)`);
  return { host: match[1], port: Number(match[2]) };
}
