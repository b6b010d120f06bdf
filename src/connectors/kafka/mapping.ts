import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  type JunctionError,
  TimeoutError,
  ValidationError,
} from "../../api/errors.js";
import { type Message, type MessageInit, withPayload } from "../../api/message.js";
import { decodeFormatted, type PayloadFormat } from "../../formats/payload.js";

/**
 * Pure mappings between Kafka records and Junction messages, and Kafka client errors to Junction's
 * error model. Kept apart from the client so they are tested without a broker.
 *
 * Record headers follow the CloudEvents Kafka protocol binding (binary mode): `ce_id`, `ce_source`,
 * `ce_type`, `ce_specversion`, `ce_time`, `ce_subject`, and `content-type`; trace context travels
 * as W3C `traceparent`/`tracestate` headers (as OpenTelemetry's Kafka instrumentation does) and the
 * correlation id as `x-correlation-id`.
 */

/** The built-in mappings (JSON is the default), or a configured `format:` codec. */
export type KafkaFormat = "json" | "text" | "bytes" | PayloadFormat;

function formatName(format: KafkaFormat): string {
  return typeof format === "string" ? format : format.name;
}

/** A consumed record as the client hands it over, with Buffers left undecoded. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp?: bigint;
  key?: Buffer | null;
  value?: Buffer | null;
  headers?:
    | Map<Buffer | undefined, Buffer | undefined>
    | Iterable<[Buffer | null | undefined, Buffer | null | undefined]>;
}

/** A record to produce: everything already encoded. */
export interface ProducedRecord {
  topic: string;
  key?: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
}

export type DecodedRecord =
  | { ok: true; init: MessageInit }
  | { ok: false; init: MessageInit; error: ValidationError };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const CONTENT_TYPES: Record<Exclude<KafkaFormat, PayloadFormat>, string> = {
  json: "application/json",
  text: "text/plain; charset=utf-8",
  bytes: "application/octet-stream",
};

/** Record headers as strings; a value that is not UTF-8 is kept as `base64:<...>`. */
export function decodeHeaders(headers: ConsumedRecord["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [key, value] of headers) {
    if (!key) continue;
    const name = key.toString("utf8").toLowerCase();
    if (!value) {
      out[name] = "";
      continue;
    }
    const text = utf8(value);
    out[name] = text ?? `base64:${value.toString("base64")}`;
  }
  return out;
}

/**
 * A consumed record as a message. The key becomes the subject; `x-correlation-id`, `traceparent`,
 * `tracestate`, `ce_type` and `ce_time` become envelope fields; every header stays in `headers`,
 * with `kafka-topic`, `kafka-partition` and `kafka-offset` added. A value the format cannot decode
 * gives `ok: false` with the raw bytes (text when UTF-8, else base64) and the reason.
 */
