import protobuf from "protobufjs";
import { type Static, Type } from "typebox";
import { ConfigError } from "../api/errors.js";
import {
  type Codec,
  cachedBy,
  childPath,
  decodeError,
  encodeError,
  isPlainObject,
  loneSurrogateIndex,
  messageOf,
  type Position,
} from "./codec.js";

export const ProtobufOptionsSchema = Type.Object(
  {
    proto: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Path of the .proto file, loaded at run time; its imports are resolved beside it.",
        examples: ["schemas/order.proto"],
      }),
    ),
    protoText: Type.Optional(
      Type.String({
        minLength: 1,
        description: "The .proto source itself, instead of `proto`.",
      }),
    ),
    type: Type.String({
      minLength: 1,
      description: "Fully-qualified name of the message type.",
      examples: ["shop.v1.Order"],
    }),
    keepCase: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Keep field names as the .proto writes them (snake_case). Off: lowerCamelCase, as in protobuf's JSON mapping.",
      }),
    ),
    defaults: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'Decode: give absent fields their default value (0, "", [], first enum value; null for messages). Off: absent fields are left out.',
      }),
    ),
    delimited: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Several messages, each preceded by its length as a varint: decode gives a list of records, encode takes a list.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Protocol Buffers binary encoding with a .proto loaded at run time. 64-bit integers decode as decimal strings, enums as their names, bytes as base64; encode accepts the same (and numbers, BigInts, enum numbers) and refuses unknown fields and out-of-range values.",
  },
);

export type ProtobufOptions = Partial<Static<typeof ProtobufOptionsSchema>> & {
  /** An already loaded root, used instead of `proto` / `protoText`. */
  root?: protobuf.Root;
};

const types = new WeakMap<object, protobuf.Type>();

