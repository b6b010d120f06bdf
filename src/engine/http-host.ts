import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { HttpIncoming, HttpMount, HttpOutgoing, HttpRouteOptions } from "../api/component.js";
import type { Logger } from "../observe/logger.js";
import { problem } from "./problem.js";

/** How long an idle keep-alive connection stays open (as fastify's default: longer than clients' pools keep theirs). */
const KEEP_ALIVE_MS = 72_000;

interface Listener {
  server: Server;
  mount: HttpMount;
  /** Routes by `METHOD /path`: webhook paths are matched exactly. */
  routes: Map<string, HttpRouteOptions>;
  closing: boolean;
}

/**
 * The HTTP listeners shared by webhook-like sources. The engine owns them: sources mount routes
 * before start, the engine listens after every source is ready and closes them first on shutdown
 * (stop intake), letting requests in flight finish.
 *
 * Plain `node:http`, no framework: a route is an exact method and path whose handler gets the raw
 * body, so routing, body limits and answers are a few lines. Alone (parse, then 202) it answered
 * 14.5–14.9 k req/s where the same handler behind fastify answered 11.8–14.0 k (scratch rounds,
 * docs/performance.md, session 8): every webhook's intake pays the difference.
 */
export class HttpHost {
  readonly #listeners = new Map<string, Listener>();

  constructor(private readonly logger: Logger) {}

  mount(listen: string): HttpMount {
    const existing = this.#listeners.get(listen);
    if (existing) return existing.mount;
    const { host, port } = parseListen(listen);
    const routes = new Map<string, HttpRouteOptions>();
    const mount: HttpMount = {
      url: urlOf(host, port),
      route: (options: HttpRouteOptions) => {
        const key = `${options.method.toUpperCase()} ${options.path}`;
        if (routes.has(key)) throw new Error(`${key} is mounted twice on ${listen}`);
        routes.set(key, options);
      },
    };
    const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (request, response) =>
      this.#serve(listener, request, response),
    );
    const listener: Listener = { server, mount, routes, closing: false };
    this.#listeners.set(listen, listener);
    return mount;
  }

  async listen(): Promise<{ url: string; routes: string[] }[]> {
    const out: { url: string; routes: string[] }[] = [];
    for (const [listen, listener] of this.#listeners) {
      const { host, port } = parseListen(listen);
      await new Promise<void>((resolve, reject) => {
        listener.server.once("error", reject);
        listener.server.listen(port, host, () => {
          listener.server.off("error", reject);
          resolve();
        });
      });
      const address = listener.server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      (listener.mount as { url: string }).url = urlOf(host, actualPort);
      out.push({ url: listener.mount.url, routes: [...listener.routes.keys()] });
    }
    return out;
  }

  /**
   * Stop accepting connections; requests in flight complete (their durable commit included) and
   * are answered with `connection: close`; a request arriving on a kept-alive connection meanwhile
   * gets 503.
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#listeners.values()].map(
        (listener) =>
          new Promise<void>((resolve) => {
            listener.closing = true;
            if (!listener.server.listening) return resolve();
            listener.server.close(() => resolve());
            listener.server.closeIdleConnections();
          }),
      ),
    );
  }

  #serve(listener: Listener, request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (listener.closing) {
      request.resume();
      this.#problem(listener, response, 503, "Service unavailable", "the server is shutting down");
      return;
    }
    const route = listener.routes.get(`${request.method} ${path}`);
    if (!route) {
      request.resume();
      this.#problem(
        listener,
        response,
        404,
        "Not found",
        `no webhook is mounted at ${request.method} ${path}`,
      );
      return;
    }
    const tooLarge = () =>
      this.#problem(
        listener,
        response,
        413,
        "Payload too large",
        `the body is larger than the limit of ${route.bodyLimit} bytes`,
        true,
      );
    // Read to the end even when refused, so the client sees the answer instead of a reset.
    const declared = Number(request.headers["content-length"]);
    if (declared > route.bodyLimit) {
      request.resume();
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > route.bodyLimit) {
        if (!response.headersSent) tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.on("error", () => {}); // the client went away: nothing to answer
    request.on("end", () => {
      if (size > route.bodyLimit) return;
      const incoming: HttpIncoming = {
        method: request.method ?? "GET",
        path,
        headers: request.headers,
        query: queryAt === -1 ? {} : Object.fromEntries(new URLSearchParams(url.slice(queryAt + 1))),
        rawBody: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size),
      };
      void this.#respond(listener, response, route, incoming);
    });
  }

  /** Run the handler and answer; whatever fails (the handler, or an answer it built) is a 500 problem. */
  async #respond(
    listener: Listener,
    response: ServerResponse,
    route: HttpRouteOptions,
    incoming: HttpIncoming,
  ): Promise<void> {
    try {
      this.#answer(listener, response, await route.handler(incoming));
    } catch (error) {
      this.logger.error({ err: error, path: incoming.path }, "http request failed");
      this.#problem(listener, response, 500, "Internal error", "the request could not be processed");
    }
  }

  #problem(
    listener: Listener,
    response: ServerResponse,
    status: number,
    title: string,
    detail: string,
    close = false,
  ): void {
    const headers: Record<string, string> = { "content-type": "application/problem+json" };
    // Refused before its body was read through: the connection closes after the answer.
    if (close) headers.connection = "close";
    this.#answer(listener, response, { status, headers, body: problem(status, title, detail) });
  }

  #answer(listener: Listener, response: ServerResponse, result: HttpOutgoing): void {
    if (response.headersSent || response.destroyed) return;
    const { body } = result;
    const payload =
      body === undefined
        ? ""
        : typeof body === "string" || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body);
    const headers: Record<string, string | number> = {};
    if (payload !== "")
      headers["content-type"] =
        typeof body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8";
    if (result.headers) for (const name in result.headers) headers[name.toLowerCase()] = result.headers[name];
    headers["content-length"] = Buffer.byteLength(payload);
    if (listener.closing) headers.connection = "close";
    response.writeHead(result.status, headers);
    response.end(payload);
  }
}

/** An IPv6 host goes in brackets. */
function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:([0-9]+)$/.exec(listen);
  if (!match) throw new Error(`not a listen address: ${listen} (expected host:port)`);
  return { host: match[1], port: Number(match[2]) };
}
