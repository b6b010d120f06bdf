import type { ComponentContext, Sink } from "../../api/component.js";
import { ConnectionError, DeliveryRejectedError, TimeoutError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import { ENVELOPE_HEADERS, envelopeHeaders } from "../nats/codec.js";
import type { RedisSinkConfig } from "./config.js";
import { type RedisConnectionInstance, redisError } from "./connection.js";

async function render(context: ComponentContext, template: string, message: Message): Promise<string> {
  return template.includes("{{") ? context.render(template, message.data, message) : template;
}

/**
 * Appends each message to a stream with XADD (optionally trimmed with `MAXLEN ~ n`) and resolves
 * once Redis answered with the entry id. Fields: the data (JSON, or text), `id`, the envelope
 * (`correlation-id`, `traceparent`, `tracestate`, `ce-type`, `ce-source`, `ce-time`) and the
 * message's headers, one field each. Streams have no server-side deduplication: a retried append
 * can store an entry twice, and readers drop repeats by `id`.
 */
export class RedisStreamSink implements Sink {
  constructor(
    private readonly config: RedisSinkConfig,
    private readonly connection: RedisConnectionInstance,
    private readonly context: ComponentContext,
  ) {
    this.#format = resolveFormat(config.format, context, `redis sink in route "${context.owner}"`);
  }

  readonly #format: PayloadFormat | undefined;

  async write(message: Message, signal: AbortSignal): Promise<void> {
    const stream = await render(this.context, this.config.stream, message);
    if (stream === "") {
      throw new DeliveryRejectedError(`the stream template "${this.config.stream}" rendered an empty key`, {
        code: "JUNCTION_REDIS_INVALID_KEY",
      });
    }
    const fields = await this.#fields(message);
    const trim =
      this.config.maxLen !== undefined
        ? ["MAXLEN", this.config.approximate === false ? "=" : "~", String(this.config.maxLen)]
        : [];
    const client = await this.connection.shared();
    if (signal.aborted)
      throw new ConnectionError("the append was interrupted", { code: "JUNCTION_REDIS_INTERRUPTED" });
    try {
      await client.call("XADD", stream, ...trim, "*", ...fields);
    } catch (error) {
      const failure = redisError(error, `XADD ${stream}`);
      if (failure instanceof TimeoutError) this.connection.discard(client);
      throw failure;
    }
  }

  async #fields(message: Message): Promise<(string | Buffer)[]> {
    const dataField = this.config.field ?? "data";
    const data = message.data;
    const payload = this.#format
      ? this.#format.encode(data)
      : JSON.stringify(data === undefined ? null : data);
    const fields = new Map<string, string | Buffer>([[dataField, payload]]);
    const taken = (name: string) => fields.has(name) || name === "id" || ENVELOPE_HEADERS.has(name);
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      const lower = name.toLowerCase();
      if (!taken(lower)) fields.set(lower, String(value));
    }
    fields.set("id", message.id);
    for (const [name, value] of Object.entries(envelopeHeaders(message))) fields.set(name, value);
    for (const [name, template] of Object.entries(this.config.fields ?? {})) {
      if (name === dataField) continue;
      fields.set(name, await render(this.context, template, message));
    }
    return [...fields].flat();
  }
}
