import avro from "avsc";
import { type Static, Type } from "typebox";
import { ConfigError } from "../api/errors.js";
import {
  type Codec,
  cachedBy,
  childPath,
  decodeError,
  encodeError,
  FormatError,
  messageOf,
  toBuffer,
} from "./codec.js";

/** An Avro schema as JSON (object, union list, or type name), its JSON text, or a compiled avsc Type. */
export type AvroSchemaInput = unknown;

const SchemaOption = Type.Unknown({
  description:
    "The Avro schema: a record (or any Avro type) as YAML/JSON, or its JSON text. Logical types timestamp-millis, timestamp-micros, date and decimal are understood.",
  examples: [
    {
      type: "record",
      name: "Order",
      fields: [
        { name: "id", type: "string" },
        { name: "total", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
        { name: "placedAt", type: { type: "long", logicalType: "timestamp-millis" } },
      ],
    },
  ],
});

const LongsOption = Type.Union([Type.Literal("number"), Type.Literal("string")], {
  default: "number",
  description:
    "How 64-bit `long` values are given: number (avsc's safe range, ±2^52; a long beyond it fails rather than lose precision) or string (exact decimal text; numbers and BigInts are accepted on encode).",
});

const SchemaFileOption = Type.String({
  description:
    "Path of a .avsc file holding the schema (relative to the configuration file), instead of `schema`; read once at start.",
  examples: ["schemas/order.avsc"],
});

export const AvroOptionsSchema = Type.Object(
  {
    schema: Type.Optional(SchemaOption),
    schemaFile: Type.Optional(SchemaFileOption),
    longs: Type.Optional(LongsOption),
  },
  {
    additionalProperties: false,
    // One of the two: JSON Schema says it, so editors and `junction validate` flag neither.
    anyOf: [{ required: ["schema"] }, { required: ["schemaFile"] }],
    description:
      "Avro binary encoding of one datum with a known schema. Timestamps decode to ISO 8601 UTC strings, dates to `YYYY-MM-DD`, decimals to decimal strings.",
  },
);

export const AvroConfluentOptionsSchema = Type.Object(
  {
    schema: Type.Optional({
      ...SchemaOption,
      description:
        "Decode: the reader schema the writer's schema (looked up by the id in the payload) is resolved to, so fields are renamed, defaulted or dropped by Avro's resolution rules. Unset: data comes out as written. Encode: the writer schema (else the schema of `schemaId`, from the lookup).",
    }),
    schemaFile: Type.Optional(SchemaFileOption),
    schemaId: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 0xffffffff,
        description: "Encode: the registry id of the writer schema, written after the magic byte.",
      }),
    ),
    longs: Type.Optional(LongsOption),
  },
  {
    additionalProperties: false,
    description:
      "Confluent Schema Registry wire format: magic byte 0, the schema id as 4 bytes big-endian, then the Avro binary datum.",
  },
);

/** Give the writer schema of a registry id, or undefined when the id is unknown. */
export type AvroSchemaLookup = (id: number) => AvroSchemaInput | undefined;

export type AvroOptions = Partial<Static<typeof AvroOptionsSchema>> & {
  /** A compiled type, used instead of `schema`. */
  type?: avro.Type;
};

export type AvroConfluentOptions = Static<typeof AvroConfluentOptionsSchema> & {
  /**
   * Writer schemas by registry id, synchronous: an asynchronous registry client fetches and caches
   * the schema first (`confluentSchemaId(bytes)` gives the id) and answers from its cache here.
   */
  schemaById?: AvroSchemaLookup;
  type?: avro.Type;
};

// ---------------------------------------------------------------------------------------------
// logical types

const LogicalType = avro.types.LogicalType;

function toMillis(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value) ? undefined : ms;
  }
  return undefined;
}

/** A long the underlying type accepts: a number when safe, else exact text (longs: string only). */
function longValue(value: bigint): number | string {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value.toString();
}

