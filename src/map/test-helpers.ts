import { fileURLToPath } from "node:url";
import { builtinRegistry } from "../builtins.js";
import { formatIssue } from "../config/issues.js";
import { loadYaml, parseYaml } from "../config/load.js";
import type { IntegrationModel } from "../config/model.js";

export const EXAMPLES = fileURLToPath(new URL("../../examples/map-analysis/", import.meta.url));

const registry = builtinRegistry();
const loaded = new Map<string, IntegrationModel>();

/**
 * Load an example configuration with its defaults (no environment), failing loudly if it is
 * invalid. Loaded once per test file: tests must not change the model.
 */
export function example(name: string): IntegrationModel {
  const known = loaded.get(name);
  if (known) return known;
  const { model, issues } = loadYaml(`${EXAMPLES}${name}`, registry, {});
  if (!model) throw new Error(`${name} is invalid:\n${issues.map(formatIssue).join("\n")}`);
  loaded.set(name, model);
  return model;
}

/** A model from YAML text (routes, systems...), for small cases. */
export function modelOf(yaml: string): IntegrationModel {
  const { model, issues } = parseYaml(yaml, "/tmp/junction-map-test.yaml", registry, {});
  if (!model) throw new Error(`invalid test config:\n${issues.map(formatIssue).join("\n")}`);
  return model;
}
