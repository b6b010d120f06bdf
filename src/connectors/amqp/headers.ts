import type { AsyncMessage, Envelope } from "rabbitmq-client";
import type { Message, MessageInit } from "../../api/message.js";
import { headerText, isoTime } from "./payload.js";

/**
 * How a message's envelope travels in AMQP 0-9-1 properties and headers, both ways:
 *
 * | message                  | AMQP                                  |
 * |--------------------------|---------------------------------------|
 * | id                       | `messageId` property                  |
 * | correlationId            | `correlationId` property (a `correlation-id` header when longer than 255 bytes) |
 * | datacontenttype          | `contentType` property                |
 * | traceparent, tracestate  | headers `traceparent`, `tracestate`   |
 * | type, source, subject, time, dataschema | headers `ce-type`, `ce-source`, `ce-subject`, `ce-time`, `ce-dataschema` |
 * | headers                  | every other header                    |
 */

/** Headers that carry envelope attributes: read into the envelope, not into `headers`. */
const ENVELOPE_HEADERS = new Set([
  "correlation-id",
  "traceparent",
  "tracestate",
  "ce-id",
  "ce-specversion",
  "ce-type",
  "ce-source",
  "ce-subject",
  "ce-time",
  "ce-dataschema",
]);

/**
 * Headers the broker sets or interprets itself (dead-letter history, sender-selected routing):
 * never copied from a message onto a new publish, where they would mislead the broker.
 */
function brokerOwned(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === "cc" ||
    lower === "bcc" ||
    lower === "x-death" ||
    lower === "x-delivery-count" ||
    lower === "x-received-from" ||
    lower.startsWith("x-first-death-") ||
    lower.startsWith("x-last-death-")
  );
}

const MAX_ID_LENGTH = 255;

/** The envelope of a delivery (everything but data and datacontenttype). */
export function envelopeFromDelivery(
  delivery: AsyncMessage,
  defaults: { source: string },
): Omit<MessageInit, "data" | "datacontenttype"> {
  const raw = delivery.headers ?? {};
  const text = (name: string) => {
    const value = headerText(raw[name]);
    return value === undefined || value === "" ? undefined : value;
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (ENVELOPE_HEADERS.has(name.toLowerCase())) continue;
    const converted = headerText(value);
    if (converted !== undefined) headers[name] = converted;
  }
  const id =
    delivery.messageId && delivery.messageId.length <= MAX_ID_LENGTH ? delivery.messageId : undefined;
  const time =
    isoTime(text("ce-time")) ?? (delivery.timestamp ? isoTime(delivery.timestamp * 1000) : undefined);
  const subject = text("ce-subject") ?? (delivery.routingKey || undefined);
  const traceparent = text("traceparent");
  const tracestate = text("tracestate");
  const dataschema = text("ce-dataschema");
  const correlationId = delivery.correlationId || text("correlation-id");
  return {
    source: text("ce-source") ?? defaults.source,
    type: text("ce-type") ?? (delivery.type || "junction.amqp"),
    headers,
    ...(id ? { id } : {}),
    ...(correlationId ? { correlationId } : {}),
    ...(traceparent ? { traceparent } : {}),
    ...(tracestate ? { tracestate } : {}),
    ...(subject ? { subject } : {}),
    ...(time ? { time } : {}),
    ...(dataschema ? { dataschema } : {}),
  };
}

/** Properties and headers for publishing a message (the caller adds exchange, routing key, body). */
export function publishProperties(
  message: Message,
  contentType: string,
  extraHeaders: Record<string, string>,
): Pick<Envelope, "messageId" | "correlationId" | "contentType" | "headers" | "type"> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!brokerOwned(name) && !ENVELOPE_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  headers.traceparent = message.traceparent;
  if (message.tracestate) headers.tracestate = message.tracestate;
  headers["ce-type"] = message.type;
  headers["ce-source"] = message.source;
  if (message.subject !== undefined) headers["ce-subject"] = message.subject;
  headers["ce-time"] = message.time;
  if (message.dataschema !== undefined) headers["ce-dataschema"] = message.dataschema;
  // Properties are short strings (255 bytes at most); a longer correlation id travels as a header.
  const correlationFits = fits(message.correlationId);
  if (!correlationFits) headers["correlation-id"] = message.correlationId;
  Object.assign(headers, extraHeaders);
  return {
    messageId: message.id,
    contentType,
    headers,
    ...(correlationFits ? { correlationId: message.correlationId } : {}),
    ...(fits(message.type) ? { type: message.type } : {}),
  };
}

function fits(value: string): boolean {
  return Buffer.byteLength(value, "utf8") <= 255;
}