/** `timestamp-millis`: a long of milliseconds since the epoch ↔ ISO 8601 UTC text (Date accepted). */
class TimestampMillisType extends LogicalType {
  protected override _fromValue(value: unknown): string {
    return new Date(Number(value)).toISOString();
  }
  protected override _toValue(value: unknown): unknown {
    return toMillis(value);
  }
  protected override _resolve(type: avro.Type): unknown {
    // A logical writer already gives the logical value; a plain long is converted.
    if (avro.Type.isType(type, "logical:timestamp-millis")) return (value: unknown) => value;
    if (avro.Type.isType(type, "long", "abstract:long")) return (value: unknown) => this._fromValue(value);
    return undefined;
  }
}

const MICROS_TEXT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/;

/** `timestamp-micros`: a long of microseconds ↔ ISO 8601 UTC text with six fraction digits. */
class TimestampMicrosType extends LogicalType {
  protected override _fromValue(value: unknown): string {
    let micros = BigInt(value as number | string | bigint);
    let millis = micros / 1000n;
    let rest = micros % 1000n;
    if (rest < 0n) {
      millis -= 1n;
      rest += 1000n;
    }
    micros = rest;
    const iso = new Date(Number(millis)).toISOString();
    return `${iso.slice(0, -1)}${micros.toString().padStart(3, "0")}Z`;
  }
  protected override _toValue(value: unknown): unknown {
    if (value instanceof Date || typeof value === "number") {
      if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
      const ms = toMillis(value);
      return ms === undefined ? undefined : longValue(BigInt(ms) * 1000n);
    }
    if (typeof value === "bigint") return longValue(value);
    if (typeof value !== "string") return undefined;
    const match = MICROS_TEXT.exec(value);
    if (!match) return undefined;
    const fraction = (match[2] ?? "").padEnd(6, "0");
    const ms = Date.parse(`${match[1]}.${fraction.slice(0, 3)}${match[3]}`);
    if (Number.isNaN(ms)) return undefined;
    return longValue(BigInt(ms) * 1000n + BigInt(fraction.slice(3)));
  }
  protected override _resolve(type: avro.Type): unknown {
    if (avro.Type.isType(type, "logical:timestamp-micros")) return (value: unknown) => value;
    if (avro.Type.isType(type, "long", "abstract:long")) return (value: unknown) => this._fromValue(value);
    return undefined;
  }
}

const DAY = 86_400_000;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `date`: an int of days since the epoch ↔ `YYYY-MM-DD` (Date accepted). */
class DateType extends LogicalType {
  protected override _fromValue(value: unknown): string {
    return new Date(Number(value) * DAY).toISOString().slice(0, 10);
  }
  protected override _toValue(value: unknown): unknown {
    if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? undefined : Math.floor(value.getTime() / DAY);
    }
    if (typeof value !== "string") return undefined;
    const match = DATE_TEXT.exec(value);
    if (!match) return undefined;
    const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    return new Date(ms).toISOString().slice(0, 10) === value ? ms / DAY : undefined;
  }
  protected override _resolve(type: avro.Type): unknown {
    if (avro.Type.isType(type, "logical:date")) return (value: unknown) => value;
    if (avro.Type.isType(type, "int")) return (value: unknown) => this._fromValue(value);
    return undefined;
  }
}

const DECIMAL_TEXT = /^([+-])?([0-9]+)(?:\.([0-9]+))?$/;

/** `decimal` on bytes or fixed: a two's-complement unscaled integer ↔ decimal text (`"-12.50"`). */
class DecimalType extends LogicalType {
  readonly precision: number;
  readonly scale: number;
  readonly size: number | undefined;

  constructor(schema: any, options?: any) {
    super(schema, options);
    const precision = schema.precision;
    const scale = schema.scale ?? 0;
    if (!Number.isInteger(precision) || precision < 1) throw new Error("decimal needs a positive precision");
    if (!Number.isInteger(scale) || scale < 0 || scale > precision) {
      throw new Error("decimal scale must be between 0 and the precision");
    }
    this.precision = precision;
    this.scale = scale;
    this.size = schema.type === "fixed" ? schema.size : undefined;
  }

