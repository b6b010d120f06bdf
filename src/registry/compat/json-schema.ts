import type { Incompatibility } from "./issue.js";

type Schema = boolean | Record<string, any>;

/** Parse a JSON Schema document; it must be an object or a boolean. */
export function parseJsonSchema(text: string): Schema {
  const schema = JSON.parse(text);
  if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema)))
    throw new Error("a JSON Schema is an object or a boolean");
  return schema;
}

function valueType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** The types a schema allows; an enum or const without `type` allows only its values' types. */
function types(schema: Record<string, any>): Set<string> | undefined {
  if (schema.type === undefined) {
    if (Array.isArray(schema.enum)) return new Set(schema.enum.map(valueType));
    if ("const" in schema) return new Set([valueType(schema.const)]);
    return undefined;
  }
  return new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
}

/** Confluent's content models: closed (additionalProperties: false), partially open (a schema), open. */
function contentModel(schema: Record<string, any>): "closed" | "partial" | "open" {
  const extra = schema.additionalProperties;
  if (extra === false) return "closed";
  if (extra === undefined || extra === true) return "open";
  return "partial";
}

const BOUNDS: { key: string; upper: boolean; rule: string }[] = [
  { key: "maximum", upper: true, rule: "MAXIMUM" },
  { key: "exclusiveMaximum", upper: true, rule: "EXCLUSIVE_MAXIMUM" },
  { key: "minimum", upper: false, rule: "MINIMUM" },
  { key: "exclusiveMinimum", upper: false, rule: "EXCLUSIVE_MINIMUM" },
  { key: "maxLength", upper: true, rule: "MAX_LENGTH" },
  { key: "minLength", upper: false, rule: "MIN_LENGTH" },
  { key: "maxItems", upper: true, rule: "MAX_ITEMS" },
  { key: "minItems", upper: false, rule: "MIN_ITEMS" },
  { key: "maxProperties", upper: true, rule: "MAX_PROPERTIES" },
  { key: "minProperties", upper: false, rule: "MIN_PROPERTIES" },
];

const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What stops `reader` from accepting every document `writer` accepts, by the rules Confluent
 * documents for JSON Schema: content models (open, partially open, closed), required properties,
 * types narrowed or changed, enums, bounds, patterns, array items, and sum types (oneOf/anyOf).
 */
