import type { HttpIncoming, HttpOutgoing, Source, SourceContext } from "../../api/component.js";
import { BackpressureError, JunctionError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { parseSize } from "../../config/schema-types.js";
import { problem } from "../../engine/problem.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { decodeBody, parseBody, UnsupportedMediaTypeError } from "./body.js";
import type { WebhookSourceConfig } from "./config.js";
import { verifySignature } from "./verify.js";

/** Headers never copied into the message: credentials, signatures and hop-by-hop headers. */
const DROPPED = new Set([
  "authorization",
  "cookie",
  "proxy-authorization",
  "x-hub-signature",
  "x-hub-signature-256",
  "stripe-signature",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "host",
  "upgrade",
  "te",
  "trailer",
]);

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function problemReply(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): HttpOutgoing {
  return {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
    body: problem(status, title, detail),
  };
}

/**
 * An HTTP endpoint that turns each request into messages. It answers 202 with the message id only
 * after the durable commit; bad input gets an RFC 9457 problem and is never stored.
 */
export class WebhookSource implements Source {
  #context: SourceContext | undefined;
  #format: PayloadFormat | undefined;

  constructor(private readonly config: WebhookSourceConfig) {}

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#format = resolveFormat(this.config.format, context, `webhook source in route "${context.owner}"`);
    const mount = context.httpServer(this.config.listen);
    mount.route({
      method: this.config.method ?? "POST",
      path: this.config.path,
      bodyLimit: parseSize(this.config.bodyLimit ?? "1mb"),
      handler: (request) => this.#handle(request),
    });
  }

  async #handle(request: HttpIncoming): Promise<HttpOutgoing> {
    const context = this.#context!;
    if (this.config.verify) {
      const reason = verifySignature(this.config.verify, request.headers, request.rawBody);
      if (reason) return problemReply(401, "Unauthorized", `signature check failed: ${reason}`);
    }
    let parsed: ReturnType<typeof parseBody>;
    try {
      parsed = this.#format
        ? decodeBody(this.#format, request.rawBody)
        : parseBody(first(request.headers["content-type"]), request.rawBody);
    } catch (error) {
      if (error instanceof UnsupportedMediaTypeError)
        return problemReply(415, "Unsupported media type", error.message);
      if (error instanceof ValidationError) return problemReply(400, "Bad request", error.message);
      throw error;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !DROPPED.has(name))
        headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const correlationId =
      first(request.headers["x-correlation-id"]) ?? first(request.headers["correlation-id"]);
    const traceparent = first(request.headers.traceparent);
    const tracestate = first(request.headers.tracestate);
    const subject = first(request.headers["ce-subject"]);
    const texts = parsed.texts;
    const inits: MessageInit[] = parsed.records.map((data, index) => ({
      source: this.config.system ?? `webhook:${this.config.path}`,
      type: first(request.headers["ce-type"]) ?? "junction.webhook",
      datacontenttype: parsed.datacontenttype,
      headers,
      data,
      dataJson: texts?.[index],
      ...(correlationId ? { correlationId } : {}),
      ...(traceparent ? { traceparent } : {}),
      ...(tracestate ? { tracestate } : {}),
      ...(subject ? { subject } : {}),
    }));
    const idempotencyKey = first(request.headers["idempotency-key"]);
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
      return problemReply(400, "Bad request", "Idempotency-Key must be 1 to 255 characters");
    }
    try {
      const result = await context.emit(inits, idempotencyKey ? { idempotencyKey } : {});
      const body = result.ids.length === 1 ? { id: result.ids[0] } : { ids: result.ids };
      return {
        status: 202,
        headers: {
          "content-type": "application/json",
          "junction-message-id": result.ids.join(","),
          ...(result.duplicate ? { "idempotent-replayed": "true" } : {}),
        },
        body,
      };
    } catch (error) {
      if (error instanceof BackpressureError || error instanceof ShuttingDownError) {
        const seconds = String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)));
        return problemReply(503, "Service unavailable", error.message, { "retry-after": seconds });
      }
      if (error instanceof JunctionError && !error.retryable)
        return problemReply(400, "Bad request", error.message);
      context.logger.error({ err: error }, "webhook could not store the message");
      return problemReply(503, "Service unavailable", "the message could not be stored; try again", {
        "retry-after": "1",
      });
    }
  }

  async stop(): Promise<void> {
    // The engine closes the shared listener; requests in flight finish their commit first.
  }
}
