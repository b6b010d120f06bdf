import protobuf from "protobufjs";
import type { Incompatibility } from "./issue.js";

type Root = protobuf.Root;
type MessageType = protobuf.Type;
type Field = protobuf.Field;

export interface ParsedProto {
  package: string;
  root: Root;
  /** Message types by name relative to the package (nested ones dotted: Outer.Inner). */
  messages: Map<string, MessageType>;
}

/** Parse .proto text with protobufjs; types from imports that are not given stay unresolved. */
export function parseProtobuf(text: string): ParsedProto {
  const parsed = protobuf.parse(text, { keepCase: true, alternateCommentMode: true });
  const root = parsed.root;
  try {
    root.resolveAll();
  } catch {
    // Imported types are not available here; those fields are compared by their type names.
  }
  const pkg = parsed.package ?? "";
  const messages = new Map<string, MessageType>();
  const prefix = pkg ? `.${pkg}.` : ".";
  const walk = (namespace: protobuf.NamespaceBase) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        messages.set(
          nested.fullName.startsWith(prefix) ? nested.fullName.slice(prefix.length) : nested.fullName,
          nested,
        );
      }
      if (nested instanceof protobuf.Namespace) walk(nested);
    }
  };
  walk(root);
  return { package: pkg, root, messages };
}

// Scalars that share a wire encoding: changing among them keeps old bytes readable.
const WIRE_GROUPS = [
  ["int32", "uint32", "int64", "uint64", "bool", "enum"],
  ["sint32", "sint64"],
  ["fixed32", "sfixed32"],
  ["fixed64", "sfixed64"],
  ["string", "bytes"],
];
const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "sfixed32",
  "fixed64",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** scalar name, "enum", or "message", plus the resolved full name of a named type. */
function fieldKind(field: Field): { kind: string; name?: string } {
  if (SCALARS.has(field.type)) return { kind: field.type };
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return { kind: "enum", name: resolved.fullName };
  if (resolved instanceof protobuf.Type) return { kind: "message", name: resolved.fullName };
  return { kind: "message", name: field.type.replace(/^\./, "") };
}

function relative(name: string | undefined, pkg: string): string {
  const bare = (name ?? "").replace(/^\./, "");
  return pkg && bare.startsWith(`${pkg}.`) ? bare.slice(pkg.length + 1) : bare;
}

function sameWireGroup(a: string, b: string): boolean {
  return a === b || WIRE_GROUPS.some((group) => group.includes(a) && group.includes(b));
}

/** A proto3 `optional` field lives in a synthetic oneof; it is not a real oneof. */
function realOneof(field: Field): string | undefined {
  const oneof = field.partOf;
  if (!oneof) return undefined;
  if (field.options?.proto3_optional && oneof.fieldsArray.length === 1) return undefined;
  return oneof.name;
}

/**
 * The changes from `original` to `update` that Confluent's Protobuf compatibility rules reject:
 * package changed, message removed, field type or kind changed (beyond wire-compatible scalars),
 * named type changed, numeric label changed, required field added or removed, fields moved into
 * oneofs, oneof fields removed. Fields are matched by number; a renamed field is fine.
 * BACKWARD checks (previous → new); FORWARD checks (new → previous).
 */
