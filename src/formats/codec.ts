import type { TSchema } from "typebox";
import { ValidationError } from "../api/errors.js";

/**
 * A codec turns bytes into values (decode) and values into bytes (encode) for one format. Codecs
 * hold no state between calls except caches keyed by the options object, so a source or sink that
 * keeps its options object reuses compiled schemas (Avro types, Protobuf roots).
 */
export interface Codec<Options = Record<string, unknown>> {
  /** The name a configuration uses: `format: { csv: {...} }`. */
  readonly name: string;
  /** One line for documentation and `junction validate` messages. */
  readonly summary: string;
  /** Media types this codec reads and writes, the first one being what `encode` produces. */
  readonly mediaTypes: readonly string[];
  /** TypeBox schema of the options that can be written in a configuration. */
  readonly options: TSchema;
  /**
   * True when `decode` returns a list whose elements are records (one message each), false when
   * it returns one value.
   */
  multiple(options?: Options): boolean;
  /** Throws FormatError (code JUNCTION_DECODE_FAILED) naming where the bytes went wrong. */
  decode(bytes: Uint8Array, options?: Options): unknown;
  /** Throws FormatError (code JUNCTION_ENCODE_FAILED) naming the value that cannot be written. */
  encode(value: unknown, options?: Options): Uint8Array;
}

export const DECODE_FAILED = "JUNCTION_DECODE_FAILED";
export const ENCODE_FAILED = "JUNCTION_ENCODE_FAILED";

/** Where decoding or encoding failed. Lines and columns count from 1; byte offsets from 0. */
export interface Position {
  line?: number;
  column?: number;
  /** Byte offset in the input (binary formats, invalid UTF-8). */
  offset?: number;
  /** Path of the field or element, e.g. `order.lines[2].qty`. */
  field?: string;
  /** 0-based index of the record (NDJSON line, CSV row, element of an encoded list). */
  record?: number;
}

function describePosition(position: Position): string {
  const parts: string[] = [];
  if (position.line !== undefined) {
    parts.push(
      position.column === undefined
        ? `line ${position.line}`
        : `line ${position.line}, column ${position.column}`,
    );
  }
  if (position.offset !== undefined) parts.push(`byte ${position.offset}`);
  if (position.record !== undefined && position.line === undefined) parts.push(`record ${position.record}`);
  if (position.field !== undefined && position.field !== "") parts.push(`field ${position.field}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** A value could not be decoded or encoded: retrying will not help, the message is bad. */
export class FormatError extends ValidationError {
  readonly format: string;
  readonly position: Position;

  constructor(
    code: typeof DECODE_FAILED | typeof ENCODE_FAILED,
    format: string,
    message: string,
    position: Position = {},
    cause?: unknown,
  ) {
    const clean: Position = {};
    for (const [key, value] of Object.entries(position) as [keyof Position, never][]) {
      if (value !== undefined) clean[key] = value;
    }
    super(`${format}: ${message}${describePosition(clean)}`, {
      code,
      cause,
      details: { format, ...clean },
    });
    this.format = format;
    this.position = clean;
  }
}

export function decodeError(format: string, message: string, position?: Position, cause?: unknown) {
  return new FormatError(DECODE_FAILED, format, message, position, cause);
}

export function encodeError(format: string, message: string, position?: Position, cause?: unknown) {
  return new FormatError(ENCODE_FAILED, format, message, position, cause);
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** 1-based line and column of a UTF-16 index in `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(index, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Byte offset of the first invalid UTF-8 sequence, or -1 when the bytes are valid UTF-8. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const byte = bytes[i];
    if (byte < 0x80) {
      i++;
      continue;
    }
    let needed: number;
    let min: number;
    let code: number;
    if (byte >= 0xc2 && byte <= 0xdf) {
      needed = 1;
      min = 0x80;
      code = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      needed = 2;
      min = 0x800;
      code = byte & 0x0f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      needed = 3;
      min = 0x10000;
      code = byte & 0x07;
    } else return i;
    if (i + needed >= length) return i;
    for (let k = 1; k <= needed; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += needed + 1;
  }
  return -1;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Bytes as UTF-8 text. `invalid: "error"` refuses invalid sequences with their byte offset;
 * `"replace"` puts U+FFFD in their place. A byte order mark is kept unless `stripBom`.
 */
export function utf8Text(
  bytes: Uint8Array,
  format: string,
  options: { invalid?: "error" | "replace"; stripBom?: boolean } = {},
): string {
  let text: string;
  if (options.invalid === "replace") text = lenientUtf8.decode(bytes);
  else {
    try {
      text = strictUtf8.decode(bytes);
    } catch (error) {
      const offset = invalidUtf8Offset(bytes);
      throw decodeError(format, "invalid UTF-8", offset === -1 ? {} : { offset }, error);
    }
  }
  if (options.stripBom && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** Index of the first lone surrogate in `text` (which UTF-8 cannot carry), or -1. */
export function loneSurrogateIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (code >= 0xdc00 && code <= 0xdfff) return i;
  }
  return -1;
}

/**
 * Set an own property, even `__proto__`, without touching any prototype. Decoders build objects
 * from untrusted names with this, so `<__proto__>` or a CSV column named `__proto__` stays data.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else target[key] = value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `a.b[2].c`-style paths for error messages. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

/** Compiled state cached per options object: passing the same object again reuses it. */
export function cachedBy<K extends object, V>(cache: WeakMap<K, V>, key: K, build: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = build();
    cache.set(key, value);
  }
  return value;
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