/** Load the schema and find the message type; problems here are configuration errors. */
export function protobufType(options: ProtobufOptions): protobuf.Type {
  return cachedBy(types, options, () => {
    if (!options.type)
      throw new ConfigError("protobuf: the `type` option (the message type name) is required");
    let root: protobuf.Root;
    try {
      if (options.root) root = options.root;
      else if (options.protoText !== undefined) {
        root = protobuf.parse(options.protoText, new protobuf.Root(), {
          keepCase: options.keepCase ?? false,
        }).root;
      } else if (options.proto !== undefined) {
        root = new protobuf.Root().loadSync(options.proto, { keepCase: options.keepCase ?? false });
      } else throw new Error("give `proto` (a .proto file) or `protoText`");
      root.resolveAll();
    } catch (error) {
      throw new ConfigError(`protobuf: cannot load the schema: ${messageOf(error)}`, { cause: error });
    }
    try {
      return root.lookupType(options.type);
    } catch (error) {
      throw new ConfigError(`protobuf: no message type ${options.type} in the schema`, { cause: error });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// decode

function positionOf(error: unknown): Position {
  const message = messageOf(error);
  const offset = /at offset (\d+)/.exec(message) ?? /index out of range: (\d+)/.exec(message);
  const missing = /missing required '([^']+)'/.exec(message);
  return {
    ...(offset ? { offset: Number(offset[1]) } : {}),
    ...(missing ? { field: missing[1] } : {}),
  };
}

function describeDecodeError(error: unknown): string {
  const message = messageOf(error);
  if (/index out of range/.test(message)) return `the data ends inside a field (truncated?): ${message}`;
  return message;
}

function toPlain(type: protobuf.Type, message: protobuf.Message, options: ProtobufOptions): unknown {
  try {
    return type.toObject(message, {
      longs: String,
      enums: String,
      bytes: String,
      defaults: options.defaults ?? true,
      arrays: options.defaults ?? true,
      objects: options.defaults ?? true,
    });
  } catch (error) {
    throw decodeError("protobuf", messageOf(error), {}, error);
  }
}

function decodeProtobuf(bytes: Uint8Array, options: ProtobufOptions): unknown {
  const type = protobufType(options);
  if (!options.delimited) {
    let message: protobuf.Message;
    try {
      message = type.decode(bytes);
    } catch (error) {
      throw decodeError("protobuf", describeDecodeError(error), positionOf(error), error);
    }
    return toPlain(type, message, options);
  }
  const reader = protobuf.Reader.create(bytes);
  const records: unknown[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    let message: protobuf.Message;
    try {
      message = type.decodeDelimited(reader);
    } catch (error) {
      const position = positionOf(error);
      throw decodeError(
        "protobuf",
        describeDecodeError(error),
        { ...position, offset: position.offset ?? start, record: records.length },
        error,
      );
    }
    records.push(toPlain(type, message, options));
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// encode

const INT_TEXT = /^-?[0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

const RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function fail(message: string, path: string, record?: number): never {
  throw encodeError("protobuf", message, { field: path, record });
}

function shown(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Check one scalar and give what protobufjs's fromObject takes for it. */
function scalar(kind: string, value: unknown, path: string, record?: number): unknown {
  const range = RANGES[kind];
  if (range !== undefined) {
    let big: bigint | undefined;
    if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
    else if (typeof value === "bigint") big = value;
    else if (typeof value === "string" && INT_TEXT.test(value.trim())) big = BigInt(value.trim());
    if (big === undefined) fail(`${shown(value)} is not an integer (${kind})`, path, record);
    if (big < range[0] || big > range[1]) fail(`${shown(value)} is out of range for ${kind}`, path, record);
    if (kind.endsWith("64")) return big.toString();
    return Number(big);
  }
  switch (kind) {
    case "double":
    case "float":
      if (typeof value === "number") return value;
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
      return fail(`${shown(value)} is not a number (${kind})`, path, record);
    case "bool":
      if (typeof value !== "boolean") fail(`${shown(value)} is not a boolean`, path, record);
      return value;
    case "string":
      if (typeof value !== "string") fail(`${shown(value)} is not a string`, path, record);
      if (loneSurrogateIndex(value) !== -1) fail("the text holds a lone UTF-16 surrogate", path, record);
      return value;
    case "bytes":
      if (value instanceof Uint8Array) return value;
      if (typeof value === "string" && BASE64.test(value)) return value;
      return fail(`${shown(value)} is not base64 text or bytes`, path, record);
    default:
      return fail(`unsupported field type ${kind}`, path, record);
  }
}

function single(
  field: protobuf.Field,
  value: unknown,
  path: string,
  record: number | undefined,
  depth: number,
): unknown {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return checkMessage(resolved, value, path, record, depth + 1);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === "string" && Object.hasOwn(resolved.values, value)) return value;
    if (typeof value === "number" && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
      return value;
    }
    return fail(
      `${shown(value)} is not a value of enum ${resolved.name} (${Object.keys(resolved.values).join(", ")})`,
      path,
      record,
    );
  }
  return scalar(field.type, value, path, record);
}

const MAX_DEPTH = 100;
const MAP_KEY_KINDS: Record<string, RegExp> = { bool: /^(true|false)$/ };

/** Check a plain value against a message type; gives the object protobufjs's fromObject takes. */
function checkMessage(
  type: protobuf.Type,
  value: unknown,
  path: string,
  record: number | undefined,
  depth: number,
): Record<string, unknown> {
  if (depth > MAX_DEPTH) fail(`the value nests deeper than ${MAX_DEPTH} messages`, path, record);
  if (!isPlainObject(value))
    fail(`a ${type.name} message must be an object, not ${shown(value)}`, path, record);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = childPath(path, key);
    const field = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
    if (field === undefined)
      fail(`${type.fullName.replace(/^\./, "")} has no field ${JSON.stringify(key)}`, at, record);
    if (item === null || item === undefined) continue;
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(item)) fail(`a map must be an object, not ${shown(item)}`, at, record);
      const map: Record<string, unknown> = {};
      for (const [mapKey, mapValue] of Object.entries(item)) {
        if (mapKey === "__proto__") {
          // protobufjs assigns map keys to plain objects, where this one would be lost.
          fail("a map key cannot be __proto__", childPath(at, mapKey), record);
        }
        const keyPattern = MAP_KEY_KINDS[field.keyType] ?? (RANGES[field.keyType] ? INT_TEXT : undefined);
        if (keyPattern && !keyPattern.test(mapKey)) {
          fail(`map key ${JSON.stringify(mapKey)} is not a ${field.keyType}`, childPath(at, mapKey), record);
        }
        if (RANGES[field.keyType]) scalar(field.keyType, mapKey, childPath(at, mapKey), record);
        map[mapKey] = single(field, mapValue, childPath(at, mapKey), record, depth);
      }
      out[key] = map;
    } else if (field.repeated) {
      if (!Array.isArray(item)) fail(`a repeated field takes a list, not ${shown(item)}`, at, record);
      out[key] = item.map((element, index) => {
        if (element === null || element === undefined)
          fail("a list element cannot be null", childPath(at, index), record);
        return single(field, element, childPath(at, index), record, depth);
      });
    } else out[key] = single(field, item, at, record, depth);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => out[name] !== undefined);
    if (set.length > 1)
      fail(`oneof ${oneof.name} has more than one field set (${set.join(", ")})`, path, record);
  }
  return out;
}

function encodeOne(type: protobuf.Type, value: unknown, record?: number): protobuf.Message {
  const plain = checkMessage(type, value, "", record, 0);
  let message: protobuf.Message;
  try {
    message = type.fromObject(plain);
  } catch (error) {
    throw encodeError("protobuf", messageOf(error), { record }, error);
  }
  const problem = type.verify(message);
  if (problem) throw encodeError("protobuf", problem, { field: problem.split(":")[0], record });
  return message;
}

function encodeProtobuf(value: unknown, options: ProtobufOptions): Uint8Array {
  const type = protobufType(options);
  if (!options.delimited) return type.encode(encodeOne(type, value)).finish();
  const records = Array.isArray(value) ? value : [value];
  const writer = protobuf.Writer.create();
  records.forEach((record, index) => {
    type.encodeDelimited(encodeOne(type, record, index), writer);
  });
  return writer.finish();
}

export const protobufCodec: Codec<ProtobufOptions> = {
  name: "protobuf",
  summary: "Protocol Buffers with a .proto loaded at run time (longs as strings, enums as names).",
  mediaTypes: ["application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf"],
  options: ProtobufOptionsSchema,
  multiple: (options) => options?.delimited ?? false,
  decode: (bytes, options = {}) => decodeProtobuf(bytes, options),
  encode: (value, options = {}) => encodeProtobuf(value, options),
};
