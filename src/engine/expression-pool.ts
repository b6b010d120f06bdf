import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { MappingError, TimeoutError } from "../api/errors.js";

/**
 * JSONata runs user expressions that may never end (`($f:=function($x){$f($x+1)};$f(1))` is tail-call
 * optimised and loops for ever), and its in-process time-box hooks can be overwritten from inside an
 * expression. So expressions run in worker threads, one at a time per worker; a worker whose current
 * expression overruns its budget is terminated and replaced, and only that message fails.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const jsonata = require(workerData.jsonataPath);
const cache = new Map();
const queue = [];
let busy = false;
let functions;
// The mapping helpers are an ES module (TypeScript under tsx in tests): loaded once, before any request.
const loaded = (workerData.tsxApi ? import(workerData.tsxApi).then((api) => api.register()) : Promise.resolve())
  .then(() => import(workerData.functionsUrl))
  .then((module) => { functions = module; }, (error) => { functions = { registerMappingFunctions() { throw new Error("mapping helpers failed to load: " + (error && error.message)); } }; })
  .then(() => parentPort.postMessage({ ready: true }));
function compiled(source) {
  let expression = cache.get(source);
  if (!expression) {
    expression = functions.registerMappingFunctions(jsonata(source));
    cache.set(source, expression);
    if (cache.size > 2000) cache.delete(cache.keys().next().value);
  }
  return expression;
}
async function drain() {
  if (busy) return;
  busy = true;
  await loaded;
  while (queue.length > 0) {
    const request = queue.shift();
    try {
      const result = await compiled(request.expression).evaluate(request.data, request.bindings);
      parentPort.postMessage({ id: request.id, ok: true, result: result === undefined ? undefined : JSON.stringify(result) });
    } catch (error) {
      parentPort.postMessage({ id: request.id, ok: false, error: { message: String(error && error.message || error), code: error && error.code, position: error && error.position, token: error && error.token } });
    }
  }
  busy = false;
}
parentPort.on("message", (request) => { queue.push(request); drain(); });
`;

interface Request {
  id: number;
  expression: string;
  data: unknown;
  bindings: Record<string, unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface PooledWorker {
  worker: Worker;
  /** Requests sent, in order: the head is the one running. */
  inFlight: Request[];
  /** The mapping helpers are loaded: the budget of the head request runs from here. */
  ready?: boolean;
  timer?: NodeJS.Timeout;
}

export class ExpressionPool {
  readonly #timeoutMs: number;
  readonly #size: number;
  /** Spawned on the first evaluation: routes whose expressions all run inline never start one. */
  readonly #workers: PooledWorker[] = [];
  readonly #jsonataPath: string;
  readonly #functions = mappingFunctionsModule(import.meta.url);
  #nextId = 1;
  #closed = false;

  constructor(options: { workers: number; timeoutMs: number }) {
    this.#timeoutMs = options.timeoutMs;
    this.#jsonataPath = createRequire(import.meta.url).resolve("jsonata");
    this.#size = Math.max(1, options.workers);
  }

  #spawn(): PooledWorker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { jsonataPath: this.#jsonataPath, ...this.#functions },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const pooled: PooledWorker = { worker, inFlight: [] };
    worker.unref();
    worker.on("message", (reply: { id: number; ok: boolean; result?: string; error?: any; ready?: true }) => {
      if (reply.ready) {
        pooled.ready = true;
        this.#armTimer(pooled);
        return;
      }
      const head = pooled.inFlight.shift();
      if (!head || head.id !== reply.id) return;
      this.#armTimer(pooled);
      if (reply.ok) head.resolve(reply.result === undefined ? undefined : JSON.parse(reply.result));
      else {
        const { message, code, position, token } = reply.error;
        head.reject(
          new MappingError(
            `expression failed${position !== undefined ? ` at position ${position}` : ""}: ${message}`,
            {
              code: "JUNCTION_EXPRESSION_FAILED",
              cause: Object.assign(new Error(message), { code, token }),
            },
          ),
        );
      }
    });
    worker.on("error", (error) => this.#replace(pooled, error));
    return pooled;
  }

  #armTimer(pooled: PooledWorker): void {
    if (pooled.timer) clearTimeout(pooled.timer);
    pooled.timer = undefined;
    const head = pooled.inFlight[0];
    if (!head || !pooled.ready) return;
    pooled.timer = setTimeout(() => {
      const culprit = pooled.inFlight.shift();
      culprit?.reject(
        new TimeoutError(`expression did not finish within its ${this.#timeoutMs} ms budget`, {
          code: "JUNCTION_EXPRESSION_TIMEOUT",
          retryable: false,
        }),
      );
      this.#replace(pooled);
    }, this.#timeoutMs);
  }

  /** Terminate a worker and resend the requests queued behind the one that failed. */
  #replace(pooled: PooledWorker, error?: unknown): void {
    if (pooled.timer) clearTimeout(pooled.timer);
    void pooled.worker.terminate();
    const index = this.#workers.indexOf(pooled);
    if (index < 0) return;
    const waiting = pooled.inFlight;
    if (error) {
      // A crashed worker (out of memory...): the head was running and fails; the rest are retried.
      waiting
        .shift()
        ?.reject(new MappingError(`expression worker failed: ${String(error)}`, { cause: error }));
    }
    if (this.#closed) {
      for (const request of waiting) request.reject(new MappingError("expression pool closed"));
      return;
    }
    const fresh = this.#spawn();
    this.#workers[index] = fresh;
    for (const request of waiting) this.#send(fresh, request);
  }

  #send(pooled: PooledWorker, request: Request): void {
    pooled.inFlight.push(request);
    pooled.worker.postMessage({
      id: request.id,
      expression: request.expression,
      data: request.data,
      bindings: request.bindings,
    });
    if (pooled.inFlight.length === 1) this.#armTimer(pooled);
  }

  evaluate(expression: string, data: unknown, bindings: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(new MappingError("expression pool closed"));
    while (this.#workers.length < this.#size) this.#workers.push(this.#spawn());
    return new Promise((resolve, reject) => {
      let target = this.#workers[0];
      for (const candidate of this.#workers)
        if (candidate.inFlight.length < target.inFlight.length) target = candidate;
      const request: Request = { id: this.#nextId++, expression, data, bindings, resolve, reject };
      try {
        this.#send(target, request);
      } catch (error) {
        // Data that cannot be cloned (functions, symbols) is a mapping error for this message only.
        target.inFlight.pop();
        this.#armTimer(target);
        reject(new MappingError(`cannot pass the message to the expression: ${(error as Error).message}`));
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const pooled of this.#workers) {
      if (pooled.timer) clearTimeout(pooled.timer);
      for (const request of pooled.inFlight) request.reject(new MappingError("expression pool closed"));
      await pooled.worker.terminate();
    }
  }
}

/**
 * Where the worker imports the mapping helpers from: the compiled module beside this one, or under
 * tsx (tests, `npm run junction`) the TypeScript source with tsx's loader, which workers do not inherit.
 */
function mappingFunctionsModule(base: string): { functionsUrl: string; tsxApi?: string } {
  const typescript = base.endsWith(".ts");
  const functionsUrl = new URL(`../mapping/jsonata-functions.${typescript ? "ts" : "js"}`, base).href;
  return typescript ? { functionsUrl, tsxApi: import.meta.resolve("tsx/esm/api") } : { functionsUrl };
}
