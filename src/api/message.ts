import { createHash, randomFillSync } from "node:crypto";

/**
 * A Junction message: a CloudEvents 1.0 envelope with `data`, plus transport `headers`.
 * `correlationId` is kept across every route and system; `traceparent` carries W3C trace context.
 */
export interface Message {
  specversion: "1.0";
  /** Sortable unique id (UUIDv7). Kept on replay so idempotent sinks do not repeat effects. */
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  correlationId: string;
  traceparent: string;
  tracestate?: string;
  headers: Record<string, string>;
  data: unknown;
}

/** What a source hands to the engine; the engine fills in the rest of the envelope. */
export interface MessageInit {
  id?: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
  headers?: Record<string, string>;
  data: unknown;
  /**
   * The JSON text `data` was parsed from, when the source has it (a webhook's JSON body): the
   * store writes it as it came instead of serializing `data` again. Never part of the message.
   */
  dataJson?: string;
}

/** What a source reads from a delivery before its payload: a message's init without `data`. */
export type MessageEnvelope = Omit<MessageInit, "data" | "datacontenttype">;

/**
 * `envelope` completed with its payload: the same object, returned as a MessageInit (sources build
 * the envelope afresh for each message). Not `{ ...envelope, data }`: Node 20's V8 leaves its fast
 * path when keys follow a spread, 2–3 µs a message where this costs nanoseconds.
 */
export function withPayload(envelope: MessageEnvelope, data: unknown, datacontenttype?: string): MessageInit {
  const init = envelope as MessageInit;
  if (datacontenttype !== undefined) init.datacontenttype = datacontenttype;
  init.data = data;
  return init;
}

/** Random bytes for ids, filled 8 KiB at a time: one crypto call per 512 ids instead of one per id. */
const POOL = Buffer.allocUnsafe(8192);
let poolOffset = POOL.length;
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));
/** Last id's millisecond and 31-bit sequence (RFC 9562 method 1, as the uuid package counts). */
let lastMsecs = -1;
let seq = 0;

/**
 * A new UUIDv7: 48-bit millisecond time, then a sequence seeded at random each millisecond and
 * counted up within it (so ids made in one process sort in creation order), then random bits.
 */
export function newMessageId(): string {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 16;
  const now = Date.now();
  if (now > lastMsecs) {
    seq = ((POOL[r + 6] & 0x7f) << 24) | (POOL[r + 7] << 16) | (POOL[r + 8] << 8) | POOL[r + 9];
    lastMsecs = now;
  } else {
    seq = (seq + 1) | 0;
    // The sequence ran out within this millisecond: borrow the next one, as the uuid package does.
    if (seq === 0) lastMsecs++;
  }
  const msecs = lastMsecs;
  return (
    HEX[(msecs / 0x10000000000) & 0xff] +
    HEX[(msecs / 0x100000000) & 0xff] +
    HEX[(msecs / 0x1000000) & 0xff] +
    HEX[(msecs / 0x10000) & 0xff] +
    "-" +
    HEX[(msecs / 0x100) & 0xff] +
    HEX[msecs & 0xff] +
    "-" +
    HEX[0x70 | ((seq >>> 28) & 0x0f)] +
    HEX[(seq >>> 20) & 0xff] +
    "-" +
    HEX[0x80 | ((seq >>> 14) & 0x3f)] +
    HEX[(seq >>> 6) & 0xff] +
    "-" +
    HEX[((seq << 2) & 0xff) | (POOL[r + 10] & 0x03)] +
    HEX[POOL[r + 11]] +
    HEX[POOL[r + 12]] +
    HEX[POOL[r + 13]] +
    HEX[POOL[r + 14]] +
    HEX[POOL[r + 15]]
  );
}

/**
 * A deterministic id for a message derived from another (the n-th part of a split): the same on
 * every retry, so sinks that deduplicate by id see one message. Keeps the parent's UUIDv7 time
 * prefix, so ids stay sortable.
 */
export function derivedId(parentId: string, salt: string): string {
  const digest = createHash("sha256").update(`${parentId}:${salt}`).digest("hex");
  const hex = parentId.replace(/-/g, "").padEnd(32, "0");
  const out = `${hex.slice(0, 12)}7${digest.slice(0, 3)}${((Number.parseInt(digest[3], 16) & 0x3) | 0x8).toString(16)}${digest.slice(4, 19)}`;
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}-${out.slice(16, 20)}-${out.slice(20, 32)}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** `bytes` random bytes as lowercase hex, from the same pool as the ids; never all zeros (invalid in W3C trace context). */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  let out = "";
  let any = 0;
  for (let index = 0; index < bytes; index++) {
    const byte = POOL[poolOffset + index];
    any |= byte;
    out += HEX[byte];
  }
  poolOffset += bytes;
  return any === 0 ? randomHex(bytes) : out;
}

/** Accept a W3C traceparent as given when valid; otherwise start a new trace. */
export function normaliseTraceparent(value: string | undefined): string {
  if (value && TRACEPARENT.test(value) && !value.includes("-00000000000000000000000000000000-")) return value;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** A child span id for the next hop, same trace. */
export function childTraceparent(parent: string): string {
  const match = TRACEPARENT.exec(parent);
  if (!match) return normaliseTraceparent(undefined);
  return `00-${match[1]}-${randomHex(8)}-${match[3]}`;
}

/** The current time as ISO text, formatted once per millisecond: a burst of messages shares it. */
let isoMs = -1;
let isoText = "";
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

export function createMessage(init: MessageInit): Message {
  const id = init.id ?? newMessageId();
  const message: Message = {
    specversion: "1.0",
    id,
    source: init.source,
    type: init.type,
    time: init.time ?? isoNow(),
    correlationId: init.correlationId || id,
    traceparent: normaliseTraceparent(init.traceparent),
    headers: init.headers ?? {},
    data: init.data,
  };
  if (init.subject !== undefined) message.subject = init.subject;
  if (init.datacontenttype !== undefined) message.datacontenttype = init.datacontenttype;
  if (init.dataschema !== undefined) message.dataschema = init.dataschema;
  if (init.tracestate !== undefined) message.tracestate = init.tracestate;
  return message;
}

/**
 * A message derived from another one inside a route (split, map to a new channel):
 * a new id, the same correlation id, the next span of the same trace.
 */
export function deriveMessage(parent: Message, data: unknown, overrides: Partial<MessageInit> = {}): Message {
  return createMessage({
    source: parent.source,
    type: parent.type,
    ...(parent.subject !== undefined ? { subject: parent.subject } : {}),
    ...(parent.datacontenttype !== undefined ? { datacontenttype: parent.datacontenttype } : {}),
    correlationId: parent.correlationId,
    traceparent: childTraceparent(parent.traceparent),
    ...(parent.tracestate !== undefined ? { tracestate: parent.tracestate } : {}),
    headers: { ...parent.headers },
    ...overrides,
    data,
  });
}

/**
 * The message as JSON, with `data` written as `dataJson`, the JSON text it was parsed from:
 * serializing the envelope alone and splicing the text in costs about a third of serializing the
 * whole message. Parses to the same message; `data` comes last.
 */
export function messageJson(message: Message, dataJson: string): string {
  const text = JSON.stringify(envelopeOf(message));
  return `${text.slice(0, -1)},"data":${dataJson}}`;
}

/** The envelope without `data`, as bound to `$message` in expressions. */
export function envelopeOf(message: Message): Omit<Message, "data"> {
  const { data: _data, ...envelope } = message;
  return envelope;
}
