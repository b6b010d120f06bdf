import type { Consumer, ConsumerConfig, ConsumerMessages, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import type { Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ConnectionError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import { type MessageEnvelope, type MessageInit, withPayload } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { decodePayload, ENVELOPE_HEADERS, stableId } from "./codec.js";
import type { NatsSourceConfig } from "./config.js";
import { closeQuietly, type NatsConnectionInstance, natsError } from "./connection.js";
import { natsJetStream } from "./library.js";

const FETCH_EXPIRES_MS = 5000;
const nanos = (ms: number) => ms * 1_000_000;

/**
 * Reads a JetStream stream through a durable pull consumer. Each pulled batch is stored with one
 * `emit`, and every message is acknowledged only after that commit: a crash before it means the
 * server redelivers after `ackWait`. While a commit is slow, held messages are kept alive with
 * in-progress signals; a route above its high-water mark gets its messages back (NAK with the
 * delay the engine asked for). A payload that cannot be decoded becomes a dead letter and is
 * terminated, so it is never redelivered.
 */
export class JetStreamSource implements Source {
  #run: PullLoop | undefined;

  constructor(
    private readonly config: NatsSourceConfig,
    private readonly connection: NatsConnectionInstance,
    private readonly route: string,
  ) {}

  get durable(): string {
    return this.config.durable ?? `junction-${this.route.replace(/[.*>\s/\\]/g, "_")}`;
  }

  async start(context: SourceContext): Promise<void> {
    const nc = await this.connection.open(`source:${this.route}`);
    let consumer: Consumer;
    try {
      const jsm = await natsJetStream().jetstreamManager(nc, { checkAPI: false });
      await this.#declareStream(jsm, context);
      await this.#declareConsumer(jsm, context);
      consumer = await natsJetStream().jetstream(nc).consumers.get(this.config.stream, this.durable);
    } catch (error) {
      await closeQuietly(nc);
      if ((error as { name?: string })?.name === "StreamNotFoundError") {
        throw new ConnectionError(
          `stream "${this.config.stream}" does not exist: create it, or add \`declare: { subjects: [...] }\` to the source`,
          { cause: error, code: "JUNCTION_NATS_NO_STREAM" },
        );
      }
      const failure = natsError(
        error,
        `cannot set up consumer "${this.durable}" on stream "${this.config.stream}"`,
      );
      // Whatever went wrong may be fixed on the server side: the engine tries again with backoff.
      throw failure.retryable
        ? failure
        : new ConnectionError(failure.message, { cause: error, code: failure.code });
    }
    this.#run = new PullLoop(nc, consumer, this.config, context);
    this.#run.start();
    context.logger.info(
      { stream: this.config.stream, consumer: this.durable, server: nc.getServer() },
      "nats source consuming",
    );
  }

  /** Stop pulling; the batch being stored is acknowledged, messages not yet stored are handed back. */
  async stop(): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    await run?.stop();
  }

  async #declareStream(jsm: JetStreamManager, context: SourceContext): Promise<void> {
    const declare = this.config.declare;
    if (!declare) return;
    try {
      const info = await jsm.streams.info(this.config.stream);
      const missing = declare.subjects.filter((subject) => !info.config.subjects?.includes(subject));
      if (missing.length > 0) {
        context.logger.warn(
          { stream: this.config.stream, missing, subjects: info.config.subjects },
          "the existing stream does not store every declared subject; it is left as it is",
        );
      }
      return;
    } catch (error) {
      if ((error as { name?: string })?.name !== "StreamNotFoundError") throw error;
    }
    const { RetentionPolicy, StorageType } = natsJetStream();
    await jsm.streams.add({
      name: this.config.stream,
      subjects: declare.subjects,
      storage: declare.storage === "memory" ? StorageType.Memory : StorageType.File,
      retention:
        declare.retention === "workqueue"
          ? RetentionPolicy.Workqueue
          : declare.retention === "interest"
            ? RetentionPolicy.Interest
            : RetentionPolicy.Limits,
      duplicate_window: nanos(parseDuration(declare.duplicateWindow ?? "2m")),
      ...(declare.maxAge ? { max_age: nanos(parseDuration(declare.maxAge)) } : {}),
    });
    context.logger.info({ stream: this.config.stream, subjects: declare.subjects }, "nats stream created");
  }

  async #declareConsumer(jsm: JetStreamManager, context: SourceContext): Promise<void> {
    const { AckPolicy, DeliverPolicy } = natsJetStream();
    const wanted = {
      ack_wait: nanos(parseDuration(this.config.ackWait ?? "30s")),
      max_deliver: this.config.maxDeliver ?? -1,
      max_ack_pending: this.config.maxAckPending ?? 1000,
      ...(this.config.filterSubject ? { filter_subject: this.config.filterSubject } : {}),
    };
    let existing: ConsumerConfig | undefined;
    try {
      existing = (await jsm.consumers.info(this.config.stream, this.durable)).config;
    } catch (error) {
      if ((error as { name?: string })?.name !== "ConsumerNotFoundError") throw error;
    }
    if (!existing) {
      const policy = this.config.deliverPolicy ?? "all";
      await jsm.consumers.add(this.config.stream, {
        durable_name: this.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy:
          policy === "new" ? DeliverPolicy.New : policy === "last" ? DeliverPolicy.Last : DeliverPolicy.All,
        ...wanted,
      });
      return;
    }
    const changes: Partial<typeof wanted> = {};
    for (const key of Object.keys(wanted) as (keyof typeof wanted)[]) {
      if (existing[key] !== wanted[key]) (changes as Record<string, unknown>)[key] = wanted[key];
    }
    if (Object.keys(changes).length === 0) return;
    try {
      await jsm.consumers.update(this.config.stream, this.durable, changes);
    } catch (error) {
      context.logger.warn(
        { err: error, consumer: this.durable, changes },
        "could not update the existing consumer; it keeps its settings",
      );
    }
  }
}

