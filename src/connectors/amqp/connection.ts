import { createRequire } from "node:module";
import type * as RabbitMq from "rabbitmq-client";
import type { Channel, Connection } from "rabbitmq-client";
import type { ConnectionInstance } from "../../api/component.js";
import { ConfigError, ShuttingDownError } from "../../api/errors.js";
import { parseDuration } from "../../config/schema-types.js";
import type { Logger } from "../../observe/logger.js";
import type { AmqpConnectionConfig, AmqpTopology } from "./config.js";
import { brokerReason, configError, connectionError, isPermanent } from "./errors.js";

const CLOSE_GRACE_MS = 2000;

// rabbitmq-client loads on the first connect, not at import: a config without amqp never pays for it.
const require = createRequire(import.meta.url);
let library: typeof RabbitMq | undefined;
const rabbitmq = (): typeof RabbitMq => (library ??= require("rabbitmq-client") as typeof RabbitMq);

/**
 * One `connections:` entry with `amqp`: a single AMQP connection shared by every source and sink
 * that names it, opened on first use. rabbitmq-client would reconnect on its own; we switch that
 * off: when the connection drops it is discarded, its channels close, sources report `lost()` and
 * the engine decides when to try again (sinks fail with a retryable error and the route's retry
 * policy does the same). The next user opens a fresh connection and the topology is declared again.
 */
export class AmqpConnection implements ConnectionInstance {
  /** `amqp connection "broker"`: how errors and logs name this connection (never with its URL). */
  readonly label: string;
  #client: Connection | undefined;
  #pending: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;
  readonly #heartbeatSeconds: number;
  readonly #timeoutMs: number;