export function recordToInit(
  record: ConsumedRecord,
  options: { format: KafkaFormat; system?: string; type?: string },
): DecodedRecord {
  const recordHeaders = decodeHeaders(record.headers);
  const headers: Record<string, string> = {
    ...recordHeaders,
    "kafka-topic": record.topic,
    "kafka-partition": String(record.partition),
    "kafka-offset": record.offset.toString(),
  };
  const header = (...names: string[]) => {
    for (const name of names) {
      const value = recordHeaders[name];
      if (value !== undefined && value !== "" && !value.startsWith("base64:")) return value;
    }
    return undefined;
  };
  const key = record.key && record.key.length > 0 ? utf8(record.key) : undefined;
  const subject = key ?? header("ce_subject", "ce-subject");
  const correlationId = header("x-correlation-id", "correlation-id", "ce_correlationid");
  const traceparent = header("traceparent", "ce_traceparent");
  const tracestate = header("tracestate", "ce_tracestate");
  const ceTime = header("ce_time", "ce-time");
  const time =
    ceTime && !Number.isNaN(Date.parse(ceTime))
      ? new Date(ceTime).toISOString()
      : record.timestamp !== undefined && record.timestamp > 0n
        ? new Date(Number(record.timestamp)).toISOString()
        : undefined;
  const base: MessageInit = {
    source: options.system ?? `kafka:${record.topic}`,
    type: header("ce_type", "ce-type") ?? options.type ?? `kafka.${record.topic}`,
    headers,
    data: null,
    ...(subject !== undefined ? { subject } : {}),
    ...(correlationId ? { correlationId } : {}),
    ...(traceparent ? { traceparent } : {}),
    ...(tracestate ? { tracestate } : {}),
    ...(time ? { time } : {}),
  };
  const where = `${record.topic}[${record.partition}]@${record.offset}`;
  const details = { topic: record.topic, partition: record.partition, offset: record.offset.toString() };
  const value = record.value ?? null;
  const raw = (reason: string): DecodedRecord => {
    const text = value ? utf8(value) : undefined;
    return {
      ok: false,
      init: {
        ...base,
        datacontenttype: text !== undefined ? "text/plain; charset=utf-8" : "application/octet-stream",
        headers: text !== undefined ? headers : { ...headers, "junction-raw-encoding": "base64" },
        data: text ?? value?.toString("base64") ?? null,
      },
      error: new ValidationError(
        `record ${where} cannot be decoded as ${formatName(options.format)}: ${reason}`,
        {
          code: "JUNCTION_KAFKA_UNDECODABLE",
          details,
        },
      ),
    };
  };
  const declared = header("content-type", "ce_datacontenttype");
  if (value === null) {
    // A tombstone (deleted key): kept as a message with null data.
    return { ok: true, init: { ...base, ...(declared ? { datacontenttype: declared } : {}) } };
  }
  if (typeof options.format === "object") {
    const decoded = decodeFormatted(options.format, value);
    if (!decoded.ok) return raw(decoded.reason);
    return { ok: true, init: withPayload(base, decoded.data, decoded.datacontenttype) };
  }
  if (options.format === "bytes") {
    return { ok: true, init: withPayload(base, value.toString("base64"), declared ?? CONTENT_TYPES.bytes) };
  }
  const text = utf8(value);
  if (text === undefined) return raw("the value is not valid UTF-8");
  if (options.format === "text") {
    return { ok: true, init: withPayload(base, text, declared ?? CONTENT_TYPES.text) };
  }
  try {
    return { ok: true, init: withPayload(base, JSON.parse(text), CONTENT_TYPES.json) };
  } catch (error) {
    return raw((error as Error).message);
  }
}

/** Message headers never copied into a record: set from the envelope, or transport details of another hop. */
function forwardable(name: string): boolean {
  return !(
    name.startsWith("ce_") ||
    name.startsWith("ce-") ||
    name.startsWith("kafka-") ||
    name === "content-type" ||
    name === "content-length" ||
    name === "host" ||
    name === "connection" ||
    name === "traceparent" ||
    name === "tracestate" ||
    name === "x-correlation-id" ||
    name === "junction-raw-encoding"
  );
}

export function encodeValue(message: Message, format: KafkaFormat): Buffer {
  const { data } = message;
  if (typeof format === "object") return format.encode(data);
  if (format === "bytes") {
    if (typeof data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
      throw new ValidationError("format bytes needs the data to be a base64 string", {
        code: "JUNCTION_KAFKA_ENCODE",
      });
    }
    return Buffer.from(data, "base64");
  }
  if (format === "text" && typeof data === "string") return Buffer.from(data, "utf8");
  return Buffer.from(JSON.stringify(data ?? null), "utf8");
}

/**
 * A message as a record: value by format, CloudEvents binary-mode headers (`ce_id` = message id),
 * `traceparent`, `tracestate`, `x-correlation-id`, the message's own headers (unless
 * `forwardHeaders` is false) and the rendered extra headers, which win.
 */
export function messageToRecord(
  message: Message,
  target: { topic: string; key?: string; headers?: Record<string, string> },
  options: { format: KafkaFormat; forwardHeaders: boolean },
): ProducedRecord {
  const headers: Record<string, string> = {};
  if (options.forwardHeaders) {
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (forwardable(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
  }
  Object.assign(headers, {
    ce_specversion: "1.0",
    ce_id: message.id,
    ce_source: message.source,
    ce_type: message.type,
    ce_time: message.time,
    ...(message.subject !== undefined ? { ce_subject: message.subject } : {}),
    "content-type":
      typeof options.format === "object"
        ? options.format.contentType
        : options.format === "json"
          ? CONTENT_TYPES.json
          : (message.datacontenttype ?? CONTENT_TYPES[options.format]),
    traceparent: message.traceparent,
    ...(message.tracestate ? { tracestate: message.tracestate } : {}),
    "x-correlation-id": message.correlationId,
  });
  for (const [name, value] of Object.entries(target.headers ?? {})) headers[name.toLowerCase()] = value;
  const encoded: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers)) encoded[name] = Buffer.from(value, "utf8");
  return {
    topic: target.topic,
    ...(target.key !== undefined && target.key !== "" ? { key: Buffer.from(target.key, "utf8") } : {}),
    value: encodeValue(message, options.format),
    headers: encoded,
  };
}

