import { type TSchema, Type } from "typebox";
import { avroCodec, avroConfluentCodec } from "./avro.js";
import type { Codec } from "./codec.js";
import { csvCodec } from "./csv.js";
import { jsonCodec } from "./json.js";
import { ndjsonCodec } from "./ndjson.js";
import { protobufCodec } from "./protobuf.js";
import { bytesCodec, textCodec } from "./text.js";
import { xmlCodec } from "./xml.js";
import { yamlCodec } from "./yaml.js";

export {
  type AvroConfluentOptions,
  type AvroOptions,
  type AvroSchemaLookup,
  avroCodec,
  avroConfluentCodec,
  avroType,
  confluentSchemaId,
} from "./avro.js";
export {
  type Codec,
  DECODE_FAILED,
  ENCODE_FAILED,
  FormatError,
  type Position,
} from "./codec.js";
export { type CsvColumnType, type CsvOptions, csvCodec } from "./csv.js";
export { type JsonOptions, jsonCodec } from "./json.js";
export { type NdjsonOptions, ndjsonCodec } from "./ndjson.js";
export { type ProtobufOptions, protobufCodec, protobufType } from "./protobuf.js";
export { type BytesOptions, bytesCodec, type TextOptions, textCodec } from "./text.js";
export { type XmlOptions, xmlCodec } from "./xml.js";
export { type YamlOptions, yamlCodec } from "./yaml.js";

/** Every codec, in the order documentation lists them. A plain list: importing registers nothing. */
export const codecs: readonly Codec<any>[] = [
  jsonCodec,
  ndjsonCodec,
  csvCodec,
  xmlCodec,
  yamlCodec,
  avroCodec,
  avroConfluentCodec,
  protobufCodec,
  textCodec,
  bytesCodec,
];

export function codecFor(name: string): Codec<any> | undefined {
  return codecs.find((codec) => codec.name === name);
}

/** `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaTypeOf(contentType: string): string {
  return contentType.split(";")[0].trim().toLowerCase();
}

/**
 * The codec for a content type. Exact media types first; then structured-syntax suffixes
 * (`application/cloudevents+json` → json, `+xml`, `+yaml`); then any other `text/*` as text.
 */
export function codecForMediaType(contentType: string): Codec<any> | undefined {
  const type = mediaTypeOf(contentType);
  if (type === "") return undefined;
  const exact = codecs.find((codec) => codec.mediaTypes.includes(type));
  if (exact) return exact;
  if (type.endsWith("+json")) return jsonCodec;
  if (type.endsWith("+xml")) return xmlCodec;
  if (type.endsWith("+yaml")) return yamlCodec;
  if (type.startsWith("text/")) return textCodec;
  return undefined;
}

/**
 * The schema of a `format:` option: exactly one codec named by its key, with that codec's options
 * (`format: { csv: { delimiter: ";" } }`). For sources and sinks that read or write payloads.
 */
export function formatOptionSchema(description = "How payloads are read and written."): TSchema {
  return Type.Union(
    codecs.map((codec) =>
      Type.Object(
        { [codec.name]: codec.options },
        { additionalProperties: false, description: codec.summary },
      ),
    ),
    { description },
  );
}