  protected override _fromValue(buffer: Buffer): string {
    let unscaled = 0n;
    for (const byte of buffer) unscaled = (unscaled << 8n) | BigInt(byte);
    if (buffer.length > 0 && buffer[0] & 0x80) unscaled -= 1n << BigInt(buffer.length * 8);
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(this.scale + 1, "0");
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale);
    return `${negative ? "-" : ""}${whole}${this.scale > 0 ? `.${fraction}` : ""}`;
  }

  protected override _toValue(value: unknown): Buffer | undefined {
    let text: string;
    if (typeof value === "string") text = value.trim();
    else if (typeof value === "bigint") text = value.toString();
    else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
    else return undefined;
    const match = DECIMAL_TEXT.exec(text);
    if (!match) return undefined;
    const fraction = match[3] ?? "";
    if (fraction.replace(/0+$/, "").length > this.scale) return undefined;
    const digits = (match[2] + fraction.padEnd(this.scale, "0").slice(0, this.scale)).replace(/^0+(?=.)/, "");
    if (digits.length > this.precision) return undefined;
    let unscaled = BigInt(digits);
    if (match[1] === "-") unscaled = -unscaled;
    // Minimal two's complement, big-endian; fixed types are sign-extended to their size.
    let length = 1;
    while (unscaled < -(1n << BigInt(length * 8 - 1)) || unscaled >= 1n << BigInt(length * 8 - 1)) length++;
    if (this.size !== undefined) {
      if (length > this.size) return undefined;
      length = this.size;
    }
    const out = Buffer.alloc(length);
    let rest = BigInt.asUintN(length * 8, unscaled);
    for (let index = length - 1; index >= 0; index--) {
      out[index] = Number(rest & 0xffn);
      rest >>= 8n;
    }
    return out;
  }

  protected override _resolve(type: avro.Type): unknown {
    if (type instanceof DecimalType && type.scale === this.scale) return (value: string) => value;
    return undefined;
  }

  protected override _export(schema: any): void {
    schema.precision = this.precision;
    schema.scale = this.scale;
  }
}

const LOGICAL_TYPES = {
  "timestamp-millis": TimestampMillisType,
  "timestamp-micros": TimestampMicrosType,
  date: DateType,
  decimal: DecimalType,
} as Record<string, new (schema: any, options?: any) => avro.types.LogicalType>;

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function isLong(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value);
  let big: bigint;
  if (typeof value === "bigint") big = value;
  else if (typeof value === "string" && /^-?[0-9]{1,19}$/.test(value)) big = BigInt(value);
  else return false;
  return big >= LONG_MIN && big <= LONG_MAX;
}

/** `long` as exact decimal text, for `longs: string`. */
function stringLongType(): avro.Type {
  return avro.types.LongType.__with({
    fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE().toString(),
    toBuffer: (value: unknown) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(BigInt(value as string));
      return buffer;
    },
    fromJSON: (value: unknown) => String(value),
    toJSON: (value: unknown) => Number(value),
    isValid: (value: unknown) => isLong(value),
    compare: (a: unknown, b: unknown) => {
      const x = BigInt(a as string);
      const y = BigInt(b as string);
      return x < y ? -1 : x > y ? 1 : 0;
    },
  });
}

