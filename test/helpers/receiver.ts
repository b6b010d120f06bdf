import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/**
 * A real HTTP server standing in for a downstream system. It records every request and counts
 * effects by message id (the `ce-id` header), so tests can tell duplicates from losses.
 */
export class Receiver {
  readonly requests: Received[] = [];
  readonly effects = new Map<string, number>();
  /** Status to answer; a function can vary it per request. */
  status: number | ((request: Received) => number) = 201;
  /** Milliseconds to wait before answering: a slow downstream system. */
  delayMs = 0;
  /** Per request, overrides `delayMs` when it gives a number. */
  delayFor: ((body: string) => number | undefined) | undefined;
  /** The JSON body to answer with; default `{ ok }`. */
  answer: ((request: Received) => unknown) | undefined;
  /** Answer 103 Early Hints before the final answer, for the requests it is true of. */
  earlyHints: ((request: Received) => boolean) | undefined;
  /** Sent as Retry-After on 429 and 503 answers, when set. */
  retryAfter: string | undefined;
  #server: Server;
  url = "";

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk) => chunks.push(chunk));
      request.on("end", async () => {
        const delayMs = this.delayFor?.(Buffer.concat(chunks).toString("utf8")) ?? this.delayMs;
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        const received = {
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        const status = typeof this.status === "function" ? this.status(received) : this.status;
        if (status < 300) {
          this.requests.push(received);
          const id = String(request.headers["ce-id"] ?? "");
          this.effects.set(id, (this.effects.get(id) ?? 0) + 1);
        }
        const retryAfter =
          (status === 429 || status === 503) && this.retryAfter ? { "retry-after": this.retryAfter } : {};
        if (this.earlyHints?.(received)) response.writeEarlyHints({ link: "</stock.css>; rel=preload" });
        response.writeHead(status, { "content-type": "application/json", ...retryAfter });
        response.end(JSON.stringify(this.answer ? this.answer(received) : { ok: status < 300 }));
      });
    });
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
