import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import { type MessageInit, withPayload } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { decodePayload, ENVELOPE_HEADERS, stableId } from "../nats/codec.js";
import type { RedisSourceConfig } from "./config.js";
import { type RedisConnectionInstance, redisError } from "./connection.js";

/** One stream entry: its id and its fields (null when the entry was deleted or trimmed meanwhile). */
export interface Entry {
  id: string;
  fields: Map<string, Buffer> | null;
}

/**
 * Reads a Redis stream as a member of a consumer group. Entries are stored with one `emit` per
 * read and acknowledged (XACK) only after that commit. On every start the consumer first takes
 * back its own unacknowledged entries (delivered before a dropped connection), then claims entries
 * other consumers left unacknowledged for `claimIdle` (a crashed process), then reads new ones.
 * An entry that cannot be decoded becomes a dead letter and is acknowledged.
 */
export class RedisStreamSource implements Source {
  /** Unique per process, kept across restarts of this source so it can find its own pending entries. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  #run: ReadLoop | undefined;

  constructor(
    private readonly config: RedisSourceConfig,
    private readonly connection: RedisConnectionInstance,
    private readonly route: string,
  ) {}

  get group(): string {
    return this.config.group ?? `junction-${this.route}`;
  }

  async start(context: SourceContext): Promise<void> {
    const block = parseDuration(this.config.block ?? "5s");
    // A blocked read legitimately takes `block`; give it that much more before calling it a timeout.
    const client = await this.connection.open(`source:${this.route}`, {
      commandTimeout: block + this.connection.commandTimeoutMs,
    });
    try {
      await client.xgroup(
        "CREATE",
        this.config.stream,
        this.group,
        this.config.start === "new" ? "$" : "0",
        "MKSTREAM",
      );
      context.logger.info({ stream: this.config.stream, group: this.group }, "redis consumer group created");
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("BUSYGROUP")) {
        client.disconnect();
        throw redisError(error, `cannot create group "${this.group}" on stream "${this.config.stream}"`);
      }
    }
    this.#run = new ReadLoop(client, this.config, this.group, this.consumer, context, block);
    this.#run.start();
    context.logger.info(
      {
        stream: this.config.stream,
        group: this.group,
        consumer: this.consumer,
        server: this.connection.where,
      },
      "redis source reading",
    );
  }

  /** Stop reading: a blocked read ends at once; the batch being stored is acknowledged first. */
  async stop(): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    if (!run) return;
    await run.stop();
    if (!run.lost) await this.#leave();
  }

  /**
   * Leave no empty consumer behind (every process joins under a new name). A consumer that still
   * owns entries stays, so that they can be claimed.
   */
  async #leave(): Promise<void> {
    try {
      const client = await this.connection.shared();
      const pending = (await client.call(
        "XPENDING",
        this.config.stream,
        this.group,
        "-",
        "+",
        1,
        this.consumer,
      )) as unknown[];
      if (pending.length === 0)
        await client.call("XGROUP", "DELCONSUMER", this.config.stream, this.group, this.consumer);
    } catch {
      // best effort: an idle consumer entry costs nothing but a line in XINFO CONSUMERS
    }
  }
}

class ReadLoop {
  readonly #abort = new AbortController();
  #phase: "busy" | "blocked" = "busy";
  #lost = false;
  #done: Promise<void> = Promise.resolve();
  readonly #batch: number;
  readonly #claimIdleMs: number;
  readonly #format: PayloadFormat | undefined;

  constructor(
    private readonly client: Redis,
    private readonly config: RedisSourceConfig,
    private readonly group: string,
    private readonly consumer: string,
    private readonly context: SourceContext,
    private readonly blockMs: number,
  ) {
    this.#batch = config.batch ?? 100;
    this.#claimIdleMs = parseDuration(config.claimIdle ?? "60s");
    this.#format = resolveFormat(config.format, context, `redis source in route "${context.owner}"`);
  }

  start(): void {
    const { context } = this;
    const onEngineStop = () => this.#halt();
    if (context.signal.aborted) this.#halt();
    else context.signal.addEventListener("abort", onEngineStop, { once: true });
    this.#abort.signal.addEventListener("abort", () =>
      context.signal.removeEventListener("abort", onEngineStop),
    );
    this.client.once("close", () => this.#fail(new Error("the connection was closed")));
    this.#done = this.#loop();
  }

