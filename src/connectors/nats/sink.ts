import type { NatsConnection } from "@nats-io/transport-node";
import type { ComponentContext, Sink } from "../../api/component.js";
import { ConnectionError, DeliveryRejectedError, type JunctionError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { ENVELOPE_HEADERS, encodePayload, envelopeHeaders, safeHeader } from "./codec.js";
import type { NatsSinkConfig } from "./config.js";
import type { NatsConnectionInstance } from "./connection.js";
import { natsError } from "./connection.js";
import { natsJetStream, natsTransport } from "./library.js";
import { NoStreamAnswer, PubAckPipeline } from "./publisher.js";

const SUBJECT = /^[^\s*>]+$/;

/** Render a `{{ }}` template only when it has expressions. */
export async function renderTemplate(
  context: Pick<ComponentContext, "render">,
  template: string,
  message: Message,
): Promise<string> {
  return template.includes("{{") ? context.render(template, message.data, message) : template;
}

/**
 * Headers for an outgoing NATS message: user headers, then the envelope, then configured extras (a
 * later one replaces an earlier one of the same name). Collected first and appended once each:
 * `MsgHdrs.set` rescans every header already there.
 */
export async function buildHeaders(
  message: Message,
  extra: Record<string, string> | undefined,
  context: Pick<ComponentContext, "render">,
  contentType: string,
) {
  const collected = new Map<string, string>();
  const set = (name: string, value: string) => {
    const safe = safeHeader(name, value);
    if (safe) collected.set(safe[0], safe[1]);
  };
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const lower = name.toLowerCase();
    if (ENVELOPE_HEADERS.has(lower) || lower.startsWith("nats-")) continue;
    set(lower, String(value));
  }
  for (const [name, value] of Object.entries(envelopeHeaders(message))) set(name, value);
  set("content-type", contentType);
  for (const [name, template] of Object.entries(extra ?? {})) {
    set(name.toLowerCase(), await renderTemplate(context, template, message));
  }
  const h = natsTransport().headers();
  for (const [name, value] of collected) h.append(name, value);
  return h;
}

export async function subjectFor(
  template: string,
  context: Pick<ComponentContext, "render">,
  message: Message,
): Promise<string> {
  const subject = await renderTemplate(context, template, message);
  if (!SUBJECT.test(subject) || subject.startsWith(".") || subject.endsWith(".") || subject.includes("..")) {
    throw new DeliveryRejectedError(`"${subject}" is not a subject one can publish to`, {
      code: "JUNCTION_NATS_INVALID_SUBJECT",
      details: { template },
    });
  }
  return subject;
}

/**
 * Publishes each message to JetStream and resolves only on the stream's PubAck. Publishes are
 * pipelined: every write in flight waits for its own PubAck on one reply subscription, up to
 * `maxInFlight`. The message id is sent as `Nats-Msg-Id`, so a retried publish within the stream's
 * duplicate window is stored once. No stream for the subject is permanent; no answer in time is
 * retryable.
 */
export class JetStreamSink implements Sink {
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #format: PayloadFormat | undefined;
  #pipeline: PubAckPipeline | undefined;

  constructor(
    private readonly config: NatsSinkConfig,
    private readonly connection: NatsConnectionInstance,
    private readonly context: ComponentContext,
  ) {
    this.#timeoutMs = parseDuration(config.timeout ?? "5s");
    this.#maxInFlight = config.maxInFlight ?? 1000;
    this.#format = resolveFormat(config.format, context, `nats sink in route "${context.owner}"`);
  }

  async write(message: Message, signal: AbortSignal): Promise<void> {
    const subject = await subjectFor(this.config.subject, this.context, message);
    const payload = this.#format
      ? { bytes: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message);
    const headers = await buildHeaders(message, this.config.headers, this.context, payload.contentType);
    headers.append(
      "Nats-Msg-Id",
      this.config.msgId ? await renderTemplate(this.context, this.config.msgId, message) : message.id,
    );
    if (this.config.stream) headers.append("Nats-Expected-Stream", this.config.stream);
    const nc = await this.connection.shared();
    try {
      const ack = await this.#pipelineFor(nc).publish(
        subject,
        payload.bytes,
        headers,
        this.#timeoutMs,
        signal,
      );
      if (ack.duplicate) {
        this.context.logger.debug({ id: message.id, stream: ack.stream, seq: ack.seq }, "already stored");
      }
    } catch (error) {
      if (signal.aborted) {
        // Stored or not, a retry is safe: the stream drops a repeated Nats-Msg-Id.
        throw new ConnectionError(`publish to ${subject} was interrupted`, {
          cause: error,
          code: "JUNCTION_NATS_INTERRUPTED",
        });
      }
      if (error instanceof NoStreamAnswer) throw await this.#noStream(nc, subject, error);
      throw natsError(error, `publish to ${subject}`);
    }
  }

  /** One pipeline per connection: a new one once the shared connection was replaced. */
  #pipelineFor(nc: NatsConnection): PubAckPipeline {
    if (!this.#pipeline || this.#pipeline.nc !== nc || this.#pipeline.closed) {
      this.#pipeline?.close(new Error("the connection was replaced"));
      this.#pipeline = new PubAckPipeline(nc, this.#maxInFlight);
    }
    return this.#pipeline;
  }

  /**
   * Nobody answered the publish: either no stream stores this subject (a configuration problem,
   * permanent) or JetStream is not reachable right now (retryable). Ask the server which.
   */
  async #noStream(nc: NatsConnection, subject: string, cause: unknown): Promise<JunctionError> {
    try {
      const jsm = await natsJetStream().jetstreamManager(nc, { checkAPI: false });
      await jsm.streams.find(subject);
    } catch (error) {
      if ((error as { name?: string })?.name === "StreamNotFoundError") {
        return new DeliveryRejectedError(`no JetStream stream stores subject "${subject}"`, {
          cause,
          code: "JUNCTION_NATS_NO_STREAM",
          details: { subject },
        });
      }
      return new ConnectionError(`JetStream is not available for ${subject}`, {
        cause: error,
        code: "JUNCTION_NATS_UNAVAILABLE",
      });
    }
    return new ConnectionError(`the stream storing ${subject} did not answer`, {
      cause,
      code: "JUNCTION_NATS_UNAVAILABLE",
    });
  }
}