/** Compile a schema (JSON, JSON text, or a Type); a bad schema is a configuration error. */
export function avroType(schema: AvroSchemaInput, longs: "number" | "string" = "number"): avro.Type {
  if (schema instanceof avro.Type) return schema;
  let parsed = schema;
  if (typeof schema === "string" && /^\s*[[{"]/.test(schema)) {
    try {
      parsed = JSON.parse(schema);
    } catch (error) {
      throw new ConfigError(`the Avro schema is not valid JSON: ${messageOf(error)}`, { cause: error });
    }
  }
  if (parsed === undefined || parsed === null) throw new ConfigError("avro: a schema is required");
  let type: avro.Type;
  try {
    const stringLong = longs === "string" ? stringLongType() : undefined;
    type = avro.Type.forSchema(parsed as avro.Schema, {
      logicalTypes: LOGICAL_TYPES,
      // `"long"` references go through the registry, `{ "type": "long" }` through the hook. Longs
      // under a known logical type stay plain: the logical type converts them itself.
      registry: stringLong ? { long: stringLong } : {},
      typeHook: (schema: any) =>
        stringLong &&
        typeof schema === "object" &&
        schema !== null &&
        schema.type === "long" &&
        !(typeof schema.logicalType === "string" && Object.hasOwn(LOGICAL_TYPES, schema.logicalType))
          ? stringLong
          : undefined,
    });
  } catch (error) {
    throw new ConfigError(`invalid Avro schema: ${messageOf(error)}`, { cause: error });
  }
  return type;
}

// ---------------------------------------------------------------------------------------------
// bounded pre-read

const MAX_DEPTH = 512;
/** Items that take no bytes at all (arrays of null): a few bytes could claim billions of them. */
const MAX_EMPTY_ITEMS = 1_000_000;

/**
 * Walk the bytes by the writer's type before avsc decodes them, checking every length and count
 * against what is left. avsc trusts an array's block count and would loop billions of times on
 * eight hostile bytes; this pass refuses such input and names the byte and field where it fails.
 */
class Skimmer {
  pos: number;
  readonly #path: (string | number)[] = [];
  readonly #minimum = new Map<avro.Type, number>();
  #emptyItems = 0;

  constructor(
    private readonly buffer: Uint8Array,
    start: number,
    private readonly format: string,
  ) {
    this.pos = start;
  }

  #fail(message: string, at = this.pos): never {
    const field = this.#path
      .map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? part : `.${part}`))
      .join("");
    throw decodeError(this.format, message, { offset: at, field });
  }

  #need(count: number, what: string): void {
    if (count > this.buffer.length - this.pos) this.#fail(`the data ends inside ${what} (truncated?)`);
  }

  #varint(what: string): number {
    const start = this.pos;
    let value = 0;
    let factor = 1;
    for (let index = 0; ; index++) {
      if (this.pos >= this.buffer.length) this.#fail(`the data ends inside ${what} (truncated?)`, start);
      if (index >= 10) this.#fail(`${what} is not a valid variable-length integer`, start);
      const byte = this.buffer[this.pos++];
      value += (byte & 0x7f) * factor;
      factor *= 128;
      if ((byte & 0x80) === 0) break;
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  #minimumSize(type: any): number {
    const known = this.#minimum.get(type);
    if (known !== undefined) return known;
    this.#minimum.set(type, 0); // recursive types: a lower bound is enough
    let size: number;
    switch (type.typeName as string) {
      case "null":
        size = 0;
        break;
      case "float":
        size = 4;
        break;
      case "double":
        size = 8;
        break;
      case "fixed":
        size = type.size;
        break;
      case "record":
      case "error":
        size = (type.fields as { type: avro.Type }[]).reduce(
          (sum, field) => sum + this.#minimumSize(field.type),
          0,
        );
        break;
      case "union:unwrapped":
      case "union:wrapped":
        size = 1 + Math.min(...(type.types as avro.Type[]).map((branch) => this.#minimumSize(branch)));
        break;
      default:
        if ((type.typeName as string).startsWith("logical:")) size = this.#minimumSize(type.underlyingType);
        else size = 1; // boolean, int, long, bytes, string, enum, array, map: at least one byte
    }
    this.#minimum.set(type, size);
    return size;
  }

  #blocks(itemSize: number, what: string, item: (index: number) => void): void {
    let index = 0;
    for (;;) {
      let count = this.#varint(`the item count of ${what}`);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        const size = this.#varint(`the block size of ${what}`);
        if (size < 0) this.#fail(`${what} has a negative block size`);
      }
      if (itemSize > 0) {
        if (count * itemSize > this.buffer.length - this.pos) {
          this.#fail(`${what} claims ${count} items, more than the data left can hold`);
        }
      } else {
        this.#emptyItems += count;
        if (this.#emptyItems > MAX_EMPTY_ITEMS)
          this.#fail(`${what} claims more than ${MAX_EMPTY_ITEMS} empty items`);
      }
      for (let k = 0; k < count; k++) item(index++);
    }
  }

  skim(type: any, depth = 0): void {
    if (depth > MAX_DEPTH) this.#fail(`the data nests deeper than ${MAX_DEPTH} levels`);
    const name = type.typeName as string;
    switch (name) {
      case "null":
        return;
      case "boolean":
        this.#need(1, "a boolean");
        this.pos++;
        return;
      case "int":
      case "long":
      case "abstract:long":
        this.#varint(name === "int" ? "an int" : "a long");
        return;
      case "float":
        this.#need(4, "a float");
        this.pos += 4;
        return;
      case "double":
        this.#need(8, "a double");
        this.pos += 8;
        return;
      case "bytes":
      case "string": {
        const start = this.pos;
        const length = this.#varint(`the length of a ${name}`);
        if (length < 0) this.#fail(`a ${name} has a negative length`, start);
        this.#need(length, `a ${name} of ${length} bytes`);
        this.pos += length;
        return;
      }
      case "fixed":
        this.#need(type.size, `a fixed of ${type.size} bytes`);
        this.pos += type.size;
        return;
      case "enum": {
        const start = this.pos;
        const index = this.#varint("an enum index");
        if (index < 0 || index >= type.symbols.length) {
          this.#fail(`enum index ${index} is not one of the ${type.symbols.length} symbols`, start);
        }
        return;
      }
      case "array":
        this.#blocks(this.#minimumSize(type.itemsType), "an array", (index) => {
          this.#path.push(index);
          this.skim(type.itemsType, depth + 1);
          this.#path.pop();
        });
        return;
      case "map":
        this.#blocks(1 + this.#minimumSize(type.valuesType), "a map", (index) => {
          this.#path.push(index);
          this.skim({ typeName: "string" }, depth + 1);
          this.skim(type.valuesType, depth + 1);
          this.#path.pop();
        });
        return;
      case "record":
      case "error":
        for (const field of type.fields as { name: string; type: avro.Type }[]) {
          this.#path.push(field.name);
          this.skim(field.type, depth + 1);
          this.#path.pop();
        }
        return;
      case "union:unwrapped":
      case "union:wrapped": {
        const start = this.pos;
        const index = this.#varint("a union branch index");
        const branch = (type.types as avro.Type[])[index];
        if (branch === undefined) this.#fail(`union branch ${index} does not exist`, start);
        this.skim(branch, depth + 1);
        return;
      }
      default:
        if (name.startsWith("logical:")) {
          this.skim(type.underlyingType, depth);
          return;
        }
        this.#fail(`cannot read Avro type ${name}`);
    }
  }
}