  constructor(
    readonly name: string,
    private readonly config: AmqpConnectionConfig,
    private readonly logger: Logger,
  ) {
    this.label = `amqp connection "${name}"`;
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      // The URL may hold a password: it is never echoed.
      throw new ConfigError(
        `${this.label}: url is not a URL (expected amqp://user:password@host:5672/vhost)`,
      );
    }
    if (url.protocol !== "amqp:" && url.protocol !== "amqps:") {
      throw new ConfigError(`${this.label}: url must start with amqp:// or amqps://, not ${url.protocol}//`);
    }
    this.#heartbeatSeconds = Math.ceil(parseDuration(config.heartbeat ?? "30s") / 1000);
    this.#timeoutMs = parseDuration(config.connectionTimeout ?? "10s");
    for (const queue of config.topology?.queues ?? []) {
      if (queue.type === "quorum" && queue.durable === false) {
        throw new ConfigError(
          `${this.label}: queue "${queue.name}" is a quorum queue, which must be durable`,
        );
      }
    }
  }

  /** A connected client with the topology declared; connects when there is none (one attempt at a time). */
  client(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** A new channel on the connection; errors are reported on the channel (which always has a listener). */
  async channel(): Promise<Channel> {
    const client = await this.client();
    try {
      const channel = await client.acquire({ emitErrorsFromChannel: true });
      channel.on("error", () => {});
      return channel;
    } catch (error) {
      throw connectionError(this.label, error, "opening a channel");
    }
  }

  async #connect(): Promise<Connection> {
    const client = new (rabbitmq().Connection)({
      url: this.config.url,
      heartbeat: this.#heartbeatSeconds,
      connectionTimeout: this.#timeoutMs,
      acquireTimeout: this.#timeoutMs,
      connectionName: `junction ${this.name}`,
      frameMax: 131072,
    });
    // An 'error' event without a listener would crash the process: there is always one.
    client.on("error", () => {});
    this.#pending = client;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no answer within ${this.#timeoutMs} ms`)),
          this.#timeoutMs + 1000,
        );
        const finish = (error?: unknown) => {
          clearTimeout(timer);
          client.off("connection", onConnection);
          client.off("error", finish);
          if (error) reject(error);
          else resolve();
        };
        const onConnection = () => finish();
        client.once("connection", onConnection);
        client.on("error", finish);
      });
    } catch (error) {
      this.#discard(client);
      throw connectionError(this.label, error);
    } finally {
      this.#pending = undefined;
    }
    // From now on an error event means the socket is gone: drop this client for good.
    client.on("error", (error) => this.#lost(client, error));
    client.on("connection.blocked", (reason) =>
      this.logger.warn({ connection: this.name, reason }, `${this.label}: the broker blocked publishing`),
    );
    client.on("connection.unblocked", () =>
      this.logger.info({ connection: this.name }, `${this.label}: the broker unblocked publishing`),
    );
    try {
      await this.#declare(client, this.config.topology);
    } catch (error) {
      this.#discard(client);
      throw error;
    }
    if (this.#closed) {
      this.#discard(client);
      throw new ShuttingDownError();
    }
    this.#client = client;
    this.logger.debug({ connection: this.name }, `${this.label}: connected`);
    return client;
  }

  async #declare(client: Connection, topology: AmqpTopology | undefined): Promise<void> {
    if (!topology) return;
    let channel: Channel;
    try {
      channel = await client.acquire({ emitErrorsFromChannel: true });
    } catch (error) {
      throw connectionError(this.label, error, "opening a channel to declare the topology");
    }
    channel.on("error", () => {});
    const step = async (what: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        // A refusal (different settings, no permission, missing exchange) is a configuration problem.
        throw isPermanent(error)
          ? configError(this.label, error, what)
          : connectionError(this.label, error, what);
      }
    };
    try {
      for (const exchange of topology.exchanges ?? []) {
        await step(`declaring exchange "${exchange.name}"`, () =>
          channel.exchangeDeclare({
            exchange: exchange.name,
            type: exchange.type ?? "topic",
            durable: exchange.durable ?? true,
            autoDelete: exchange.autoDelete ?? false,
            ...(exchange.arguments ? { arguments: exchange.arguments } : {}),
          }),
        );
      }
      for (const queue of topology.queues ?? []) {
        const args: Record<string, unknown> = { ...queue.arguments };
        if (queue.type) args["x-queue-type"] = queue.type;
        if (queue.deadLetterExchange !== undefined) args["x-dead-letter-exchange"] = queue.deadLetterExchange;
        if (queue.deadLetterRoutingKey !== undefined)
          args["x-dead-letter-routing-key"] = queue.deadLetterRoutingKey;
        if (queue.messageTtl !== undefined) args["x-message-ttl"] = parseDuration(queue.messageTtl);
        if (queue.maxLength !== undefined) args["x-max-length"] = queue.maxLength;
        await step(`declaring queue "${queue.name}"`, () =>
          channel.queueDeclare({
            queue: queue.name,
            durable: queue.type === "quorum" ? true : (queue.durable ?? true),
            arguments: args,
          }),
        );
      }
      for (const binding of topology.bindings ?? []) {
        await step(
          `binding queue "${binding.queue}" to exchange "${binding.exchange}" with key "${binding.routingKey ?? ""}"`,
          () =>
            channel.queueBind({
              exchange: binding.exchange,
              queue: binding.queue,
              routingKey: binding.routingKey ?? "",
              ...(binding.arguments ? { arguments: binding.arguments } : {}),
            }),
        );
      }
    } finally {
      await channel.close().catch(() => {});
    }
  }

  #lost(client: Connection, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.logger.warn(
      { connection: this.name, reason: brokerReason(error) },
      `${this.label}: connection lost`,
    );
    this.#discard(client);
  }

  /** Close a client that is no longer used, stopping the library's own reconnect attempts. */
  #discard(client: Connection): void {
    client.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending) this.#discard(this.#pending);
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const graceful = client.close().then(
      () => true,
      () => true,
    );
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
    });
    if (!(await Promise.race([graceful, late]))) client.unsafeDestroy();
    clearTimeout(timer);
  }
}

/** The live AmqpConnection a source or sink names; a clear config error when it is something else. */
export function amqpConnection(lookup: <T>(name: string) => T, name: string, owner: string): AmqpConnection {
  const connection = lookup<unknown>(name);
  if (!(connection instanceof AmqpConnection)) {
    throw new ConfigError(`${owner}: connection "${name}" is not an amqp connection`);
  }
  return connection;
}
