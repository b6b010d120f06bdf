import { concepts, nameScore } from "./field-names.js";
import { splitName } from "./names.js";
import type { FieldNode } from "./schema-fields.js";
import { dominantShape, localDateFormat, type Shape } from "./value-shapes.js";

/**
 * `junction map-suggest`: a draft JSONata mapping from one schema to another, for a person to review.
 * Fields are matched by normalised names (case, separators, synonyms), types and formats, nesting,
 * and the shape of sample values; helpers are proposed where a field must be split, joined or
 * converted. Every placed field has a confidence and its reasons; the rest are listed as unplaced.
 */
export interface FieldSuggestion {
  /** Dotted path in the target. */
  target: string;
  /** Dotted source path(s) the value comes from. */
  sources: string[];
  expression: string;
  /** 0 to 1: how sure the match is; below 0.5 a field is left unplaced. */
  confidence: number;
  helper?: string;
  reasons: string[];
}

export interface Unplaced {
  target: string;
  type: string;
  required: boolean;
  /** The best candidate that was not good enough, if any. */
  bestGuess?: { source: string; confidence: number };
}

export interface MappingSuggestion {
  jsonata: string;
  fields: FieldSuggestion[];
  unplaced: Unplaced[];
  /** Source fields no target field uses. */
  unusedSources: string[];
}

export interface SuggestOptions {
  /** Minimum confidence to place a field (default 0.5). */
  threshold?: number;
  /** Names of the schemas, for the header comment. */
  /** Example target messages, not paired with the source ones: shared values are evidence. */
  targetSamples?: unknown[];
  fromName?: string;
  toName?: string;
}

/** Name and address parts a helper can produce, by concept. */
const NAME_PARTS: Record<string, string> = {
  givenname: "given",
  familyname: "family",
  middlename: "middle",
  title: "title",
  salutation: "title",
  suffix: "suffix",
};
const ADDRESS_PARTS: Record<string, string> = {
  street: "street",
  city: "city",
  postalcode: "postalCode",
  region: "region",
  country: "country",
};

interface SourceLeaf {
  path: string[];
  node: FieldNode;
  values: unknown[];
  /** Samples where the value is null. */
  nulls: number;
  shape?: Shape;
  shareOfShape: number;
}

interface TargetLeaf {
  path: string[];
  node: FieldNode;
  /** Values in the target samples. */
  values: unknown[];
}

interface Samples {
  source: unknown[];
  target: unknown[];
}

function valuesAt(samples: unknown[], path: string[], withNulls = false): unknown[] {
  const out: unknown[] = [];
  for (const sample of samples) {
    let node: unknown = sample;
    for (const key of path)
      node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    if (node !== undefined && (node !== null || withNulls)) out.push(node);
  }
  return out;
}

function sourceLeaves(node: FieldNode, samples: unknown[], prefix: string[] = []): SourceLeaf[] {
  const out: SourceLeaf[] = [];
  for (const child of node.properties ?? []) {
    const path = [...prefix, child.name];
    if (child.type === "object" && child.properties) out.push(...sourceLeaves(child, samples, path));
    else {
      const values = valuesAt(samples, path);
      const nulls = valuesAt(samples, path, true).length - values.length;
      const { shape, share } = dominantShape(values);
      out.push({ path, node: child, values, nulls, shape, shareOfShape: share });
    }
  }
  return out;
}

function targetLeaves(node: FieldNode, samples: unknown[], prefix: string[] = []): TargetLeaf[] {
  const out: TargetLeaf[] = [];
  for (const child of node.properties ?? []) {
    const path = [...prefix, child.name];
    if (child.type === "object" && child.properties) out.push(...targetLeaves(child, samples, path));
    else out.push({ path, node: child, values: valuesAt(samples, path) });
  }
  return out;
}

/**
 * Share of the target's sample values also seen in the source's samples (compared as text), when
 * that can mean something: not for booleans, and not for fewer than 2 distinct texts or 3 numbers.
 */
function sharedValues(target: unknown[], source: unknown[]): number {
  const distinct = (values: unknown[]) =>
    new Set(values.filter((value) => value !== null && typeof value !== "object").map(String));
  if (target.some((value) => typeof value === "boolean")) return 0;
  const wanted = distinct(target);
  const minimum = target.every((value) => typeof value === "number") ? 3 : 2;
  if (wanted.size < minimum) return 0;
  const seen = distinct(source);
  let shared = 0;
  for (const value of wanted) if (seen.has(value)) shared++;
  return shared / wanted.size;
}

