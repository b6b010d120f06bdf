/**
 * Broker payloads ↔ message data, shared by the amqp and mqtt connectors. Bytes are decoded by
 * content type: JSON becomes a value, text a string, anything else a base64 string with the type
 * kept in `datacontenttype`. Encoding is the mirror image, so bytes survive a broker-to-broker route.
 */

export type Decoded = { ok: true; data: unknown; datacontenttype: string } | { ok: false; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `application/json; charset=utf-8` → `application/json`; undefined when empty. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(";")[0].trim().toLowerCase();
  return type ? type : undefined;
}

export function isJsonType(type: string): boolean {
  return type === "application/json" || type.endsWith("+json");
}

/** Types carried as a string: text/*, XML (kept as text, never parsed here). */
export function isTextType(type: string): boolean {
  return type.startsWith("text/") || type === "application/xml" || type.endsWith("+xml");
}

/** Decode a payload by its content type (`fallback` when it carries none). Never throws. */
export function decodePayload(bytes: Buffer, contentType: string | undefined, fallback: string): Decoded {
  const type = mediaType(contentType) ?? mediaType(fallback) ?? "application/octet-stream";
  if (isJsonType(type) || isTextType(type)) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { ok: false, reason: `the payload is not valid UTF-8 (content type ${type})` };
    }
    if (isTextType(type)) return { ok: true, data: text, datacontenttype: type };
    try {
      return { ok: true, data: JSON.parse(text), datacontenttype: type };
    } catch (error) {
      return {
        ok: false,
        reason: `the payload is not valid JSON (content type ${type}): ${(error as Error).message}`,
      };
    }
  }
  return { ok: true, data: bytes.toString("base64"), datacontenttype: type };
}

/**
 * Encode message data for a broker. A string with a binary `datacontenttype` is taken as base64
 * (what the sources produce for bytes); other strings are UTF-8 text; everything else is JSON.
 */
export function encodePayload(
  data: unknown,
  datacontenttype: string | undefined,
): { body: Buffer; contentType: string } {
  const type = mediaType(datacontenttype);
  if (typeof data === "string") {
    if (!type) return { body: Buffer.from(data, "utf8"), contentType: "text/plain" };
    if (isJsonType(type)) return { body: Buffer.from(JSON.stringify(data), "utf8"), contentType: type };
    if (isTextType(type)) return { body: Buffer.from(data, "utf8"), contentType: type };
    if (BASE64.test(data)) return { body: Buffer.from(data, "base64"), contentType: type };
    return { body: Buffer.from(data, "utf8"), contentType: type };
  }
  return {
    body: Buffer.from(JSON.stringify(data ?? null), "utf8"),
    contentType: type && isJsonType(type) ? type : "application/json",
  };
}

/** Header values arrive as strings, numbers, buffers, arrays...: messages carry strings. */
export function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** A printable excerpt of a payload for a dead letter: the first `max` bytes, base64. */
export function previewBase64(bytes: Buffer, max = 64 * 1024): string {
  return (bytes.length <= max ? bytes : bytes.subarray(0, max)).toString("base64");
}

/** A timestamp that parses, as ISO text; undefined otherwise. */
export function isoTime(value: string | number | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
