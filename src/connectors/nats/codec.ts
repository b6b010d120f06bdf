import { createHash } from "node:crypto";
import { ValidationError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";

/**
 * Payloads and headers between Junction messages and broker messages, shared by the nats and
 * redis connectors: how bytes become `data` (by content type), and the header names that carry
 * the envelope (`correlation-id`, `traceparent`, `ce-*`).
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function isJsonType(type: string): boolean {
  const base = mediaType(type);
  return base === "application/json" || base.endsWith("+json") || base === "text/json";
}

export function mediaType(type: string): string {
  return type.split(";")[0].trim().toLowerCase();
}

/** Read a payload by its content type: JSON parsed, text as a string, anything else as base64. */
export function decodePayload(bytes: Uint8Array, contentType: string): unknown {
  const type = mediaType(contentType);
  if (isJsonType(type)) {
    const text = decodeText(bytes);
    if (text.trim() === "") throw new ValidationError(`empty payload, but the content type is ${type}`);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ValidationError(`payload is not valid JSON (${type}): ${(error as Error).message}`, {
        code: "JUNCTION_MALFORMED_BODY",
      });
    }
  }
  if (type.startsWith("text/") || type.endsWith("+xml") || type === "application/xml")
    return decodeText(bytes);
  return Buffer.from(bytes).toString("base64");
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ValidationError("payload is not valid UTF-8 text", { code: "JUNCTION_MALFORMED_BODY" });
  }
}

/**
 * Bytes for a message's data. A string stays itself when the content type says text (or bytes,
 * base64-decoded, for octet-stream); everything else is sent as JSON. A mapped message keeps its
 * original content type, so the data decides, not the label alone.
 */
export function encodePayload(message: Pick<Message, "data" | "datacontenttype">): {
  bytes: Buffer;
  contentType: string;
} {
  const declared = message.datacontenttype ?? "application/json";
  const type = mediaType(declared);
  const data = message.data;
  if (typeof data === "string" && !isJsonType(type)) {
    if (type.startsWith("text/") || type.endsWith("+xml") || type === "application/xml") {
      return { bytes: Buffer.from(data, "utf8"), contentType: declared };
    }
    if (type === "application/octet-stream")
      return { bytes: Buffer.from(data, "base64"), contentType: declared };
  }
  return {
    bytes: Buffer.from(JSON.stringify(data === undefined ? null : data), "utf8"),
    contentType: isJsonType(type) ? declared : "application/json",
  };
}

/** Header names that carry envelope attributes; never copied as user headers. */
export const ENVELOPE_HEADERS = new Set([
  "correlation-id",
  "traceparent",
  "tracestate",
  "content-type",
  "ce-id",
  "ce-specversion",
  "ce-type",
  "ce-source",
  "ce-time",
  "ce-subject",
  "ce-dataschema",
]);

/** Envelope headers for an outgoing message (the message id travels separately: Nats-Msg-Id, `id`). */
export function envelopeHeaders(message: Message): Record<string, string> {
  return {
    "correlation-id": message.correlationId,
    traceparent: message.traceparent,
    ...(message.tracestate ? { tracestate: message.tracestate } : {}),
    "ce-specversion": "1.0",
    "ce-type": message.type,
    "ce-source": message.source,
    "ce-time": message.time,
    ...(message.dataschema ? { "ce-dataschema": message.dataschema } : {}),
  };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LINE_BREAK = /[\r\n]/;

/** Header names a broker accepts as-is; values lose CR/LF so one header never becomes two. */
export function safeHeader(name: string, value: string): [string, string] | undefined {
  if (!TOKEN.test(name)) return undefined;
  return [name, LINE_BREAK.test(value) ? value.replace(/[\r\n]+/g, " ") : value];
}

/**
 * A stable UUIDv7-shaped id for a broker message that has none of its own: the same for every
 * redelivery of the same stored message (so idempotent sinks drop the repeat), sortable by the
 * time the broker stored it.
 */
export function stableId(key: string, timeMs: number): string {
  const digest = createHash("sha256").update(key).digest("hex");
  const time = Math.max(0, Math.min(Math.floor(timeMs), 2 ** 48 - 1))
    .toString(16)
    .padStart(12, "0");
  const variant = ((Number.parseInt(digest[3], 16) & 0x3) | 0x8).toString(16);
  const hex = `${time}7${digest.slice(0, 3)}${variant}${digest.slice(4, 19)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