  get lost(): boolean {
    return this.#lost;
  }

  async stop(): Promise<void> {
    this.#halt();
    await this.#done;
    this.client.disconnect();
  }

  #halt(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    // A blocked XREADGROUP only ends when its connection does.
    if (this.#phase === "blocked") this.client.disconnect();
  }

  #fail(error: unknown): void {
    if (this.#abort.signal.aborted || this.#lost) return;
    this.#lost = true;
    this.context.lost(redisError(error, `redis stream "${this.config.stream}"`));
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    const { stream } = this.config;
    let ownCursor: string | undefined = "0";
    let claimCursor = "0-0";
    let nextClaim = 0;
    try {
      while (!signal.aborted && !this.#lost) {
        let entries: Entry[];
        if (ownCursor !== undefined) {
          // Our own pending entries: delivered to this consumer before a dropped connection.
          entries = parseRead(
            await this.client.callBuffer(
              "XREADGROUP",
              "GROUP",
              this.group,
              this.consumer,
              "COUNT",
              this.#batch,
              "STREAMS",
              stream,
              ownCursor,
            ),
          );
          ownCursor = entries.length > 0 ? entries[entries.length - 1].id : undefined;
        } else if (Date.now() >= nextClaim) {
          // Entries other consumers read and never acknowledged (they crashed).
          const reply = (await this.client.callBuffer(
            "XAUTOCLAIM",
            stream,
            this.group,
            this.consumer,
            this.#claimIdleMs,
            claimCursor,
            "COUNT",
            this.#batch,
          )) as [Buffer, unknown];
          claimCursor = reply[0].toString();
          entries = parseEntries(reply[1]);
          if (claimCursor === "0-0")
            nextClaim = Date.now() + Math.max(1000, Math.floor(this.#claimIdleMs / 2));
        } else {
          this.#phase = "blocked";
          if (signal.aborted) break;
          const reply = await this.client.callBuffer(
            "XREADGROUP",
            "GROUP",
            this.group,
            this.consumer,
            "COUNT",
            this.#batch,
            "BLOCK",
            this.blockMs,
            "STREAMS",
            stream,
            ">",
          );
          this.#phase = "busy";
          entries = parseRead(reply);
        }
        if (entries.length > 0) await this.#store(entries);
      }
    } catch (error) {
      this.#phase = "busy";
      if (!signal.aborted) this.#fail(error);
    }
  }

  async #store(entries: Entry[]): Promise<void> {
    const { context, config } = this;
    const signal = this.#abort.signal;
    const inits: MessageInit[] = [];
    const ids: string[] = [];
    const settled: string[] = [];
    for (const entry of entries) {
      if (!entry.fields) {
        // Trimmed or deleted before we got to it: nothing left to deliver.
        context.logger.warn(
          { stream: config.stream, entry: entry.id },
          "pending entry no longer exists; acknowledged",
        );
        settled.push(entry.id);
        continue;
      }
      try {
        inits.push(toInit(entry, config, this.#format));
        ids.push(entry.id);
      } catch (error) {
        await context.deadLetter(rawInit(entry, config), undecodable(entry, config, error));
        settled.push(entry.id);
      }
    }
    if (settled.length > 0) await this.#ack(settled);
    if (inits.length === 0) return;
    const keepAlive = setInterval(
      () => void this.#touch(ids),
      Math.max(200, Math.floor(this.#claimIdleMs / 3)),
    );
    try {
      for (;;) {
        try {
          await context.emit(inits);
          break;
        } catch (error) {
          if (error instanceof ShuttingDownError) return;
          // The route is full: offer the same entries again later; they stay pending meanwhile.
          const delay = error instanceof BackpressureError ? (error.retryAfterMs ?? 1000) : 1000;
          if (!(error instanceof BackpressureError)) {
            context.logger.error({ err: error }, "storing redis entries failed; trying again");
          }
          await pause(delay, signal);
          if (signal.aborted) return;
        }
      }
    } finally {
      clearInterval(keepAlive);
    }
    await this.#ack(ids);
  }

  async #ack(ids: string[]): Promise<void> {
    // A failed XACK leaves the entries pending: this consumer takes them back after a restart,
    // others after claimIdle. The store keeps the same message ids, so repeats can be dropped.
    await this.client.call("XACK", this.config.stream, this.group, ...ids);
  }

  /** Reset the idle time of entries whose commit is slow, so no other consumer claims them. */
  async #touch(ids: string[]): Promise<void> {
    try {
      await this.client.call("XCLAIM", this.config.stream, this.group, this.consumer, 0, ...ids, "JUSTID");
    } catch {
      // the loop notices a broken connection by itself
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * XREADGROUP's reply: `[[key, entries]]` over RESP2, `[key, entries]` (a flattened map) over RESP3
 * with the legacy reply mapping; null when nothing arrived.
 */
export function parseRead(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (Buffer.isBuffer(reply[0]) || typeof reply[0] === "string") return parseEntries(reply[1]);
  return parseEntries((reply[0] as unknown[])[1]);
}

export function parseEntries(list: unknown): Entry[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => {
    const [id, flat] = item as [Buffer, Buffer[] | null];
    if (!flat) return { id: id.toString(), fields: null };
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i].toString(), flat[i + 1]);
    return { id: id.toString(), fields };
  });
}

const RESERVED = new Set(["id", ...ENVELOPE_HEADERS]);

function entryTime(id: string): number {
  const ms = Number(id.split("-")[0]);
  return Number.isFinite(ms) ? ms : Date.now();
}

function text(fields: Map<string, Buffer>, name: string): string | undefined {
  const value = fields.get(name);
  return value === undefined ? undefined : value.toString("utf8");
}

function baseInit(entry: Entry, config: RedisSourceConfig) {
  const fields = entry.fields ?? new Map<string, Buffer>();
  const dataField = config.field ?? "data";
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    const lower = name.toLowerCase();
    if (name === dataField || RESERVED.has(lower)) continue;
    headers[lower] = value.toString("utf8");
  }
  headers["junction-redis-stream"] = config.stream;
  headers["junction-redis-entry"] = entry.id;
  const ceTime = text(fields, "ce-time");
  const correlationId = text(fields, "correlation-id");
  const traceparent = text(fields, "traceparent");
  const tracestate = text(fields, "tracestate");
  return {
    id: text(fields, "id") || stableId(`redis:${config.stream}:${entry.id}`, entryTime(entry.id)),
    source: text(fields, "ce-source") || config.system || `redis:${config.stream}`,
    type: text(fields, "ce-type") || config.type || "junction.redis",
    time: ceTime && !Number.isNaN(Date.parse(ceTime)) ? ceTime : new Date(entryTime(entry.id)).toISOString(),
    subject: config.stream,
    ...(correlationId ? { correlationId } : {}),
    ...(traceparent ? { traceparent } : {}),
    ...(tracestate ? { tracestate } : {}),
    headers,
  };
}

/** A stream entry as a Junction message; throws ValidationError when its data cannot be read. */
export function toInit(entry: Entry, config: RedisSourceConfig, format?: PayloadFormat): MessageInit {
  const dataField = config.field ?? "data";
  const raw = entry.fields?.get(dataField);
  if (raw === undefined) throw new ValidationError(`the entry has no "${dataField}" field`);
  if (format) return withPayload(baseInit(entry, config), format.decode(raw), format.contentType);
  const contentType = "application/json";
  return withPayload(baseInit(entry, config), decodePayload(raw, contentType), contentType);
}

function rawInit(entry: Entry, config: RedisSourceConfig): MessageInit {
  const raw = entry.fields?.get(config.field ?? "data") ?? Buffer.alloc(0);
  return {
    ...baseInit(entry, config),
    datacontenttype: "application/octet-stream",
    data: raw.toString("base64"),
  };
}

function undecodable(entry: Entry, config: RedisSourceConfig, error: unknown): ValidationError {
  return new ValidationError(`redis entry ${config.stream} ${entry.id}: ${(error as Error).message}`, {
    code: "JUNCTION_REDIS_UNDECODABLE",
    cause: error,
    details: {
      stream: config.stream,
      entry: entry.id,
      field: config.field ?? "data",
      format: config.format ? Object.keys(config.format)[0] : "json",
    },
  });
}
