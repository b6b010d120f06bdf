import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { ComponentContext } from "../api/component.js";
import { ConfigError } from "../api/errors.js";
import type { AvroSchemaLookup } from "./avro.js";
import type { Codec } from "./codec.js";
import { messageOf } from "./codec.js";
import { codecFor } from "./index.js";

/** A `format:` option as written in a configuration: one codec named by its key. */
export type FormatConfig = Record<string, Record<string, unknown> | null | undefined>;

/**
 * A connector's resolved `format:`: the codec and its options, with file paths already resolved
 * against the configuration's folder, so every decode and encode reuses one options object (and the
 * codec's compiled schema cached on it).
 */
export interface PayloadFormat {
  readonly name: string;
  /** The content type encoded payloads carry. */
  readonly contentType: string;
  /** True for codecs whose payload holds a list of records (csv, ndjson). */
  readonly multiple: boolean;
  /** Bytes → the payload's value: a list of records for `multiple` codecs. Throws FormatError. */
  decode(bytes: Uint8Array): unknown;
  /** A value → bytes. `multiple` codecs take a list (a single record is written as a list of one). */
  encode(value: unknown): Buffer;
}

/**
 * Resolve a `format:` option. `where` names the option in errors ("amqp source in route
 * \"orders\""). Schemas and .proto files load here, at start, so a bad one is a configuration error
 * and not a dead letter per message.
 */
export function resolveFormat(
  option: unknown,
  context: Pick<ComponentContext, "configDir" | "schemaById">,
  where: string,
): PayloadFormat | undefined {
  const { configDir } = context;
  if (option === undefined || option === null) return undefined;
  if (typeof option !== "object" || Array.isArray(option))
    throw new ConfigError(`${where}: \`format\` is a codec key with its options, e.g. { json: {} }`);
  const config = option as FormatConfig;
  const names = Object.keys(config);
  if (names.length !== 1) {
    throw new ConfigError(`${where}: \`format\` names exactly one codec (got ${names.length})`);
  }
  const name = names[0];
  const codec: Codec<any> | undefined = codecFor(name);
  if (!codec) throw new ConfigError(`${where}: unknown format "${name}"`);
  const options = withFilesLoaded(name, { ...(config[name] ?? {}) }, configDir, where);
  if (name === "avro-confluent" && context.schemaById)
    options.schemaById = avroSchemaLookup(context.schemaById);
  const multiple = codec.multiple(options);
  const contentType = codec.mediaTypes[0] ?? "application/octet-stream";
  const format: PayloadFormat = {
    name,
    contentType,
    multiple,
    decode: (bytes) => codec.decode(bytes, options),
    encode(value) {
      const records = multiple && !Array.isArray(value) ? [value] : value;
      return Buffer.from(codec.encode(records, options));
    },
  };
  // Compile schemas now: a schema that does not parse must stop the start, not every message.
  prepare(codec, options, where);
  return format;
}

function absolute(path: string, configDir: string): string {
  return isAbsolute(path) ? path : resolve(configDir, path);
}

/** `schemaFile` (Avro) becomes `schema`; a relative `proto` path is taken from the config's folder. */
function withFilesLoaded(
  name: string,
  options: Record<string, unknown>,
  configDir: string,
  where: string,
): Record<string, unknown> {
  if (typeof options.schemaFile === "string") {
    const path = absolute(options.schemaFile, configDir);
    try {
      options.schema = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new ConfigError(`${where}: format ${name}: cannot read schemaFile ${path}: ${messageOf(error)}`);
    }
    delete options.schemaFile;
  }
  if (typeof options.proto === "string") options.proto = absolute(options.proto, configDir);
  return options;
}

function prepare(codec: Codec<any>, options: Record<string, unknown>, where: string): void {
  // The Confluent format without a schema of its own reads every schema from the registry.
  if (codec.name === "avro-confluent" && options.schema === undefined) return;
  // Encoding a probe value is the one codec-independent way to compile the schema; only
  // configuration errors matter here (a probe that does not fit the schema is expected).
  try {
    codec.encode(codec.multiple(options) ? [] : {}, options);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`, { cause: error });
  }
}

/** A `format:` option in a connector's config schema. */
export { formatOptionSchema } from "./index.js";

export type FormattedDecode =
  | { ok: true; data: unknown; datacontenttype: string }
  | { ok: false; reason: string; error: unknown };

/** Decode with a source's `format:`, never throwing: a failure names where the bytes went wrong. */
export function decodeFormatted(format: PayloadFormat, bytes: Uint8Array): FormattedDecode {
  try {
    return { ok: true, data: format.decode(bytes), datacontenttype: format.contentType };
  } catch (error) {
    return { ok: false, reason: messageOf(error), error };
  }
}

/** Writer schemas for the Confluent wire format, from the engine's registry: Avro subjects only. */
function avroSchemaLookup(schemaById: NonNullable<ComponentContext["schemaById"]>): AvroSchemaLookup {
  return (id) => {
    const found = schemaById(id);
    if (!found) return undefined;
    if (found.schemaType !== "AVRO")
      throw new Error(`schema id ${id} is a ${found.schemaType} schema, not Avro`);
    return JSON.parse(found.schema);
  };
}
