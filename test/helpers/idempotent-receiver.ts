import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** The JSON body, or undefined when it is not JSON. */
  json: unknown;
  /** The `Idempotency-Key` header, if sent. */
  key: string | undefined;
}

export interface AttemptRecord {
  /** performance.now() when the request body was complete. */
  at: number;
  status: number;
  /** Answered from the idempotency cache: a duplicate delivery without a second effect. */
  replayed: boolean;
}

interface Answer {
  status: number;
  body: string;
}

/**
 * A real HTTP server standing in for a downstream system that honours `Idempotency-Key`, the way
 * Stripe-style APIs do: the first successful request with a key has the effect and its answer is
 * remembered; a repeat of the key gets the same answer back (with `idempotent-replayed: true`) and
 * has no second effect. A request that arrives while the same key is still being processed waits
 * for the first one. Failed answers (non-2xx) are not remembered: the next try is a fresh attempt.
 *
 * It keeps the evidence a chaos test needs:
 * - `effects`: effects per business identity (`identify`, by default the `ce-id` header). With a
 *   correct sender and receiver every count is 1; a count above 1 is a duplicate *effect* (the
 *   same business item applied under two idempotency keys, or without one).
 * - `attempts`: every request per idempotency key, with its arrival time and answer.
 * - `order`: business ids in the order their effects happened, per partition key
 *   (`partitionOf`), to check per-key ordering.
 */
export class IdempotentReceiver {
  /** Status for a request that is not a repeat of a successful key; a function can vary it. */
  status: number | ((request: ReceivedRequest) => number) = 200;
  /** Milliseconds of "work" before the effect and the answer: a slow downstream system. */
  delayMs: number | ((request: ReceivedRequest) => number) = 0;
  /** Sent as Retry-After on 429 and 503 answers, when set. */
  retryAfter: string | undefined;

  /** Business id -> number of effects. */
  readonly effects = new Map<string, number>();
  /** Business id -> performance.now() of its first effect. */
  readonly effectAt = new Map<string, number>();
  /** Idempotency key -> every request carrying it. */
  readonly attempts = new Map<string, AttemptRecord[]>();
  /** Partition key -> business ids in effect order. */
  readonly order = new Map<string, string[]>();
  readonly counts = {
    requests: 0,
    effects: 0,
    /** Repeats answered from the cache: duplicate deliveries, no effect. */
    replayed: 0,
    /** Non-2xx answers. */
    failed: 0,
    /** Requests that arrived while the same key was in progress. */
    concurrentRepeats: 0,
    /** Requests without an Idempotency-Key (each one has an effect). */
    withoutKey: 0,
  };

  readonly #answers = new Map<string, Answer>();
  readonly #inProgress = new Map<string, Promise<void>>();
  readonly #identify: (request: ReceivedRequest) => string;
  readonly #partitionOf: (request: ReceivedRequest) => string | null;
  readonly #server: Server;
  url = "";

  constructor(
    options: {
      identify?: (request: ReceivedRequest) => string;
      partitionOf?: (request: ReceivedRequest) => string | null;
    } = {},
  ) {
    this.#identify = options.identify ?? ((request) => String(request.headers["ce-id"] ?? request.key ?? ""));
    this.#partitionOf = options.partitionOf ?? (() => null);
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = body.length ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const header = request.headers["idempotency-key"];
        const received: ReceivedRequest = {
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body,
          json,
          key: Array.isArray(header) ? header[0] : header,
        };
        this.#handle(received).then(
          (answer) => {
            const retryAfter =
              (answer.status === 429 || answer.status === 503) && this.retryAfter
                ? { "retry-after": this.retryAfter }
                : {};
            response.writeHead(answer.status, {
              "content-type": "application/json",
              ...retryAfter,
              ...(answer.replayed ? { "idempotent-replayed": "true" } : {}),
            });
            response.end(answer.body);
          },
          (error) => {
            response.writeHead(500, { "content-type": "text/plain" });
            response.end(String(error));
          },
        );
      });
    });
  }

  async #handle(request: ReceivedRequest): Promise<Answer & { replayed: boolean }> {
    const at = performance.now();
    this.counts.requests++;
    const key = request.key;
    if (key === undefined) {
      this.counts.withoutKey++;
      return { ...(await this.#attempt(request, at, undefined)), replayed: false };
    }
    // A repeat of a key still in progress waits for the first request's outcome.
    while (this.#inProgress.has(key)) {
      this.counts.concurrentRepeats++;
      await this.#inProgress.get(key);
    }
    const cached = this.#answers.get(key);
    if (cached) {
      this.counts.replayed++;
      this.#record(key, { at, status: cached.status, replayed: true });
      return { ...cached, replayed: true };
    }
    let done!: () => void;
    this.#inProgress.set(
      key,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    try {
      return { ...(await this.#attempt(request, at, key)), replayed: false };
    } finally {
      this.#inProgress.delete(key);
      done();
    }
  }

  async #attempt(request: ReceivedRequest, at: number, key: string | undefined): Promise<Answer> {
    const delay = typeof this.delayMs === "function" ? this.delayMs(request) : this.delayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const status = typeof this.status === "function" ? this.status(request) : this.status;
    if (key !== undefined) this.#record(key, { at, status, replayed: false });
    if (status < 200 || status >= 300) {
      this.counts.failed++;
      return { status, body: JSON.stringify({ ok: false }) };
    }
    // The effect: applied once per key.
    const id = this.#identify(request);
    const count = (this.effects.get(id) ?? 0) + 1;
    this.effects.set(id, count);
    if (count === 1) this.effectAt.set(id, performance.now());
    this.counts.effects++;
    const partition = this.#partitionOf(request);
    if (partition !== null) {
      const list = this.order.get(partition) ?? [];
      list.push(id);
      this.order.set(partition, list);
    }
    const answer = { status, body: JSON.stringify({ ok: true, id }) };
    if (key !== undefined) this.#answers.set(key, answer);
    return answer;
  }

  #record(key: string, attempt: AttemptRecord): void {
    const list = this.attempts.get(key) ?? [];
    list.push(attempt);
    this.attempts.set(key, list);
  }

  /** Business ids with more than one effect. */
  duplicateEffects(): string[] {
    return [...this.effects].filter(([, count]) => count > 1).map(([id]) => id);
  }

  /** Every request a key received (the first effect, failures and replays). */
  attemptsOf(key: string): AttemptRecord[] {
    return this.attempts.get(key) ?? [];
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