const BROKER = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

/** `["a:9092,b:9092", "c:9092"]` → three brokers; anything that is not host:port is a config error. */
export function parseBrokers(list: string[], who: string): string[] {
  const brokers = list
    .flatMap((item) => item.split(","))
    .map((item) => item.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new ConfigError(`${who}: no brokers given`);
  for (const broker of brokers) {
    const match = BROKER.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new ConfigError(`${who}: broker "${broker}" is not host:port`);
    }
  }
  return brokers;
}

/** Kafka errors that mean the credentials are wrong (not retried at the first start). */
const AUTHENTICATION = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "UNSUPPORTED_SASL_MECHANISM",
  "ILLEGAL_SASL_STATE",
]);

interface KafkaErrorFacts {
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  serverErrorMessage?: string | null;
  message: string;
}

/** Every error in a client error's tree: MultipleErrors' `errors`, then causes. */
function flatten(error: unknown, depth = 0): KafkaErrorFacts[] {
  if (!error || typeof error !== "object" || depth > 6) return [];
  const facts: KafkaErrorFacts[] = [error as KafkaErrorFacts];
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const inner of nested) facts.push(...flatten(inner, depth + 1));
  const cause = (error as { cause?: unknown }).cause;
  if (cause) facts.push(...flatten(cause, depth + 1));
  return facts;
}

function timeoutClass(fact: KafkaErrorFacts): boolean {
  return (fact.constructor as { code?: unknown } | undefined)?.code === "PLT_KFK_TIMEOUT";
}

export function isAuthenticationError(error: unknown): boolean {
  return flatten(error).some(
    (fact) =>
      fact.code === "PLT_KFK_AUTHENTICATION" || (fact.apiId !== undefined && AUTHENTICATION.has(fact.apiId)),
  );
}

/**
 * Map a @platformatic/kafka error: network trouble, timeouts, wrong credentials and protocol errors
 * the broker marks retriable are retryable; protocol errors it marks final (MESSAGE_TOO_LARGE,
 * TOPIC_AUTHORIZATION_FAILED, INVALID_RECORD...) and invalid requests are permanent.
 */
export function classifyKafkaError(error: unknown, what: string): JunctionError {
  const facts = flatten(error);
  const top = (error as Error)?.message ?? String(error);
  // The innermost reason (e.g. "Connection to 127.0.0.1:9092 failed") says more than "failed 4 times".
  const leaf = [...facts].reverse().find((fact) => fact.message && fact.message !== top)?.message;
  const message = `${what}: ${top}${leaf ? ` (${leaf})` : ""}`;
  if (isAuthenticationError(error)) {
    return new ConnectionError(`${message} (check the SASL mechanism, user name and password)`, {
      code: "JUNCTION_KAFKA_AUTHENTICATION",
      cause: error,
    });
  }
  const protocol = facts.filter((fact) => fact.apiId !== undefined);
  const final = protocol.find((fact) => fact.canRetry === false);
  if (final) {
    return new DeliveryRejectedError(
      `${what}: ${final.apiId}: ${final.serverErrorMessage ?? final.message}`,
      {
        code: `JUNCTION_KAFKA_${final.apiId}`,
        details: { error: final.apiId },
        cause: error,
      },
    );
  }
  // The client's TimeoutError carries the code PLT_KFK_NETWORK (1.35); its class's static `code` says
  // PLT_KFK_TIMEOUT. Read that rather than `instanceof`, so this module does not load the client.
  if (facts.some((fact) => fact.code === "PLT_KFK_TIMEOUT" || timeoutClass(fact))) {
    return new TimeoutError(message, { code: "JUNCTION_KAFKA_TIMEOUT", cause: error });
  }
  if (facts.some((fact) => fact.code === "PLT_KFK_USER" || fact.code?.startsWith("PLT_KFK_UNSUPPORTED"))) {
    return new DeliveryRejectedError(message, { code: "JUNCTION_KAFKA_REJECTED", cause: error });
  }
  const retriable = protocol.find((fact) => fact.canRetry === true);
  if (retriable) {
    return new ConnectionError(
      `${what}: ${retriable.apiId}: ${retriable.serverErrorMessage ?? retriable.message}`,
      {
        code: `JUNCTION_KAFKA_${retriable.apiId}`,
        cause: error,
      },
    );
  }
  return new ConnectionError(message, { code: "JUNCTION_KAFKA_UNREACHABLE", cause: error });
}
