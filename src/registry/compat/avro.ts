import avsc from "avsc";
import type { Incompatibility } from "./issue.js";

type AvroType = any;

const PROMOTIONS: Record<string, string[]> = {
  int: ["long", "float", "double"],
  long: ["float", "double"],
  float: ["double"],
  string: ["bytes"],
  bytes: ["string"],
};

const NAMED = new Set(["record", "error", "enum", "fixed"]);

/** Parse an Avro schema (JSON text) with avsc; logical types stay their underlying type, as resolution wants. */
export function parseAvro(text: string): AvroType {
  return avsc.Type.forSchema(JSON.parse(text), { wrapUnions: false });
}

function kind(type: AvroType): string {
  const name: string = type.typeName;
  return name.startsWith("union") ? "union" : name === "error" ? "record" : name;
}

function unqualified(name: string | undefined): string {
  return (name ?? "").slice((name ?? "").lastIndexOf(".") + 1);
}

/** Named types match when the reader's name or one of its aliases equals the writer's name (unqualified). */
function namesMatch(reader: AvroType, writer: AvroType): boolean {
  const wanted = unqualified(writer.name);
  return [reader.name, ...(reader.aliases ?? [])].some((name: string) => unqualified(name) === wanted);
}

/** Whether the reader branch is the one Avro picks for the writer's value (same kind and name, or a promotion). */
function branchMatches(reader: AvroType, writer: AvroType, promote: boolean): boolean {
  const r = kind(reader);
  const w = kind(writer);
  if (NAMED.has(r) || NAMED.has(w)) return r === w && namesMatch(reader, writer);
  if (r === w) return true;
  return promote && (PROMOTIONS[w] ?? []).includes(r);
}

function describe(type: AvroType): string {
  const k = kind(type);
  return NAMED.has(k) ? `${k} ${type.name}` : k;
}

/**
 * Everything that stops `reader` from reading data written with `writer`, by the schema-resolution
 * rules of the Avro specification. Empty means the reader can read every datum the writer writes.
 */
export function avroReaderIssues(reader: AvroType, writer: AvroType): Incompatibility[] {
  const issues: Incompatibility[] = [];
  const seen = new Set<string>();
  const visit = (r: AvroType, w: AvroType, path: string): void => {
    const rk = kind(r);
    const wk = kind(w);
    if (wk === "union") {
      // Every branch the writer may pick must be readable.
      w.types.forEach((branch: AvroType, index: number) => {
        visit(r, branch, `${path}/${index}`);
      });
      return;
    }
    if (rk === "union") {
      const branch =
        r.types.find((candidate: AvroType) => branchMatches(candidate, w, false)) ??
        r.types.find((candidate: AvroType) => branchMatches(candidate, w, true));
      if (!branch) {
        issues.push({
          path: path || "/",
          rule: "MISSING_UNION_BRANCH",
          message: `the reader's union has no branch for the writer's ${describe(w)}`,
        });
        return;
      }
      visit(branch, w, path);
      return;
    }
    if (rk !== wk) {
      if (!(PROMOTIONS[wk] ?? []).includes(rk)) {
        issues.push({
          path: path || "/",
          rule: "TYPE_MISMATCH",
          message: `the writer's ${describe(w)} cannot be read as ${describe(r)}`,
        });
      }
      return;
    }
    if (NAMED.has(rk) && !namesMatch(r, w)) {
      issues.push({
        path: `${path}/name`,
        rule: "NAME_MISMATCH",
        message: `the reader's ${rk} is named ${r.name}, the writer's ${w.name} (add an alias to rename)`,
      });
      return;
    }
    switch (rk) {
      case "record": {
        const key = `${r.name}|${w.name}`;
        if (seen.has(key)) return; // a recursive type already being compared
        seen.add(key);
        r.fields.forEach((field: AvroType, index: number) => {
          const names = [field.name, ...(field.aliases ?? [])];
          const written = w.fields.find((candidate: AvroType) => names.includes(candidate.name));
          if (written) {
            visit(field.type, written.type, `${path}/fields/${index}/type`);
          } else if (field.defaultValue() === undefined) {
            issues.push({
              path: `${path}/fields/${index}`,
              rule: "READER_FIELD_MISSING_DEFAULT_VALUE",
              message: `field "${field.name}" of ${r.name} is not in the writer's schema and has no default`,
            });
          }
        });
        return;
      }
      case "enum": {
        const missing = w.symbols.filter((symbol: string) => !r.symbols.includes(symbol));
        if (missing.length > 0 && r.default === undefined) {
          issues.push({
            path: `${path}/symbols`,
            rule: "MISSING_ENUM_SYMBOLS",
            message: `enum ${r.name} lacks the writer's symbols ${missing.join(", ")} and has no default`,
          });
        }
        return;
      }
      case "fixed":
        if (r.size !== w.size) {
          issues.push({
            path: `${path}/size`,
            rule: "FIXED_SIZE_MISMATCH",
            message: `fixed ${r.name} has size ${r.size}, the writer's ${w.size}`,
          });
        }
        return;
      case "array":
        visit(r.itemsType, w.itemsType, `${path}/items`);
        return;
      case "map":
        visit(r.valuesType, w.valuesType, `${path}/values`);
        return;
      default:
        return;
    }
  };
  visit(reader, writer, "");
  return issues;
}