export function protobufChangeIssues(original: ParsedProto, update: ParsedProto): Incompatibility[] {
  const issues: Incompatibility[] = [];
  if (original.package !== update.package) {
    issues.push({
      path: "package",
      rule: "PACKAGE_CHANGED",
      message: `package changed from "${original.package}" to "${update.package}"`,
    });
  }
  for (const [name, before] of original.messages) {
    const after = update.messages.get(name);
    if (!after) {
      issues.push({ path: name, rule: "MESSAGE_REMOVED", message: `message ${name} was removed` });
      continue;
    }
    const beforeFields = new Map(before.fieldsArray.map((field) => [field.id, field]));
    const afterFields = new Map(after.fieldsArray.map((field) => [field.id, field]));
    for (const [id, field] of beforeFields) {
      const path = `${name}.${field.name}`;
      const next = afterFields.get(id);
      if (!next) {
        if (field.required)
          issues.push({
            path,
            rule: "REQUIRED_FIELD_REMOVED",
            message: `required field ${field.name} = ${id} was removed`,
          });
        continue;
      }
      const a = fieldKind(field);
      const b = fieldKind(next);
      if (field.map !== next.map) {
        issues.push({
          path,
          rule: "FIELD_KIND_CHANGED",
          message: `field ${id} changed between map and non-map`,
        });
        continue;
      }
      if (field.map && (field as any).keyType !== (next as any).keyType) {
        issues.push({
          path,
          rule: "FIELD_SCALAR_KIND_CHANGED",
          message: `map key of field ${id} changed from ${(field as any).keyType} to ${(next as any).keyType}`,
        });
      }
      if ((a.kind === "message") !== (b.kind === "message")) {
        issues.push({
          path,
          rule: "FIELD_KIND_CHANGED",
          message: `field ${id} changed from ${a.name ?? a.kind} to ${b.name ?? b.kind}`,
        });
        continue;
      }
      if (a.kind === "message") {
        if (relative(a.name, original.package) !== relative(b.name, update.package))
          issues.push({
            path,
            rule: "FIELD_NAMED_TYPE_CHANGED",
            message: `field ${id} changed from message ${relative(a.name, original.package)} to ${relative(b.name, update.package)}`,
          });
      } else if (a.kind === "enum" && b.kind === "enum") {
        if (relative(a.name, original.package) !== relative(b.name, update.package))
          issues.push({
            path,
            rule: "FIELD_NAMED_TYPE_CHANGED",
            message: `field ${id} changed from enum ${relative(a.name, original.package)} to ${relative(b.name, update.package)}`,
          });
      } else if (!sameWireGroup(a.kind, b.kind)) {
        issues.push({
          path,
          rule: "FIELD_SCALAR_KIND_CHANGED",
          message: `field ${id} changed from ${a.kind} to ${b.kind}, which are encoded differently`,
        });
      }
      if (field.repeated !== next.repeated && !field.map) {
        const lengthDelimited = a.kind === "message" || a.kind === "string" || a.kind === "bytes";
        if (!lengthDelimited)
          issues.push({
            path,
            rule: "FIELD_NUMERIC_LABEL_CHANGED",
            message: `field ${id} changed between repeated and singular; packed numbers are read differently`,
          });
      }
      if (!field.required && next.required)
        issues.push({ path, rule: "REQUIRED_FIELD_ADDED", message: `field ${id} became required` });
      if (field.required && !next.required)
        issues.push({ path, rule: "REQUIRED_FIELD_REMOVED", message: `field ${id} is no longer required` });
    }
    for (const [id, field] of afterFields) {
      if (!beforeFields.has(id) && field.required)
        issues.push({
          path: `${name}.${field.name}`,
          rule: "REQUIRED_FIELD_ADDED",
          message: `required field ${field.name} = ${id} was added`,
        });
    }
    // Oneofs: a oneof keeps its fields; at most one existing field may move into a new oneof.
    const beforeOneofs = new Set(before.fieldsArray.map(realOneof).filter(Boolean) as string[]);
    for (const [id, field] of beforeFields) {
      const oneof = realOneof(field);
      if (!oneof) continue;
      const next = afterFields.get(id);
      if (!next || realOneof(next) !== oneof)
        issues.push({
          path: `${name}.${oneof}`,
          rule: "ONEOF_FIELD_REMOVED",
          message: `field ${field.name} = ${id} left oneof ${oneof}`,
        });
    }
    const moved = new Map<string, number[]>();
    for (const [id, field] of afterFields) {
      const oneof = realOneof(field);
      const previous = beforeFields.get(id);
      if (!oneof || !previous || realOneof(previous) === oneof) continue;
      moved.set(oneof, [...(moved.get(oneof) ?? []), id]);
    }
    for (const [oneof, ids] of moved) {
      if (beforeOneofs.has(oneof))
        issues.push({
          path: `${name}.${oneof}`,
          rule: "FIELD_MOVED_TO_EXISTING_ONEOF",
          message: `fields ${ids.join(", ")} moved into the existing oneof ${oneof}`,
        });
      else if (ids.length > 1)
        issues.push({
          path: `${name}.${oneof}`,
          rule: "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
          message: `fields ${ids.join(", ")} moved into the new oneof ${oneof}; only one may`,
        });
    }
  }
  return issues;
}