/** One connection's worth of pulling: a reader that fetches, a writer that stores and acknowledges. */
class PullLoop {
  readonly #abort = new AbortController();
  /** Every message received and not yet settled (acked, nak'ed or terminated). */
  readonly #held = new Set<JsMsg>();
  #buffer: JsMsg[] = [];
  #fetch: ConsumerMessages | undefined;
  #wakeWriter: (() => void) | undefined;
  #wakeReader: (() => void) | undefined;
  #pausedUntil = 0;
  #lost = false;
  #keepAlive: NodeJS.Timeout | undefined;
  #done: Promise<unknown> = Promise.resolve();
  readonly #capacity: number;
  readonly #batch: number;
  readonly #format: PayloadFormat | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly config: NatsSourceConfig,
    private readonly context: SourceContext,
  ) {
    this.#batch = config.batch ?? 100;
    this.#capacity = this.#batch * 2;
    this.#format = resolveFormat(config.format, context, `nats source in route "${context.owner}"`);
  }

  start(): void {
    const { context } = this;
    const onEngineStop = () => this.#halt();
    if (context.signal.aborted) this.#halt();
    else context.signal.addEventListener("abort", onEngineStop, { once: true });
    this.#abort.signal.addEventListener("abort", () =>
      context.signal.removeEventListener("abort", onEngineStop),
    );
    void this.nc.closed().then((error) => this.#fail(error ?? new Error("the connection was closed")));
    const ackWait = parseDuration(this.config.ackWait ?? "30s");
    this.#keepAlive = setInterval(() => this.#working(), Math.max(100, Math.floor(ackWait / 3)));
    this.#keepAlive.unref();
    this.#done = Promise.all([this.#read(), this.#write()]);
  }

  async stop(): Promise<void> {
    this.#halt();
    await this.#done;
    clearInterval(this.#keepAlive);
    // Received but not stored: hand them back now rather than after ackWait.
    for (const message of this.#buffer.splice(0)) this.#settle(message, "nak");
    await closeQuietly(this.nc);
  }

  #halt(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    this.#fetch?.stop();
    this.#wakeReader?.();
    this.#wakeWriter?.();
  }

  #fail(error: unknown): void {
    if (this.#abort.signal.aborted || this.#lost) return;
    this.#lost = true;
    this.#fetch?.stop();
    this.#wakeReader?.();
    this.#wakeWriter?.();
    this.context.lost(natsError(error, `nats consumer on stream "${this.config.stream}"`));
  }

  /** In-progress for everything held, so a slow commit does not cause a redelivery. */
  #working(): void {
    for (const message of this.#held) {
      try {
        message.working();
      } catch {
        // connection closed: the loop is about to be restarted
      }
    }
  }

  async #read(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted && !this.#lost) {
      const paused = this.#pausedUntil - Date.now();
      if (paused > 0) {
        await pause(paused, signal);
        continue;
      }
      const room = this.#capacity - this.#held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => {
          this.#wakeReader = resolve;
        });
        continue;
      }
      try {
        const messages = await this.consumer.fetch({ max_messages: room, expires: FETCH_EXPIRES_MS });
        this.#fetch = messages;
        if (signal.aborted || this.#lost) messages.stop();
        for await (const message of messages) {
          this.#held.add(message);
          this.#buffer.push(message);
          this.#wakeWriter?.();
        }
      } catch (error) {
        if (!signal.aborted) this.#fail(error);
      } finally {
        this.#fetch = undefined;
      }
    }
  }

  async #write(): Promise<void> {
    const signal = this.#abort.signal;
    for (;;) {
      while (this.#buffer.length === 0 && !signal.aborted && !this.#lost) {
        await new Promise<void>((resolve) => {
          this.#wakeWriter = resolve;
        });
      }
      // After a lost connection nothing could be acknowledged: leave the rest to the restart.
      if (signal.aborted || this.#lost) return;
      const paused = this.#pausedUntil - Date.now();
      if (paused > 0) {
        await pause(paused, signal);
        continue;
      }
      // Let messages that arrived in the same read reach the buffer: one commit for all of them.
      await new Promise((resolve) => setImmediate(resolve));
      await this.#store(this.#buffer.splice(0, this.#batch));
    }
  }

  async #store(batch: JsMsg[]): Promise<void> {
    const { context } = this;
    const inits: MessageInit[] = [];
    const good: JsMsg[] = [];
    for (const message of batch) {
      try {
        inits.push(toInit(message, this.config, this.#format));
        good.push(message);
      } catch (error) {
        await this.#deadLetter(message, error);
      }
    }
    if (good.length === 0) return;
    try {
      await context.emit(inits);
      for (const message of good) this.#settle(message, "ack");
    } catch (error) {
      if (error instanceof BackpressureError) {
        const delay = error.retryAfterMs ?? 1000;
        this.#pausedUntil = Date.now() + delay;
        for (const message of [...good, ...this.#buffer.splice(0)]) this.#settle(message, "nak", delay);
        context.logger.debug({ delay, count: good.length }, "route is full: messages handed back for later");
      } else if (error instanceof ShuttingDownError) {
        for (const message of good) this.#settle(message, "nak");
      } else {
        context.logger.error({ err: error }, "storing nats messages failed; they will be redelivered");
        for (const message of good) this.#settle(message, "nak", 1000);
      }
    }
  }

  async #deadLetter(message: JsMsg, error: unknown): Promise<void> {
    const init = rawInit(message, this.config);
    const reason = new ValidationError(
      `nats message ${message.info.stream}#${message.info.streamSequence} on ${message.subject}: ${(error as Error).message}`,
      {
        code: "JUNCTION_NATS_UNDECODABLE",
        cause: error,
        details: {
          stream: message.info.stream,
          sequence: message.info.streamSequence,
          subject: message.subject,
          contentType: contentTypeOf(message, this.config),
        },
      },
    );
    try {
      await this.context.deadLetter(init, reason);
      // Stored as a dead letter: the server must never offer it again.
      this.#settle(message, "term");
    } catch (failure) {
      this.context.logger.error(
        { err: failure },
        "could not store a dead letter; the message will be redelivered",
      );
      this.#settle(message, "nak", 1000);
    }
  }

  #settle(message: JsMsg, how: "ack" | "nak" | "term", delayMs?: number): void {
    this.#held.delete(message);
    try {
      if (how === "ack") message.ack();
      else if (how === "term") message.term();
      else message.nak(delayMs);
    } catch {
      // The connection is gone: the server redelivers after ackWait (the store keeps the same id).
    }
    this.#wakeReader?.();
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

/** Lower-cased header map; repeated headers are joined with ", ". */
function headerMap(headers: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, values] of headers) {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? values.join(", ") : `${out[key]}, ${values.join(", ")}`;
  }
  return out;
}

