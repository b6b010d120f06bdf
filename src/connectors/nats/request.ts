import type { Msg } from "@nats-io/transport-node";
import type { ComponentContext, Requester } from "../../api/component.js";
import { ConnectionError, DeliveryRejectedError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { decodePayload, encodePayload, isJsonType } from "./codec.js";
import type { NatsRequestConfig } from "./config.js";
import { abortable, type NatsConnectionInstance, natsError } from "./connection.js";
import { buildHeaders, subjectFor } from "./sink.js";

/**
 * Core NATS request-reply: sends the data (JSON, with the envelope headers) and returns the
 * decoded reply. No responders is retryable (the service may be restarting); no reply in time is
 * a TimeoutError. A reply carrying `Nats-Service-Error-Code` (the NATS services convention) is an
 * error: 5xx retryable, anything else permanent.
 */
export class NatsRequester implements Requester {
  readonly #timeoutMs: number;

  readonly #format: PayloadFormat | undefined;

  constructor(
    private readonly config: NatsRequestConfig,
    private readonly connection: NatsConnectionInstance,
    private readonly context: ComponentContext,
  ) {
    this.#timeoutMs = parseDuration(config.timeout ?? "5s");
    this.#format = resolveFormat(config.format, context, `nats request in route "${context.owner}"`);
  }

  async request(message: Message, signal: AbortSignal): Promise<unknown> {
    const subject = await subjectFor(this.config.subject, this.context, message);
    const payload = this.#format
      ? { bytes: this.#format.encode(message.data), contentType: this.#format.contentType }
      : encodePayload(message);
    const headers = await buildHeaders(message, this.config.headers, this.context, payload.contentType);
    const nc = await this.connection.shared();
    let reply: Msg;
    try {
      reply = await abortable(
        nc.request(subject, payload.bytes, { timeout: this.#timeoutMs, headers }),
        signal,
      );
    } catch (error) {
      if (signal.aborted) {
        throw new ConnectionError(`request to ${subject} was interrupted`, {
          cause: error,
          code: "JUNCTION_NATS_INTERRUPTED",
        });
      }
      throw natsError(error, `request to ${subject}`);
    }
    if (this.#format && reply.data.length > 0 && !header(reply, "nats-service-error-code")) {
      return this.#format.decode(reply.data);
    }
    return decodeReply(reply, subject);
  }
}

/** A header by name, whatever its case. */
function header(reply: Msg, name: string): string | undefined {
  if (!reply.headers) return undefined;
  for (const [key, values] of reply.headers) if (key.toLowerCase() === name) return values[0];
  return undefined;
}

function decodeReply(reply: Msg, subject: string): unknown {
  const code = header(reply, "nats-service-error-code");
  if (code) {
    const text = header(reply, "nats-service-error") || "service error";
    const status = Number(code);
    const details = { subject, status: Number.isFinite(status) ? status : code };
    if (status >= 500 || status === 408 || status === 429) {
      throw new ConnectionError(`${subject} answered ${code}: ${text}`, {
        details,
        code: "JUNCTION_NATS_SERVICE_ERROR",
      });
    }
    throw new DeliveryRejectedError(`${subject} answered ${code}: ${text}`, {
      details,
      code: "JUNCTION_NATS_SERVICE_ERROR",
    });
  }
  if (reply.data.length === 0) return null;
  const declared = header(reply, "content-type");
  if (declared && !isJsonType(declared)) return decodePayload(reply.data, declared);
  try {
    return decodePayload(reply.data, "application/json");
  } catch (error) {
    // Undeclared and not JSON: the text as it is. Declared JSON that does not parse is refused.
    if (!declared) {
      try {
        return decodePayload(reply.data, "text/plain");
      } catch {
        // not text either
      }
    }
    throw new DeliveryRejectedError(`the reply from ${subject} cannot be read: ${(error as Error).message}`, {
      cause: error,
      code: "JUNCTION_NATS_BAD_REPLY",
    });
  }
}