function readDatum(
  format: string,
  bytes: Uint8Array,
  start: number,
  writer: avro.Type,
  reader?: avro.Type,
  resolver?: avro.Resolver,
): unknown {
  const skimmer = new Skimmer(bytes, start, format);
  try {
    skimmer.skim(writer);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw decodeError(format, `cannot read the data: ${messageOf(error)}`, {}, error);
  }
  if (skimmer.pos !== bytes.length) {
    throw decodeError(format, `${bytes.length - skimmer.pos} bytes are left after the datum`, {
      offset: skimmer.pos,
    });
  }
  const buffer = toBuffer(bytes).subarray(start);
  try {
    return reader && resolver ? reader.fromBuffer(buffer, resolver) : writer.fromBuffer(buffer);
  } catch (error) {
    throw decodeError(format, `cannot read the data: ${messageOf(error)}`, {}, error);
  }
}

function writeDatum(format: string, type: avro.Type, value: unknown): Buffer {
  let problem: string | undefined;
  let field: string | undefined;
  const valid = type.isValid(value, {
    errorHook: (path: string[], invalid: unknown, invalidType: avro.Type) => {
      if (problem !== undefined) return;
      const shown =
        typeof invalid === "bigint" ? `${invalid}n` : (JSON.stringify(invalid) ?? String(invalid));
      const expected = invalidType.typeName
        .replace(/^logical:/, "")
        .replace(/^abstract:/, "")
        .replace(/^union:\w+$/, "union branch");
      problem = `${shown} is not a valid ${expected}`;
      field = path.reduce<string>(
        (at, part) => childPath(at, /^[0-9]+$/.test(part) ? Number(part) : part),
        "",
      );
    },
  });
  if (!valid) {
    throw encodeError(format, problem ?? "the value does not match the schema", { field });
  }
  try {
    return type.toBuffer(value);
  } catch (error) {
    throw encodeError(format, messageOf(error), {}, error);
  }
}

// ---------------------------------------------------------------------------------------------
// codecs

const plainTypes = new WeakMap<object, avro.Type>();

