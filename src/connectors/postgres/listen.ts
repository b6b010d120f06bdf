import { createRequire } from "node:module";
import type pg from "pg";
import type { Source, SourceContext } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  ShuttingDownError,
  toJunctionError,
  ValidationError,
} from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import type { PostgresSourceConfig } from "./config.js";
import { classifyPostgres, type PostgresConnection, postgresDialect } from "./connection.js";

// pg loads when the source starts, not at import (as in connection.ts).
const require = createRequire(import.meta.url);

/**
 * LISTEN/NOTIFY: one dedicated connection LISTENs on the channels and every notification becomes
 * a message (JSON payloads decoded). PostgreSQL does not keep notifications for a listener that
 * is away, so this is at-most-once while disconnected: when the connection drops the source
 * reports it lost, the engine starts it again with backoff, and it LISTENs again.
 */
export class ListenSource implements Source {
  #calls = 0;
  #client: pg.Client | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #queue: { init: MessageInit; invalid?: string }[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly config: PostgresSourceConfig,
  ) {}

  async start(context: SourceContext): Promise<void> {
    const first = this.#calls++ === 0;
    const prefix = `postgres connection "${this.connection.name}"`;
    const { Client } = require("pg") as typeof pg;
    const client = new Client(this.connection.clientConfig);
    let gone = false;
    const drop = (error: unknown) => {
      if (gone || this.#client !== client) return;
      gone = true;
      context.lost(classifyPostgres(error, this.connection.name));
    };
    client.on("error", drop);
    client.on("end", () => drop(new ConnectionError(`${prefix}: the listening connection closed`)));
    client.on("notification", (notification) => this.#receive(context, notification));
    try {
      await client.connect();
      for (const channel of this.config.listen ?? []) {
        await client.query(`LISTEN ${postgresDialect.quote(channel)}`);
      }
    } catch (thrown) {
      await client.end().catch(() => {});
      const error = classifyPostgres(thrown, this.connection.name);
      if (first && postgresDialect.isSetupError(error)) {
        throw new ConfigError(`route "${context.owner}": ${error.message}`, { cause: error });
      }
      throw error;
    }
    this.#client = client;
    const every = parseDuration(this.config.heartbeat ?? "30s");
    if (every > 0) {
      this.#heartbeat = setInterval(() => {
        client.query("SELECT 1").catch(drop);
      }, every);
      this.#heartbeat.unref();
    }
  }

  #receive(context: SourceContext, notification: pg.Notification): void {
    const payload = notification.payload ?? "";
    let data: unknown = payload;
    let invalid: string | undefined;
    const mode = this.config.payload ?? "auto";
    if (mode === "json" || (mode === "auto" && /^\s*[[{]/.test(payload))) {
      try {
        data = JSON.parse(payload);
      } catch (error) {
        if (mode === "json") invalid = `payload is not JSON: ${(error as Error).message}`;
      }
    }
    this.#queue.push({
      init: {
        source: this.config.system ?? `postgres:${this.connection.name}`,
        type: "junction.postgres.notify",
        subject: notification.channel,
        datacontenttype: typeof data === "string" ? "text/plain" : "application/json",
        headers: { "postgres-channel": notification.channel, "postgres-pid": String(notification.processId) },
        data,
      },
      ...(invalid ? { invalid } : {}),
    });
    this.#flushing ??= this.#flush(context).finally(() => {
      this.#flushing = undefined;
    });
  }

  /** Store what arrived, in order, in as few commits as possible. */
  async #flush(context: SourceContext): Promise<void> {
    while (this.#queue.length > 0) {
      const items = this.#queue.splice(0);
      for (const item of items.filter((entry) => entry.invalid)) {
        await context
          .deadLetter(item.init, new ValidationError(item.invalid!, { code: "JUNCTION_POSTGRES_PAYLOAD" }))
          .catch((error) => context.logger.error({ err: error }, "could not dead-letter a notification"));
      }
      const inits = items.filter((entry) => !entry.invalid).map((entry) => entry.init);
      if (inits.length === 0) continue;
      try {
        await context.emit(inits);
      } catch (error) {
        if (error instanceof ShuttingDownError) {
          context.logger.warn(`shutting down: ${inits.length} notification(s) not stored`);
          continue;
        }
        // NOTIFY cannot be pushed back: keep it as a dead letter (replayable) rather than drop it.
        const reason = toJunctionError(error);
        for (const init of inits) {
          await context
            .deadLetter(init, reason)
            .catch((failure) => context.logger.error({ err: failure }, "could not store a notification"));
        }
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    await this.#flushing;
    await client?.end().catch(() => {});
  }
}
