import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { SchemaType } from "./types.js";

export class ExtractError extends Error {}

export interface ExtractOptions {
  /** A schema under components.schemas (OpenAPI 3.x, AsyncAPI). */
  component?: string;
  /** A message's payload (AsyncAPI 2.x/3.x): components.messages key, message name or messageId. */
  message?: string;
  type?: "avro" | "json" | "protobuf";
}

export interface ExtractedSchema {
  schemaType: SchemaType;
  schema: string;
  /** What was taken: "schemas/order.avsc", "openapi.yaml#/components/schemas/Order". */
  source: string;
}

const AVRO_FORMAT = /^application\/vnd\.apache\.avro/;

/** Local refs into components.schemas become refs into $defs, with the components carried along. */
function toJsonSchema(schema: any, components: Record<string, any>, openapi30: boolean): any {
  const used = new Set<string>();
  const rewrite = (node: any): any => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== "object") return node;
    const out: Record<string, any> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#/components/schemas/")) {
        const name = decodeURIComponent(value.slice("#/components/schemas/".length));
        if (!used.has(name)) {
          used.add(name);
          if (components[name] === undefined) throw new ExtractError(`unresolved reference ${value}`);
        }
        out.$ref = `#/$defs/${name}`;
      } else if (openapi30 && key === "nullable") {
        // OpenAPI 3.0's nullable is JSON Schema's type: [..., "null"].
      } else out[key] = rewrite(value);
    }
    if (openapi30 && node.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
    return out;
  };
  const root = rewrite(schema);
  const defs: Record<string, any> = {};
  // Follow references transitively so every used component is carried.
  for (let index = 0; index < used.size; index++) {
    const name = [...used][index];
    defs[name] = rewrite(components[name]);
  }
  return used.size > 0 ? { ...root, $defs: { ...(root.$defs ?? {}), ...defs } } : root;
}

function payloadOf(message: any, components: Record<string, any>, source: string): ExtractedSchema {
  let payload = message?.payload;
  let format: string | undefined = message?.schemaFormat;
  // AsyncAPI 3: a multi-format schema object.
  if (payload && typeof payload === "object" && "schemaFormat" in payload && "schema" in payload) {
    format = payload.schemaFormat;
    payload = payload.schema;
  }
  if (payload === undefined) throw new ExtractError(`${source} has no payload`);
  if (format && AVRO_FORMAT.test(format))
    return { schemaType: "AVRO", schema: JSON.stringify(payload), source };
  return { schemaType: "JSON", schema: JSON.stringify(toJsonSchema(payload, components, false)), source };
}

/** Resolve `$ref: '#/components/messages/X'` one level (AsyncAPI channels point at components). */
function deref(document: any, node: any): any {
  if (node && typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
    let target = document;
    for (const part of node.$ref.slice(2).split("/")) target = target?.[decodeURIComponent(part)];
    return target;
  }
  return node;
}

function findAsyncMessage(document: any, wanted: string): any {
  const messages = document.components?.messages ?? {};
  if (messages[wanted]) return deref(document, messages[wanted]);
  const candidates: any[] = Object.values(messages).map((message) => deref(document, message));
  for (const channel of Object.values<any>(document.channels ?? {})) {
    // AsyncAPI 2: publish/subscribe operations; 3: channel.messages.
    for (const operation of [channel?.publish, channel?.subscribe]) {
      const message = deref(document, operation?.message);
      if (!message) continue;
      candidates.push(message, ...(message.oneOf ?? []).map((item: any) => deref(document, item)));
    }
    for (const [key, message] of Object.entries<any>(channel?.messages ?? {})) {
      const resolved = deref(document, message);
      if (key === wanted) return resolved;
      candidates.push(resolved);
    }
  }
  return candidates.find((message) => message?.name === wanted || message?.messageId === wanted);
}

/**
 * The schema to check or register, from a schema file (.avsc, .json, .proto) or from an API
 * description: an OpenAPI 3.x component schema, or an AsyncAPI 2.x/3.x message payload.
 */
export function extractSchema(file: string, options: ExtractOptions = {}): ExtractedSchema {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ExtractError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const extension = extname(file).toLowerCase();
  if (options.type === "protobuf" || extension === ".proto") {
    return { schemaType: "PROTOBUF", schema: text, source: file };
  }
  let document: any;
  try {
    document = extension === ".json" || extension === ".avsc" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ExtractError(`${file} is not JSON or YAML: ${(error as Error).message}`);
  }
  const isOpenApi = typeof document?.openapi === "string";
  const isAsyncApi = typeof document?.asyncapi === "string";
  if (isOpenApi || isAsyncApi) {
    const components = document.components?.schemas ?? {};
    if (options.message) {
      if (!isAsyncApi)
        throw new ExtractError("--message names an AsyncAPI message; this is an OpenAPI document");
      const message = findAsyncMessage(document, options.message);
      if (!message) {
        const known = Object.keys(document.components?.messages ?? {});
        throw new ExtractError(
          `no message "${options.message}" in ${file}${known.length ? ` (components.messages: ${known.join(", ")})` : ""}`,
        );
      }
      return payloadOf(message, components, `${file}#message ${options.message}`);
    }
    if (!options.component)
      throw new ExtractError(
        `${file} is an ${isOpenApi ? "OpenAPI" : "AsyncAPI"} document: name the schema with --component${isAsyncApi ? " or --message" : ""}`,
      );
    const schema = components[options.component];
    if (schema === undefined)
      throw new ExtractError(
        `no components.schemas.${options.component} in ${file} (known: ${Object.keys(components).join(", ") || "none"})`,
      );
    return {
      schemaType: options.type === "avro" ? "AVRO" : "JSON",
      schema: JSON.stringify(
        options.type === "avro"
          ? schema
          : toJsonSchema(schema, components, isOpenApi && document.openapi.startsWith("3.0")),
      ),
      source: `${file}#/components/schemas/${options.component}`,
    };
  }
  if (options.component || options.message)
    throw new ExtractError(
      `${file} is not an OpenAPI or AsyncAPI document; --component and --message apply to those`,
    );
  const schemaType: SchemaType =
    options.type === "avro" || (!options.type && extension === ".avsc") ? "AVRO" : "JSON";
  return { schemaType, schema: JSON.stringify(document), source: file };
}