function plainType(options: AvroOptions): avro.Type {
  return cachedBy(plainTypes, options, () => {
    if (options.type) return options.type;
    if (options.schema === undefined) throw new ConfigError("avro: the `schema` option is required");
    return avroType(options.schema, options.longs);
  });
}

export const avroCodec: Codec<AvroOptions> = {
  name: "avro",
  summary: "Avro binary: one datum with a given schema (logical types understood).",
  mediaTypes: ["avro/binary", "application/avro", "application/x-avro-binary"],
  options: AvroOptionsSchema,
  multiple: () => false,
  decode(bytes, options = {}) {
    return readDatum("avro", bytes, 0, plainType(options));
  },
  encode(value, options = {}) {
    return writeDatum("avro", plainType(options), value);
  },
};

/** The schema id of a Confluent-framed payload, so an asynchronous registry can fetch it first. */
export function confluentSchemaId(bytes: Uint8Array): number {
  if (bytes.length < 5) {
    throw decodeError("avro-confluent", `${bytes.length} bytes are too short for the Confluent wire format`, {
      offset: bytes.length,
    });
  }
  if (bytes[0] !== 0) {
    throw decodeError(
      "avro-confluent",
      `the magic byte is ${bytes[0]}, not 0 (not the Confluent wire format)`,
      {
        offset: 0,
      },
    );
  }
  return toBuffer(bytes).readUInt32BE(1);
}

interface ConfluentState {
  reader?: avro.Type;
  writers: Map<number, { type: avro.Type; resolver?: avro.Resolver }>;
}

const confluentStates = new WeakMap<object, ConfluentState>();

function confluentState(options: AvroConfluentOptions): ConfluentState {
  return cachedBy(confluentStates, options, () => ({
    reader:
      options.type ?? (options.schema === undefined ? undefined : avroType(options.schema, options.longs)),
    writers: new Map(),
  }));
}

function writerFor(options: AvroConfluentOptions, id: number, forEncode: boolean) {
  const state = confluentState(options);
  let writer = state.writers.get(id);
  if (writer !== undefined) return writer;
  const fail = (message: string, cause?: unknown) =>
    forEncode
      ? encodeError("avro-confluent", message, {}, cause)
      : decodeError("avro-confluent", message, { offset: 1 }, cause);
  if (options.schemaById === undefined) {
    throw new ConfigError("avro-confluent: a schema lookup (schemaById) is required to read the schema ids");
  }
  let found: unknown;
  try {
    found = options.schemaById(id);
  } catch (error) {
    throw fail(`the schema lookup failed for id ${id}: ${messageOf(error)}`, error);
  }
  if (found === undefined || found === null) throw fail(`schema id ${id} is unknown to the registry`);
  let type: avro.Type;
  try {
    type = avroType(found, options.longs);
  } catch (error) {
    throw fail(`schema id ${id} is not a valid Avro schema: ${messageOf(error)}`, error);
  }
  let resolver: avro.Resolver | undefined;
  if (state.reader !== undefined && !forEncode) {
    try {
      resolver = state.reader.createResolver(type);
    } catch (error) {
      throw fail(`the writer schema ${id} cannot be read as the reader schema: ${messageOf(error)}`, error);
    }
  }
  writer = { type, resolver };
  state.writers.set(id, writer);
  return writer;
}

export const avroConfluentCodec: Codec<AvroConfluentOptions> = {
  name: "avro-confluent",
  summary: "Avro in the Confluent wire format (magic byte, schema id, datum), schemas looked up by id.",
  mediaTypes: ["application/vnd.confluent.avro", "application/vnd.confluent.avro+binary"],
  options: AvroConfluentOptionsSchema,
  multiple: () => false,
  decode(bytes, options = {}) {
    const id = confluentSchemaId(bytes);
    const writer = writerFor(options, id, false);
    const reader = confluentState(options).reader;
    return readDatum("avro-confluent", bytes, 5, writer.type, reader, writer.resolver);
  },
  encode(value, options = {}) {
    if (options.schemaId === undefined) {
      throw new ConfigError("avro-confluent: `schemaId` is required to encode");
    }
    const type = confluentState(options).reader ?? writerFor(options, options.schemaId, true).type;
    const body = writeDatum("avro-confluent", type, value);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(options.schemaId, 1);
    return Buffer.concat([header, body]);
  },
};
