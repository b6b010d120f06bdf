import { resolve } from "node:path";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import type { ComponentContext, ConnectionInstance } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  JunctionError,
  TimeoutError,
} from "../../api/errors.js";
import { parseDuration } from "../../config/schema-types.js";
import type { Logger } from "../../observe/logger.js";
import type { NatsConnectionConfig } from "./config.js";
import { natsJetStream, natsTransport } from "./library.js";

/**
 * One declared `nats` connection. Sinks and request steps share one client, opened on first use;
 * each source opens a connection of its own so that stopping it ends its pulls at once.
 *
 * The client never reconnects by itself: a closed connection is opened again by the next
 * operation, and a source reports `lost()` so the engine restarts it with backoff. Retry pacing
 * therefore always belongs to the engine.
 */
export class NatsConnectionInstance implements ConnectionInstance {
  readonly #options: NodeConnectionOptions;
  readonly #logger: Logger;
  #shared: NatsConnection | undefined;
  #opening: Promise<NatsConnection> | undefined;
  #closed = false;

  constructor(
    readonly config: NatsConnectionConfig,
    context: Pick<ComponentContext, "configDir" | "logger" | "owner">,
  ) {
    if (config.password !== undefined && config.user === undefined) {
      throw new ConfigError(`connection "${context.owner}": \`password\` needs \`user\``);
    }
    if (config.user !== undefined && config.password === undefined) {
      throw new ConfigError(`connection "${context.owner}": \`user\` needs \`password\``);
    }
    if (config.token !== undefined && config.user !== undefined) {
      throw new ConfigError(`connection "${context.owner}": use either \`token\` or \`user\`/\`password\``);
    }
    for (const server of config.servers) {
      if (/^[a-z]+:\/\/[^/]*@/i.test(server)) {
        throw new ConfigError(
          `connection "${context.owner}": put credentials in \`user\`/\`password\` or \`token\`, not in the server URL`,
        );
      }
    }
    this.#logger = context.logger;
    const tls = config.tls
      ? {
          ...(config.tls.caFile ? { caFile: resolve(context.configDir, config.tls.caFile) } : {}),
          ...(config.tls.certFile ? { certFile: resolve(context.configDir, config.tls.certFile) } : {}),
          ...(config.tls.keyFile ? { keyFile: resolve(context.configDir, config.tls.keyFile) } : {}),
        }
      : undefined;
    this.#options = {
      servers: config.servers,
      name: config.name ?? "junction",
      timeout: parseDuration(config.connectTimeout ?? "5s"),
      reconnect: false,
      // A silently dead connection (no RST) is noticed within ~30 s even when nothing is sent.
      pingInterval: 10_000,
      maxPingOut: 2,
      // nats.js otherwise builds an Error (with its stack) for every request to report where an
      // async failure came from: about 4% of a relay's main thread. Junction's errors say where.
      noAsyncTraces: true,
      ...(config.user !== undefined ? { user: config.user, pass: config.password } : {}),
      ...(config.token !== undefined ? { token: config.token } : {}),
      ...(tls ? { tls } : {}),
    };
  }

  /** A new connection of its own (for a source). Throws a ConnectionError when the server is unreachable. */
  async open(suffix: string): Promise<NatsConnection> {
    if (this.#closed) throw new ConnectionError("the nats connection is closed");
    try {
      return await natsTransport().connect({ ...this.#options, name: `${this.#options.name}:${suffix}` });
    } catch (error) {
      throw natsError(error, `cannot connect to ${this.config.servers.join(", ")}`);
    }
  }

  /** The shared client for sinks and requests; opened again after it was closed. */
  async shared(): Promise<NatsConnection> {
    if (this.#shared && !this.#shared.isClosed()) return this.#shared;
    if (this.#closed) throw new ConnectionError("the nats connection is closed");
    this.#opening ??= this.open("shared")
      .then((nc) => {
        this.#shared = nc;
        void nc.closed().then((error) => {
          if (error && !this.#closed) this.#logger.warn({ err: error }, "nats connection closed");
        });
        return nc;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    const nc = this.#shared ?? (await opening?.catch(() => undefined));
    if (nc && !nc.isClosed()) await closeQuietly(nc);
  }
}

/** Flush what was published (acks included), then close; errors on an already broken socket are moot. */
export async function closeQuietly(nc: NatsConnection): Promise<void> {
  try {
    if (!nc.isClosed()) await Promise.race([nc.flush(), new Promise((r) => setTimeout(r, 1000).unref())]);
  } catch {
    // the socket is gone: nothing left to flush
  }
  try {
    await nc.close();
  } catch {
    // already closed
  }
}

/**
 * Classify an error from the NATS client: unreachable, closed or slow is retryable; refused by
 * the server for this message (too large, wrong stream, permissions) is permanent.
 */
export function natsError(error: unknown, what: string): JunctionError {
  if (error instanceof JunctionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const { errors } = natsTransport();
  const { JetStreamApiError } = natsJetStream();
  if (error instanceof errors.TimeoutError) {
    return new TimeoutError(`${what}: no answer in time`, { cause: error, code: "JUNCTION_NATS_TIMEOUT" });
  }
  if (error instanceof errors.RequestError && error.isNoResponders()) {
    return new ConnectionError(`${what}: no responders`, {
      cause: error,
      code: "JUNCTION_NATS_NO_RESPONDERS",
    });
  }
  if (error instanceof JetStreamApiError) {
    const status = error.status;
    const details = { code: error.code, status };
    if (status >= 500 || status === 408 || status === 429) {
      return new ConnectionError(`${what}: ${message}`, {
        cause: error,
        details,
        code: "JUNCTION_NATS_UNAVAILABLE",
      });
    }
    return new DeliveryRejectedError(`${what}: ${message}`, {
      cause: error,
      details,
      code: "JUNCTION_NATS_REJECTED",
    });
  }
  if (error instanceof errors.PermissionViolationError) {
    return new DeliveryRejectedError(`${what}: ${message}`, {
      cause: error,
      code: "JUNCTION_NATS_PERMISSION",
    });
  }
  if (error instanceof errors.InvalidArgumentError || error instanceof errors.InvalidSubjectError) {
    return new DeliveryRejectedError(`${what}: ${message}`, { cause: error, code: "JUNCTION_NATS_INVALID" });
  }
  if (error instanceof errors.AuthorizationError || error instanceof errors.UserAuthenticationExpiredError) {
    return new ConnectionError(`${what}: the server refused the credentials (${message})`, {
      cause: error,
      code: "JUNCTION_NATS_AUTH",
    });
  }
  return new ConnectionError(`${what}: ${message}`, { cause: error, code: "JUNCTION_NATS_CONNECTION" });
}

/** Reject when the signal aborts, so a caller never waits past its deadline. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolvePromise(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