export function jsonSchemaReaderIssues(reader: Schema, writer: Schema): Incompatibility[] {
  const issues: Incompatibility[] = [];
  const seen = new Set<string>();
  const resolve = (root: Schema, node: Schema): Schema => {
    let current = node;
    for (let hops = 0; hops < 32 && typeof current === "object" && typeof current.$ref === "string"; hops++) {
      const ref: string = current.$ref;
      if (!ref.startsWith("#")) return current; // external references are not followed
      let target: any = root;
      for (const part of ref.slice(1).split("/").filter(Boolean)) {
        target = target?.[decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~")];
      }
      if (target === undefined) return current;
      current = target;
    }
    return current;
  };
  const add = (path: string, rule: string, message: string) => {
    issues.push({ path: path || "#", rule, message });
  };

  const visit = (rNode: Schema, wNode: Schema, path: string): void => {
    const r = resolve(reader, rNode);
    const w = resolve(writer, wNode);
    if (typeof r === "object" && typeof w === "object") {
      const key = `${path}|${JSON.stringify(rNode)}|${JSON.stringify(wNode)}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    if (r === true || (typeof r === "object" && Object.keys(r).length === 0)) return;
    if (w === false) return;
    if (r === false) {
      add(path, "SCHEMA_NARROWED", "the new schema rejects everything the old one accepted");
      return;
    }
    if (w === true) {
      add(path, "SCHEMA_NARROWED", "the old schema accepted anything here; the new one constrains it");
      return;
    }
    const rw = r as Record<string, any>;
    const ww = w as Record<string, any>;

    // Sum types: each alternative the writer allows must be allowed by some reader alternative.
    for (const combiner of ["oneOf", "anyOf"]) {
      if (!Array.isArray(rw[combiner])) continue;
      const writerBranches: Schema[] = Array.isArray(ww[combiner])
        ? ww[combiner]
        : Array.isArray(ww.oneOf ?? ww.anyOf)
          ? (ww.oneOf ?? ww.anyOf)
          : [ww];
      writerBranches.forEach((branch, index) => {
        const fits = rw[combiner].some((candidate: Schema) => {
          const before = issues.length;
          visit(candidate, branch, `${path}/${combiner}`);
          const ok = issues.length === before;
          issues.length = before;
          return ok;
        });
        if (!fits)
          add(
            `${path}/${combiner}`,
            "SUM_TYPE_NARROWED",
            `the old schema's alternative ${index} is not accepted by any of the new ${combiner} alternatives`,
          );
      });
      return;
    }
    if (Array.isArray(rw.allOf)) {
      rw.allOf.forEach((part: Schema, index: number) => {
        visit(part, ww, `${path}/allOf/${index}`);
      });
    }

    const rt = types(rw);
    const wt = types(ww);
    if (rt) {
      if (!wt) {
        add(
          `${path}/type`,
          "TYPE_NARROWED",
          `type ${[...rt].join("|")} added; the old schema allowed any type`,
        );
        return;
      }
      const missing = [...wt].filter((type) => !rt.has(type) && !(type === "integer" && rt.has("number")));
      const narrowedToInteger = missing.includes("number") && rt.has("integer");
      if (missing.length === wt.size && !narrowedToInteger) {
        add(`${path}/type`, "TYPE_CHANGED", `type changed from ${[...wt].join("|")} to ${[...rt].join("|")}`);
        return;
      }
      if (missing.length > 0) {
        add(`${path}/type`, "TYPE_NARROWED", `type ${missing.join("|")} is no longer allowed`);
      }
    }

    if (rw.enum !== undefined) {
      if (!Array.isArray(ww.enum) && ww.const === undefined) {
        add(`${path}/enum`, "ENUM_ARRAY_NARROWED", "an enum was added; the old schema allowed other values");
      } else {
        const written = Array.isArray(ww.enum) ? ww.enum : [ww.const];
        const dropped = written.filter((value: unknown) => !rw.enum.some((v: unknown) => equal(v, value)));
        if (dropped.length > 0)
          add(
            `${path}/enum`,
            "ENUM_ARRAY_NARROWED",
            `enum no longer allows ${dropped.map((v: unknown) => JSON.stringify(v)).join(", ")}`,
          );
      }
    }
    if (rw.const !== undefined && !equal(rw.const, ww.const)) {
      add(`${path}/const`, "CONST_CHANGED", `const changed to ${JSON.stringify(rw.const)}`);
    }

    for (const bound of BOUNDS) {
      const rb = rw[bound.key];
      if (typeof rb !== "number") continue;
      const wb = ww[bound.key];
      if (typeof wb !== "number") {
        add(`${path}/${bound.key}`, `${bound.rule}_ADDED`, `${bound.key} ${rb} added`);
      } else if (bound.upper ? rb < wb : rb > wb) {
        add(
          `${path}/${bound.key}`,
          `${bound.rule}_${bound.upper ? "DECREASED" : "INCREASED"}`,
          `${bound.key} changed from ${wb} to ${rb}`,
        );
      }
    }
    if (typeof rw.multipleOf === "number") {
      const wm = ww.multipleOf;
      if (typeof wm !== "number")
        add(`${path}/multipleOf`, "MULTIPLE_OF_ADDED", `multipleOf ${rw.multipleOf} added`);
      else if (wm % rw.multipleOf !== 0)
        add(`${path}/multipleOf`, "MULTIPLE_OF_CHANGED", `multipleOf changed from ${wm} to ${rw.multipleOf}`);
    }
    for (const [key, rule] of [
      ["pattern", "PATTERN"],
      ["format", "FORMAT"],
    ] as const) {
      if (rw[key] === undefined || rw[key] === ww[key]) continue;
      add(
        `${path}/${key}`,
        ww[key] === undefined ? `${rule}_ADDED` : `${rule}_CHANGED`,
        `${key} ${ww[key] === undefined ? "added" : `changed from ${JSON.stringify(ww[key])} to`} ${JSON.stringify(rw[key])}`,
      );
    }
    if (rw.uniqueItems === true && ww.uniqueItems !== true) {
      add(`${path}/uniqueItems`, "UNIQUE_ITEMS_ADDED", "uniqueItems added");
    }

    // Objects.
    const rProps: Record<string, Schema> = rw.properties ?? {};
    const wProps: Record<string, Schema> = ww.properties ?? {};
    const wRequired = new Set<string>(ww.required ?? []);
    for (const name of rw.required ?? []) {
      if (wRequired.has(name)) continue;
      add(
        `${path}/required`,
        name in wProps ? "REQUIRED_ATTRIBUTE_ADDED" : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        `property "${name}" is now required`,
      );
    }
    for (const [name, schema] of Object.entries(rProps)) {
      const propertyPath = `${path}/properties/${name}`;
      if (name in wProps) {
        visit(schema, wProps[name], propertyPath);
        continue;
      }
      const model = contentModel(ww);
      if (model === "closed") continue; // old documents never had it
      if (model === "partial") {
        const before = issues.length;
        visit(schema, ww.additionalProperties, propertyPath);
        if (issues.length > before) {
          issues.length = before;
          add(
            propertyPath,
            "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            `property "${name}" added, and the old additionalProperties schema allowed other values for it`,
          );
        }
        continue;
      }
      add(
        propertyPath,
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        `property "${name}" added to an open content model: old documents may hold any value under that name (close the old model with additionalProperties: false)`,
      );
    }
    for (const [name, schema] of Object.entries(wProps)) {
      if (name in rProps) continue;
      const propertyPath = `${path}/properties/${name}`;
      const model = contentModel(rw);
      if (model === "open") continue;
      if (model === "closed") {
        add(
          propertyPath,
          "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
          `property "${name}" removed from a closed content model: old documents that have it are rejected`,
        );
        continue;
      }
      const before = issues.length;
      visit(rw.additionalProperties, schema, propertyPath);
      if (issues.length > before) {
        issues.length = before;
        add(
          propertyPath,
          "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          `property "${name}" removed, and the new additionalProperties schema does not accept its old values`,
        );
      }
    }
    const rModel = contentModel(rw);
    const wModel = contentModel(ww);
    if (rModel === "closed" && wModel !== "closed") {
      add(
        `${path}/additionalProperties`,
        "ADDITIONAL_PROPERTIES_REMOVED",
        "additionalProperties is now false",
      );
    } else if (rModel === "partial") {
      if (wModel === "open")
        add(
          `${path}/additionalProperties`,
          "ADDITIONAL_PROPERTIES_NARROWED",
          "additionalProperties now constrained by a schema",
        );
      else if (wModel === "partial")
        visit(rw.additionalProperties, ww.additionalProperties, `${path}/additionalProperties`);
    }

    // Arrays.
    if (rw.items !== undefined && !Array.isArray(rw.items)) {
      if (ww.items === undefined) {
        add(`${path}/items`, "ITEMS_ADDED", "array items are now constrained");
      } else if (Array.isArray(ww.items)) {
        ww.items.forEach((item: Schema, index: number) => {
          visit(rw.items, item, `${path}/items/${index}`);
        });
      } else visit(rw.items, ww.items, `${path}/items`);
    } else if (Array.isArray(rw.items) && Array.isArray(ww.items)) {
      rw.items.forEach((item: Schema, index: number) => {
        if (index < ww.items.length) visit(item, ww.items[index], `${path}/items/${index}`);
      });
    }
    if (Array.isArray(rw.prefixItems) && Array.isArray(ww.prefixItems)) {
      rw.prefixItems.forEach((item: Schema, index: number) => {
        if (index < ww.prefixItems.length) visit(item, ww.prefixItems[index], `${path}/prefixItems/${index}`);
      });
    }
  };
  visit(reader, writer, "#");
  return issues;
}
