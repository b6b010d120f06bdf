import { MappingError } from "../api/errors.js";

/**
 * Absent, null and empty are three different facts: a field that is absent says nothing, `null` says
 * "known to be empty" (and clears the target in a PATCH), "" / [] / {} are values some systems use for
 * either. A policy makes the choice explicit per field or for a whole object.
 *
 * - "keep": no change.
 * - "omit": null and empty become absent (the field is left out).
 * - "omit-null": null becomes absent; empty values are kept.
 * - "null": absent and empty become null.
 * - "empty": absent and null become "" (for targets that reject null in text fields).
 */
export type NullPolicy = "keep" | "omit" | "omit-null" | "null" | "empty";

const POLICIES: ReadonlySet<string> = new Set(["keep", "omit", "omit-null", "null", "empty"]);

export interface NullPolicyOptions {
  /** Count whitespace-only strings as empty (default false: "  " is a value). */
  blankIsEmpty?: boolean;
}

/** "" , [], {} (and "  " with `blankIsEmpty`). Null and absent are not empty: they are null and absent. */
export function isEmpty(value: unknown, options: NullPolicyOptions = {}): boolean {
  if (typeof value === "string") return options.blankIsEmpty ? value.trim() === "" : value === "";
  if (Array.isArray(value)) return value.length === 0;
  if (value !== null && typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** Apply a policy to one value; `undefined` means absent (JSONata leaves such a field out). */
export function applyNullPolicy(
  value: unknown,
  policy: NullPolicy,
  options: NullPolicyOptions = {},
): unknown {
  if (!POLICIES.has(policy))
    throw new MappingError(`unknown null policy "${policy}": use one of ${[...POLICIES].join(", ")}`, {
      code: "JUNCTION_MAPPING_NULL_POLICY",
    });
  const empty = isEmpty(value, options);
  switch (policy) {
    case "keep":
      return value;
    case "omit":
      return value === null || empty ? undefined : value;
    case "omit-null":
      return value === null ? undefined : value;
    case "null":
      return value === undefined || empty ? null : value;
    case "empty":
      return value === undefined || value === null ? "" : value;
  }
}

/**
 * Apply a policy to every field of an object, recursively (arrays element by element). A field whose
 * result is absent is removed. Fields listed in `except` are left as they are.
 */
export function applyNullPolicyDeep(
  value: unknown,
  policy: NullPolicy,
  options: NullPolicyOptions & { except?: string[] } = {},
): unknown {
  const except = new Set(options.except ?? []);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node))
      return node
        .map((item) => applyNullPolicy(walk(item), policy, options))
        .filter((item) => item !== undefined);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const result = except.has(key) ? child : applyNullPolicy(walk(child), policy, options);
      if (result !== undefined) out[key] = result;
    }
    return out;
  };
  return walk(value);
}

/**
 * Remove null, "", [] and {} fields recursively, including objects and arrays that become empty once
 * cleaned. `keepNull` keeps explicit nulls (for PATCH semantics).
 */
export function omitEmpty(value: unknown, options: NullPolicyOptions & { keepNull?: boolean } = {}): unknown {
  const drop = (node: unknown) =>
    node === undefined || (node === null && !options.keepNull) || isEmpty(node, options);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk).filter((item) => !drop(item));
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const cleaned = walk(child);
      if (!drop(cleaned)) out[key] = cleaned;
    }
    return out;
  };
  return walk(value);
}
