import type { TSchema } from "typebox";
import type { Registry, SlotKind } from "./registry.js";
import { PolicySchema, rootSchema } from "./root-schema.js";

/**
 * Everything generated from the component schemas: the editor JSON Schema and the configuration
 * reference. One walk of the registry, so docs, editors and the validator never disagree.
 * Returns repository-relative path → file content.
 */
export function generatedFiles(registry: Registry): Map<string, string> {
  const files = new Map<string, string>();
  const schema = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    ...allowInterpolation(JSON.parse(JSON.stringify(rootSchema(registry, "editor")))),
  };
  files.set("schema/junction.schema.json", `${JSON.stringify(schema, null, 2)}\n`);

  const index: string[] = [
    "# Configuration reference",
    "",
    "Generated from the component schemas by `npm run generate`; do not edit by hand.",
    "Every component slot names exactly one component by its key: `from: { webhook: {...} }`.",
    "",
    "## Connectors",
    "",
    "| connector | connection | source | sink | request | summary |",
    "|---|---|---|---|---|---|",
  ];
  for (const connector of registry.connectors.values()) {
    const has = (slot: SlotKind) => (connector[slot as "source"] ? "yes" : "");
    index.push(
      `| [${connector.name}](connectors/${connector.name}.md) | ${has("connection")} | ${has("source")} | ${has("sink")} | ${has("request")} | ${connector.summary} |`,
    );
    const page = [`# ${connector.name}`, "", connector.summary, ""];
    if (connector.description) page.push(connector.description, "");
    for (const slot of ["connection", "source", "sink", "request"] as const) {
      const spec = connector[slot];
      if (!spec) continue;
      const where = {
        connection: "`connections: { <name>: { " + connector.name + ": {...} } }`",
        source: "`routes.<name>.from: { " + connector.name + ": {...} }`",
        sink: "`routes.<name>.to: [ { " + connector.name + ": {...} } ]`",
        request: "`enrich: { with: { " + connector.name + ": {...} } }`",
      }[slot];
      page.push(`## ${slot}`, "", `Used as ${where}.`, "", ...fieldTable(spec.schema), "");
    }
    for (const example of connector.examples ?? [])
      page.push(`### Example: ${example.title}`, "", "```yaml", example.yaml, "```", "");
    files.set(`docs/reference/connectors/${connector.name}.md`, `${page.join("\n").trimEnd()}\n`);
  }
  index.push("", "## Steps", "", "| step | summary |", "|---|---|");
  for (const step of registry.steps.values()) {
    index.push(`| [${step.name}](steps/${step.name}.md) | ${step.summary} |`);
    const page = [`# ${step.name}`, "", step.summary, ""];
    if (step.description) page.push(step.description, "");
    page.push(
      "Used as `routes.<name>.steps: [ { " + step.name + ": {...} } ]`.",
      "",
      ...fieldTable(step.schema),
      "",
    );
    for (const example of step.examples ?? [])
      page.push(`### Example: ${example.title}`, "", "```yaml", example.yaml, "```", "");
    files.set(`docs/reference/steps/${step.name}.md`, `${page.join("\n").trimEnd()}\n`);
  }
  const root = rootSchema(registry, "shape") as any;
  index.push("", "## Top level", "");
  for (const [key, value] of Object.entries<any>(root.properties)) {
    if (key === "$schema") continue;
    index.push(`### ${key}`, "", value.description ?? "", "");
    const element = value.patternProperties ? Object.values<any>(value.patternProperties)[0] : value;
    if (element?.properties && Object.keys(element.properties).length > 0)
      index.push(...fieldTable(element), "");
  }
  index.push("### policies.<name>", "", ...fieldTable(PolicySchema), "");
  for (const [name, sub] of Object.entries<any>(PolicySchema.properties)) {
    if (sub.properties)
      index.push(`#### policies.<name>.${name}`, "", sub.description ?? "", "", ...fieldTable(sub), "");
  }
  files.set("docs/reference/README.md", `${index.join("\n").trimEnd()}\n`);
  return files;
}

/** Editors see the file before `${VAR}` interpolation: a string with a pattern may also be a variable. */
function allowInterpolation(node: any): any {
  if (Array.isArray(node)) return node.map(allowInterpolation);
  if (!node || typeof node !== "object") return node;
  const out: any = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "pattern" && typeof value === "string" && node.type === "string")
      out[key] = `^\\$\\{|(?:${value})`;
    else if (key === "patternProperties") {
      out[key] = Object.fromEntries(
        Object.entries(value as object).map(([k, v]) => [k, allowInterpolation(v)]),
      );
    } else out[key] = allowInterpolation(value);
  }
  return out;
}

/** A Markdown table of an object schema's fields. */
function fieldTable(schema: TSchema): string[] {
  const object = schema as any;
  const required = new Set<string>(object.required ?? []);
  const rows = ["| field | type | required | default | description |", "|---|---|---|---|---|"];
  for (const [name, field] of Object.entries<any>(object.properties ?? {})) {
    const description = [
      field.description ?? "",
      field["x-secret"] ? "**Secret**: never logged." : "",
      field.examples ? `Example: \`${JSON.stringify(field.examples[0])}\`.` : "",
    ]
      .filter(Boolean)
      .join(" ")
      .replace(/\|/g, "\\|")
      .replace(/\n/g, " ");
    rows.push(
      `| \`${name}\` | ${typeOf(field)} | ${required.has(name) ? "yes" : ""} | ${field.default !== undefined ? `\`${JSON.stringify(field.default)}\`` : ""} | ${description} |`,
    );
  }
  return rows.length > 2 ? rows : ["(no options)"];
}

function typeOf(field: any): string {
  if (field["x-format"]) return field["x-format"];
  if (field.anyOf) {
    const literals = field.anyOf
      .map((branch: any) => branch.const)
      .filter((value: unknown) => value !== undefined);
    if (literals.length === field.anyOf.length)
      return literals.map((value: unknown) => `\`${value}\``).join(" \\| ");
    return "one of several forms";
  }
  if (field.type === "array") return `array of ${field.items ? typeOf(field.items) : "any"}`;
  if (field.patternProperties || (field.type === "object" && field.additionalProperties)) return "map";
  return field.type ?? "any";
}