const RESERVED = new Set(["and", "or", "in", "true", "false", "null", "function"]);

/** A JSONata path for source segments: backticks where a name is not an identifier. */
export function pathExpression(path: string[]): string {
  return path
    .map((segment) =>
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) && !RESERVED.has(segment)
        ? segment
        : `\`${segment.replace(/`/g, "")}\``,
    )
    .join(".");
}

interface Candidate {
  target: TargetLeaf;
  source: SourceLeaf;
  confidence: number;
  expression: string;
  helper?: string;
  reasons: string[];
  /** Further source fields the expression reads ($joinName). */
  others?: SourceLeaf[];
}

/** Score one source field for one target field, with the expression that converts it. */
function candidate(target: TargetLeaf, source: SourceLeaf): Candidate | undefined {
  const name = nameScore(target.path, source.path);
  const t = target.node;
  const s = source.node;
  const reasons: string[] = [];
  let score = name.score;
  if (name.reason) reasons.push(name.reason);
  // Value evidence can place a field whose name says nothing.
  const shared = sharedValues(target.values, source.values);
  if (shared > 0) {
    score = Math.max(score, 0.5 + 0.4 * shared);
    reasons.push(`${Math.round(shared * 100)}% of the target's sample values appear in this field's samples`);
  }
  if (score < 0.3 && source.shape && source.shareOfShape >= 0.8) {
    if (t.format === "email" && source.shape === "email") {
      score = 0.55;
      reasons.push("sample values are emails");
    }
  }
  if (score === 0) return undefined;
  const path = pathExpression(source.path);
  let expression = path;
  const finish = (result: string) =>
    (s.nullable || source.nulls > 0) && !t.nullable ? `$nullPolicy(${result}, "omit")` : result;
  let helper: string | undefined;
  const shape = source.shape;
  // Types.
  if (t.type === "object" || t.type === "array" || s.type === "object") {
    if (t.type !== s.type) return undefined;
  }
  if (t.type === "array" && s.type === "array") {
    expression = `${path}[]`; // keeps a one-element array an array
  } else if ((t.type === "number" || t.type === "integer") && s.type === "string") {
    expression = `$number(${path})`;
    // $number fails on text that is not a number: samples that are not numbers keep the field unplaced.
    if (shape === "number-text") {
      score *= 0.95 * source.shareOfShape;
      reasons.push("numbers written as text");
    } else {
      score *= source.values.length ? 0.3 : 0.6;
      reasons.push(
        source.values.length ? "samples are not numbers" : "source is text: check it holds numbers",
      );
    }
  } else if (t.type === "string" && (s.type === "number" || s.type === "integer" || s.type === "boolean")) {
    expression = `$string(${path})`;
    score *= 0.9;
    reasons.push(`${s.type} written as text`);
  } else if (t.type === "boolean" && s.type === "string") {
    expression = `$lowercase(${path}) in ["true", "yes", "y", "1"]`;
    score *= shape === "boolean-text" ? 0.85 : 0.5;
    reasons.push("yes/no text read as a boolean: an absent value becomes false");
  } else if (t.type === "integer" && s.type === "number") {
    expression = `$round(${path})`;
    score *= 0.85;
    reasons.push("rounded to an integer");
  } else if (
    t.type !== s.type &&
    t.type !== "any" &&
    s.type !== "any" &&
    !(t.type === "number" && s.type === "integer")
  ) {
    score *= 0.5;
    reasons.push(`types differ (${s.type} -> ${t.type})`);
  }
  // Formats, patterns and enums checked against the samples.
  if (t.type === "string" && s.type === "string") {
    if (t.format === "date") {
      const local = localDateFormat(source.values);
      if (shape === "date") reasons.push("sample values are ISO dates");
      else if (shape === "local-date" && local) {
        expression = `$parseDate(${path}, "${local.format}")`;
        helper = "$parseDate";
        score *= (local.guessed ? 0.8 : 0.95) * source.shareOfShape;
        reasons.push(
          local.guessed
            ? `dates like ${String(source.values[0])}: ${local.format} is a guess (day and month both <= 12)`
            : `dates written ${local.format}`,
        );
      } else if (shape === "date-time") {
        expression = `$substring($toTimeZone(${path}, "UTC"), 0, 10)`;
        helper = "$toTimeZone";
        score *= 0.8 * source.shareOfShape;
        reasons.push("date-times cut to the UTC calendar day: choose the zone");
      } else if (shape) {
        score *= 0.6;
        reasons.push(`target is a date, samples look like ${shape}`);
      }
    } else if (t.format === "date-time") {
      if (shape === "date-time") reasons.push("sample values are date-times");
      else if (shape) {
        score *= 0.6;
        reasons.push(`target is a date-time, samples look like ${shape}`);
      }
    } else if (t.format === "email") {
      if (shape === "email") score = Math.min(1, score + 0.1);
      else if (shape) {
        score *= 0.6;
        reasons.push(`target is an email, samples look like ${shape}`);
      }
    }
    const isCountryCode =
      concepts(t.name).includes("country") && (t.maxLength === 2 || /\[A-Z\]\{2\}/.test(t.pattern ?? ""));
    if (isCountryCode && shape === "country-name") {
      expression = `$countryCode(${path})`;
      helper = "$countryCode";
      reasons.push("country names normalised to ISO 3166-1 alpha-2");
    } else if (t.pattern && source.values.length) {
      const pattern = safeRegExp(t.pattern);
      const misses = pattern ? source.values.filter((value) => !pattern.test(String(value))) : [];
      if (misses.length) {
        score *= 0.6;
        reasons.push(`${misses.length} of ${source.values.length} samples do not match ${t.pattern}`);
      }
    }
  }
  if (t.enum && source.values.length) {
    const outside = [...new Set(source.values.filter((value) => !t.enum!.includes(value)))];
    if (outside.length === 0) {
      score = Math.min(1, score + 0.1);
      reasons.push("sample values are within the target's enum");
    } else {
      score *= 0.7;
      reasons.push(`values outside the enum: ${outside.slice(0, 3).map(String).join(", ")}`);
    }
  }
  if ((s.nullable || source.nulls > 0) && !t.nullable)
    reasons.push("null left out: the target does not accept null");
  return {
    target,
    source,
    confidence: Math.round(Math.min(1, score) * 100) / 100,
    expression: finish(expression),
    helper,
    reasons,
  };
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

/** Helpers for fields that must be split or joined: names and one-line addresses. */
function helperCandidate(target: TargetLeaf, sources: SourceLeaf[]): Candidate | undefined {
  const concept = concepts(target.node.name).join("");
  const part = NAME_PARTS[concept];
  if (part && target.node.type !== "object") {
    const full = sources.find(
      (source) =>
        source.node.type === "string" &&
        (concepts(source.node.name).join("") === "fullname" ||
          (source.shape === "person-name" && source.shareOfShape >= 0.8)),
    );
    if (full) {
      const ambiguous = full.values.filter((value) => splitName(String(value)).ambiguous).length;
      const reasons = [`${full.path.join(".")} holds full names: split with $splitName`];
      if (ambiguous) reasons.push(`${ambiguous} of ${full.values.length} sample names are ambiguous`);
      return {
        target,
        source: full,
        confidence: ambiguous ? 0.6 : 0.75,
        expression: `$splitName(${pathExpression(full.path)}).${part}`,
        helper: "$splitName",
        reasons,
      };
    }
  }
  if (concept === "fullname" || concept === "name") {
    const given = sources.find((source) => concepts(source.node.name).join("") === "givenname");
    const family = sources.find((source) => concepts(source.node.name).join("") === "familyname");
    if (given && family)
      return {
        target,
        source: given,
        confidence: concept === "name" ? 0.6 : 0.75,
        expression: `$joinName(${pathExpression(given.path)}, ${pathExpression(family.path)})`,
        helper: "$joinName",
        others: [family],
        reasons: [`joined from ${given.path.join(".")} and ${family.path.join(".")}`],
      };
  }
  const addressPart = ADDRESS_PARTS[concept];
  if (addressPart) {
    const oneLine = sources.find(
      (source) =>
        source.node.type === "string" &&
        ((concepts(source.node.name).includes("address") &&
          (source.shape === "address" || source.values.length === 0)) ||
          (source.shape === "address" && source.shareOfShape >= 0.8)),
    );
    if (oneLine)
      return {
        target,
        source: oneLine,
        confidence: oneLine.shape === "address" ? 0.6 : 0.5,
        expression: `$parseAddress(${pathExpression(oneLine.path)}).${addressPart}`,
        helper: "$parseAddress",
        reasons: [`${oneLine.path.join(".")} is a one-line address: parsed with $parseAddress`],
      };
  }
  return undefined;
}

interface ScopeResult {
  fields: FieldSuggestion[];
  unplaced: Unplaced[];
  used: Set<string>;
  /** Rendered object constructor for the scope. */
  lines: string[];
}

/** Match one target object against one source scope (the root, or the items of a source array). */
function mapScope(
  target: FieldNode,
  source: FieldNode,
  samples: Samples,
  threshold: number,
  targetPrefix: string[],
  sourcePrefix: string[],
  indent: string,
): ScopeResult {
  const sources = sourceLeaves(source, samples.source);
  const targets = targetLeaves(target, samples.target);
  const chosen = new Map<string, Candidate>();
  const best = new Map<string, Candidate>();
  const used = new Set<string>();
  const all: Candidate[] = [];
  for (const t of targets) {
    if (t.node.type === "array" && t.node.items?.type === "object") continue;
    for (const s of sources) {
      if (s.node.type === "array" && s.node.items?.type === "object") continue;
      const found = candidate(t, s);
      if (found) all.push(found);
    }
  }
  // Greedy, best first: a source field feeds one target field.
  all.sort((a, b) => b.confidence - a.confidence);
  for (const found of all) {
    const key = found.target.path.join(".");
    const sourceKey = found.source.path.join(".");
    if (!best.has(key)) best.set(key, found);
    if (chosen.has(key) || used.has(sourceKey) || found.confidence < threshold) continue;
    chosen.set(key, found);
    used.add(sourceKey);
  }
  for (const t of targets) {
    const key = t.path.join(".");
    if (chosen.has(key)) continue;
    const helped = helperCandidate(t, sources);
    if (helped && helped.confidence >= threshold) {
      chosen.set(key, helped);
      for (const leaf of [helped.source, ...(helped.others ?? [])]) used.add(leaf.path.join("."));
    }
  }
  const fields: FieldSuggestion[] = [];
  const unplaced: Unplaced[] = [];
  const arrays = new Map<
    string,
    ScopeResult & { expression: string; source: string; confidence: number; reason: string }
  >();
  // Arrays of objects map item by item: "lines": [items.{ ... }].
  for (const t of targets) {
    if (!(t.node.type === "array" && t.node.items?.type === "object")) continue;
    let bestArray: { source: SourceLeaf; score: number; reason: string } | undefined;
    for (const s of sources) {
      if (!(s.node.type === "array" && s.node.items?.type === "object") || used.has(s.path.join(".")))
        continue;
      const { score, reason } = nameScore(t.path, s.path);
      if (score >= threshold && (!bestArray || score > bestArray.score))
        bestArray = { source: s, score, reason };
    }
    if (!bestArray) continue;
    used.add(bestArray.source.path.join("."));
    const items = (list: unknown[], path: string[]) =>
      list.flatMap((sample) => valuesAt([sample], path).flat());
    const inner = mapScope(
      t.node.items!,
      bestArray.source.node.items!,
      { source: items(samples.source, bestArray.source.path), target: items(samples.target, t.path) },
      threshold,
      [...targetPrefix, ...t.path],
      [...sourcePrefix, ...bestArray.source.path],
      `${indent}  `,
    );
    arrays.set(t.path.join("."), {
      ...inner,
      expression: pathExpression(bestArray.source.path),
      source: bestArray.source.path.join("."),
      confidence: Math.round(bestArray.score * 100) / 100,
      reason: bestArray.reason,
    });
    fields.push(...inner.fields);
    unplaced.push(...inner.unplaced);
  }
  const full = (path: string[]) => [...targetPrefix, ...path].join(".");
  const render = (node: FieldNode, path: string[], pad: string): string[] => {
    const lines: string[] = [];
    const children = node.properties ?? [];
    const entries: string[][] = [];
    for (const child of children) {
      const childPath = [...path, child.name];
      const key = childPath.join(".");
      const quoted = JSON.stringify(child.name);
      const found = chosen.get(key);
      const array = arrays.get(key);
      if (found) {
        entries.push([
          `${pad}  /* ${found.confidence.toFixed(2)} <- ${comment([[...sourcePrefix, ...found.source.path].join(".")])}: ${comment(found.reasons)} */`,
          `${pad}  ${quoted}: ${found.expression}`,
        ]);
      } else if (array) {
        entries.push([
          `${pad}  /* ${array.confidence.toFixed(2)} <- ${comment([[...sourcePrefix, array.source].join(".")])}[]: ${comment([array.reason])} */`,
          `${pad}  ${quoted}: [${array.expression}.${array.lines.join("\n").trimStart()}]`,
        ]);
      } else if (child.type === "object" && child.properties) {
        const inner = render(child, childPath, `${pad}  `);
        if (inner.some((line) => !line.trimStart().startsWith("/*") && line.includes(":")))
          entries.push([`${pad}  ${quoted}: ${inner.join("\n").trimStart()}`]);
        else entries.push(inner.filter((line) => line.trimStart().startsWith("/* unplaced")));
      } else {
        entries.push([
          `${pad}  /* unplaced: ${comment([full(childPath)])} (${child.type}${child.required ? ", required" : ""}) */`,
        ]);
      }
    }
    lines.push(`${pad}{`);
    // Commas go after each value line except the last one that has a value.
    const valueIndexes = entries
      .map((entry, index) => (entry.some((line) => !line.trimStart().startsWith("/*")) ? index : -1))
      .filter((index) => index >= 0);
    const lastValue = valueIndexes[valueIndexes.length - 1];
    entries.forEach((entry, index) => {
      const copy = [...entry];
      if (valueIndexes.includes(index) && index !== lastValue) copy[copy.length - 1] += ",";
      lines.push(...copy);
    });
    lines.push(`${pad}}`);
    return lines;
  };
  for (const t of targets) {
    const key = t.path.join(".");
    const found = chosen.get(key);
    if (found)
      fields.push({
        target: full(t.path),
        sources: [found.source, ...(found.others ?? [])].map((leaf) =>
          [...sourcePrefix, ...leaf.path].join("."),
        ),
        expression: found.expression,
        confidence: found.confidence,
        ...(found.helper ? { helper: found.helper } : {}),
        reasons: found.reasons,
      });
    else if (!arrays.has(key)) {
      const guess = best.get(key);
      unplaced.push({
        target: full(t.path),
        type: t.node.type,
        required: t.node.required,
        ...(guess
          ? {
              bestGuess: {
                source: [...sourcePrefix, ...guess.source.path].join("."),
                confidence: guess.confidence,
              },
            }
          : {}),
      });
    }
  }
  return { fields, unplaced, used, lines: render(target, [], indent) };
}

/** Text safe inside a JSONata comment, whatever the field names hold. */
function comment(parts: string[]): string {
  return parts.join("; ").replace(/\*\//g, "* /").replace(/\n/g, " ");
}

/** Draft a JSONata mapping from `source` to `target` (see the module comment). */
export function suggestMapping(
  source: FieldNode,
  target: FieldNode,
  samples: unknown[] = [],
  options: SuggestOptions = {},
): MappingSuggestion {
  const threshold = options.threshold ?? 0.5;
  const result = mapScope(
    target,
    source,
    { source: samples, target: options.targetSamples ?? [] },
    threshold,
    [],
    [],
    "",
  );
  const unusedSources = sourceLeaves(source, [])
    .map((leaf) => leaf.path.join("."))
    .filter((path) => !result.used.has(path));
  const header = [
    `/* Drafted by junction map-suggest${options.fromName ? ` from ${comment([options.fromName])}` : ""}${
      options.toName ? ` to ${comment([options.toName])}` : ""
    }: review every field.`,
    `   ${result.fields.length} placed, ${result.unplaced.length} unplaced${
      unusedSources.length ? `; source fields not used: ${comment([unusedSources.join(", ")])}` : ""
    }. */`,
  ];
  return {
    jsonata: `${[...header, ...result.lines].join("\n")}\n`,
    fields: result.fields,
    unplaced: result.unplaced,
    unusedSources,
  };
}
