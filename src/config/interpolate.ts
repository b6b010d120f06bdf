/**
 * Environment interpolation in string values, after YAML parsing, so a variable can never change
 * the document's structure: `${VAR}`, `${VAR:-default}`, `${VAR:?message}`; `$${` escapes.
 */
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?|-|\?)([^}]*))?\}/g;

export interface Interpolated {
  value: unknown;
  issues: { path: (string | number)[]; message: string }[];
  /** Resolved values of variables referenced by secret fields are never printed; we track all of them. */
  variables: Set<string>;
}

export function interpolate(value: unknown, env: NodeJS.ProcessEnv): Interpolated {
  const issues: Interpolated["issues"] = [];
  const variables = new Set<string>();
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === "string") return interpolateString(node, env, path, issues, variables);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key] = walk(child, [...path, key]);
      return out;
    }
    return node;
  };
  return { value: walk(value, []), issues, variables };
}

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: (string | number)[],
  issues: Interpolated["issues"],
  variables: Set<string>,
): string {
  if (!text.includes("${")) return text;
  return text.replace(
    PATTERN,
    (match, name: string | undefined, operator: string | undefined, argument = "") => {
      if (match === "$${") return "${";
      if (!name) return match;
      variables.add(name);
      const value = env[name];
      const unset = value === undefined;
      const empty = unset || value === "";
      switch (operator) {
        case ":-":
          return empty ? argument : (value as string);
        case "-":
          return unset ? argument : (value as string);
        case ":?":
        case "?":
          if (operator === ":?" ? empty : unset) {
            issues.push({
              path,
              message: `environment variable ${name} is required: ${argument || "not set"}`,
            });
            return "";
          }
          return value as string;
        default:
          if (unset) {
            issues.push({
              path,
              message: `environment variable ${name} is not set (use \${${name}:-default} to give a default)`,
            });
            return "";
          }
          return value as string;
      }
    },
  );
}
