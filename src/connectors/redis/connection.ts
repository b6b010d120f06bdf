import { createRequire } from "node:module";
import type * as IoRedis from "ioredis";
import type { Redis, RedisOptions } from "ioredis";
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
import type { RedisConnectionConfig } from "./config.js";

// ioredis loads on the first connect, not at import: a config without redis never pays for it.
const require = createRequire(import.meta.url);
let library: typeof IoRedis | undefined;
const ioredis = (): typeof IoRedis => (library ??= require("ioredis") as typeof IoRedis);

/**
 * One declared `redis` connection. Sinks share one client, opened on first use; each source opens
 * a client of its own, because a blocked XREADGROUP holds its connection and stopping the source
 * must be able to end it at once (by disconnecting).
 *
 * Clients never reconnect or queue commands by themselves (no retry strategy, no offline queue):
 * a dropped connection fails the commands in flight, the next command opens a new client, and a
 * source reports `lost()` so the engine restarts it with backoff.
 */
export class RedisConnectionInstance implements ConnectionInstance {
  readonly #url: string;
  readonly #where: string;
  readonly #logger: Logger;
  readonly commandTimeoutMs: number;
  #shared: Redis | undefined;
  #opening: Promise<Redis> | undefined;
  #closed = false;

  constructor(
    readonly config: RedisConnectionConfig,
    context: Pick<ComponentContext, "logger" | "owner">,
  ) {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError(
        `connection "${context.owner}": \`url\` is not a URL (expected redis://host:port)`,
      );
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new ConfigError(`connection "${context.owner}": \`url\` must start with redis:// or rediss://`);
    }
    this.#url = config.url;
    // Never the URL itself in messages: it may hold the password.
    this.#where = `${url.hostname}:${url.port || 6379}${url.protocol === "rediss:" ? " (TLS)" : ""}`;
    this.#logger = context.logger;
    this.commandTimeoutMs = parseDuration(config.commandTimeout ?? "5s");
  }

  get where(): string {
    return this.#where;
  }

  #options(suffix: string, extra: Partial<RedisOptions>): RedisOptions {
    return {
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: parseDuration(this.config.connectTimeout ?? "5s"),
      commandTimeout: this.commandTimeoutMs,
      connectionName: `${this.config.name ?? "junction"}:${suffix}`,
      ...(this.config.db !== undefined ? { db: this.config.db } : {}),
      ...extra,
    };
  }

  /** A client of its own (for a source). Throws a ConnectionError when Redis is unreachable. */
  async open(suffix: string, extra: Partial<RedisOptions> = {}): Promise<Redis> {
    if (this.#closed) throw new ConnectionError("the redis connection is closed");
    const client = new (ioredis().Redis)(this.#url, this.#options(suffix, extra));
    // Failures reach callers through their commands; the event only needs a listener.
    client.on("error", (error: Error) => this.#logger.debug({ err: error, suffix }, "redis client error"));
    try {
      await client.connect();
      return client;
    } catch (error) {
      client.disconnect();
      throw redisError(error, `cannot connect to redis at ${this.#where}`);
    }
  }

  /** The shared client for sinks; a new one after the previous one lost its connection. */
  async shared(): Promise<Redis> {
    if (this.#shared && this.#shared.status === "ready") return this.#shared;
    if (this.#closed) throw new ConnectionError("the redis connection is closed");
    this.#opening ??= (async () => {
      this.#shared?.disconnect();
      this.#shared = await this.open("shared");
      return this.#shared;
    })().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * After a command timed out the connection may be dead without a reset (a partition): drop it,
   * so the next command opens a fresh one instead of timing out again.
   */
  discard(client: Redis): void {
    if (this.#shared !== client) return;
    this.#shared = undefined;
    client.disconnect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    const client = this.#shared;
    this.#shared = undefined;
    if (!client) return;
    try {
      if (client.status === "ready") await client.quit();
      else client.disconnect();
    } catch {
      client.disconnect();
    }
  }
}

/**
 * Classify a Redis client failure: timeouts, lost connections and transient server states (OOM,
 * READONLY, LOADING...) are retryable; a command Redis refused for good (WRONGTYPE...) is not.
 */
export function redisError(error: unknown, what: string): JunctionError {
  if (error instanceof JunctionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/timed out|timeout/i.test(message)) {
    return new TimeoutError(`${what}: ${message}`, { cause: error, code: "JUNCTION_REDIS_TIMEOUT" });
  }
  if (/^(NOAUTH|WRONGPASS)/.test(message)) {
    return new ConnectionError(`${what}: Redis refused the credentials`, {
      cause: error,
      code: "JUNCTION_REDIS_AUTH",
    });
  }
  const transient = /^(OOM|READONLY|LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|NOREPLICAS|NOGROUP)/;
  if ((error as Error)?.name === "ReplyError" && !transient.test(message)) {
    // Redis understood the command and refused it (WRONGTYPE, ERR syntax...): retrying will not help.
    return new DeliveryRejectedError(`${what}: ${message}`, {
      cause: error,
      code: "JUNCTION_REDIS_REJECTED",
    });
  }
  return new ConnectionError(`${what}: ${message}`, { cause: error, code: "JUNCTION_REDIS_CONNECTION" });
}