function contentTypeOf(message: JsMsg, config: NatsSourceConfig): string {
  return headerMap(message.headers)["content-type"] || config.contentType || "application/json";
}

function userHeaders(headers: Record<string, string>, message: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (ENVELOPE_HEADERS.has(name) || name.startsWith("nats-")) continue;
    out[name] = value;
  }
  out["junction-nats-stream"] = message.info.stream;
  out["junction-nats-sequence"] = String(message.info.streamSequence);
  return out;
}

function baseInit(
  message: JsMsg,
  config: NatsSourceConfig,
  headers: Record<string, string>,
): MessageEnvelope {
  const storedMs = Number(message.info.timestampNanos) / 1e6;
  const time =
    headers["ce-time"] && !Number.isNaN(Date.parse(headers["ce-time"])) ? headers["ce-time"] : undefined;
  return {
    id:
      headers["nats-msg-id"] ||
      headers["ce-id"] ||
      stableId(`nats:${message.info.stream}:${message.info.streamSequence}`, storedMs),
    source: headers["ce-source"] || config.system || `nats:${config.stream}`,
    type: headers["ce-type"] || config.type || "junction.nats",
    time: time ?? new Date(storedMs).toISOString(),
    subject: message.subject,
    ...(headers["correlation-id"] ? { correlationId: headers["correlation-id"] } : {}),
    ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
    ...(headers.tracestate ? { tracestate: headers.tracestate } : {}),
    ...(headers["ce-dataschema"] ? { dataschema: headers["ce-dataschema"] } : {}),
  };
}

/** A JetStream message as a Junction message; throws ValidationError when the payload cannot be read. */
export function toInit(message: JsMsg, config: NatsSourceConfig, format?: PayloadFormat): MessageInit {
  const headers = headerMap(message.headers);
  const contentType =
    format?.contentType ?? (headers["content-type"] || config.contentType || "application/json");
  const data = format ? format.decode(message.data) : decodePayload(message.data, contentType);
  const init = baseInit(message, config, headers);
  init.headers = userHeaders(headers, message);
  return withPayload(init, data, contentType);
}

/** The undecodable message as it was: raw bytes in base64, its headers kept. */
function rawInit(message: JsMsg, config: NatsSourceConfig): MessageInit {
  const headers = headerMap(message.headers);
  return {
    ...baseInit(message, config, headers),
    datacontenttype: "application/octet-stream",
    headers: {
      ...userHeaders(headers, message),
      ...(headers["content-type"] ? { "original-content-type": headers["content-type"] } : {}),
    },
    data: Buffer.from(message.data).toString("base64"),
  };
}
