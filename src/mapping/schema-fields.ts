import { ValidationError } from "../api/errors.js";

/**
 * A schema reduced to what a mapping needs: names, types, formats, nesting. Read from JSON Schema
 * (properties, required, local $ref, nullable type arrays) or from an Avro record schema (.avsc).
 */
export interface FieldNode {
  name: string;
  type: "string" | "number" | "integer" | "boolean" | "object" | "array" | "null" | "any";
  required: boolean;
  /** null is an allowed value. */
  nullable?: boolean;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  maxLength?: number;
  description?: string;
  /** Fields of an object. */
  properties?: FieldNode[];
  /** Element of an array. */
  items?: FieldNode;
}

function fail(message: string): never {
  throw new ValidationError(message, { code: "JUNCTION_SCHEMA_UNREADABLE" });
}

/** Read a parsed schema document; Avro when it looks like one (`"type": "record"` with `fields`). */
export function readSchema(document: unknown, what = "schema"): FieldNode {
  if (document === null || typeof document !== "object") fail(`${what} is not a JSON object`);
  const root = document as Record<string, unknown>;
  if (root.type === "record" && Array.isArray(root.fields)) return fromAvro(root, "", true, new Map());
  return fromJsonSchema(root, "", true, root, what, 0);
}

function fromJsonSchema(
  node: Record<string, unknown>,
  name: string,
  required: boolean,
  root: Record<string, unknown>,
  what: string,
  depth: number,
): FieldNode {
  if (depth > 32) fail(`${what}: nesting deeper than 32 levels at "${name}" (a recursive $ref?)`);
  if (typeof node.$ref === "string") {
    const ref = node.$ref;
    if (!ref.startsWith("#/"))
      fail(`${what}: only local $ref ("#/...") is supported, got "${ref}" at "${name}"`);
    let target: unknown = root;
    for (const key of ref.slice(2).split("/"))
      target = (target as Record<string, unknown> | undefined)?.[key.replace(/~1/g, "/").replace(/~0/g, "~")];
    if (!target || typeof target !== "object") fail(`${what}: $ref "${ref}" at "${name}" points nowhere`);
    return fromJsonSchema(target as Record<string, unknown>, name, required, root, what, depth + 1);
  }
  const types = (Array.isArray(node.type) ? node.type : [node.type]).filter((type) => type !== "null");
  let type =
    (types[0] as FieldNode["type"] | undefined) ??
    (node.properties ? "object" : node.items ? "array" : "any");
  if (!["string", "number", "integer", "boolean", "object", "array"].includes(type)) type = "any";
  const field: FieldNode = { name, type, required };
  if ((Array.isArray(node.type) && node.type.includes("null")) || node.nullable === true)
    field.nullable = true;
  if (typeof node.format === "string") field.format = node.format;
  if (typeof node.pattern === "string") field.pattern = node.pattern;
  if (Array.isArray(node.enum)) field.enum = node.enum;
  if (typeof node.maxLength === "number") field.maxLength = node.maxLength;
  if (typeof node.description === "string") field.description = node.description;
  if (type === "object" && node.properties && typeof node.properties === "object") {
    const requiredNames = new Set(Array.isArray(node.required) ? node.required : []);
    field.properties = Object.entries(node.properties as Record<string, Record<string, unknown>>).map(
      ([key, child]) => fromJsonSchema(child ?? {}, key, requiredNames.has(key), root, what, depth + 1),
    );
  }
  if (type === "array" && node.items && typeof node.items === "object" && !Array.isArray(node.items))
    field.items = fromJsonSchema(node.items as Record<string, unknown>, name, true, root, what, depth + 1);
  return field;
}

const AVRO_TYPES: Record<string, FieldNode["type"]> = {
  string: "string",
  bytes: "string",
  fixed: "string",
  enum: "string",
  int: "integer",
  long: "integer",
  float: "number",
  double: "number",
  boolean: "boolean",
  null: "null",
  record: "object",
  array: "array",
  map: "object",
};

function fromAvro(type: unknown, name: string, required: boolean, named: Map<string, unknown>): FieldNode {
  if (Array.isArray(type)) {
    const rest = type.filter((member) => member !== "null");
    const field = fromAvro(rest.length === 1 ? rest[0] : "string", name, required, named);
    return rest.length < type.length ? { ...field, nullable: true } : field;
  }
  if (typeof type === "string") {
    if (named.has(type)) return fromAvro(named.get(type), name, required, named);
    return { name, type: AVRO_TYPES[type] ?? "any", required };
  }
  if (!type || typeof type !== "object") fail(`avro schema: unreadable type at "${name}"`);
  const schema = type as Record<string, unknown>;
  if (typeof schema.name === "string" && (schema.type === "record" || schema.type === "enum"))
    named.set(schema.name, schema);
  const field: FieldNode = { name, type: AVRO_TYPES[String(schema.type)] ?? "any", required };
  if (typeof schema.doc === "string") field.description = schema.doc;
  if (schema.logicalType === "date") field.format = "avro-date";
  if (schema.logicalType === "timestamp-millis") field.format = "avro-timestamp-millis";
  if (schema.type === "enum" && Array.isArray(schema.symbols)) field.enum = schema.symbols;
  if (schema.type === "record" && Array.isArray(schema.fields))
    field.properties = schema.fields.map((child: Record<string, unknown>) =>
      fromAvro(child.type, String(child.name), !("default" in child), named),
    );
  if (schema.type === "array") field.items = fromAvro(schema.items, name, true, named);
  return field;
}
