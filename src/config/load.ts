import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError } from "../api/errors.js";
import { interpolate } from "./interpolate.js";
import { type ConfigIssue, formatIssue } from "./issues.js";
import { buildModel, type IntegrationModel } from "./model.js";
import type { Registry } from "./registry.js";
import { type Locate, validateConfig } from "./validate.js";

export class ConfigErrors extends ConfigError {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `${issues.length} problem${issues.length === 1 ? "" : "s"} in the configuration:\n${issues.map(formatIssue).join("\n")}`,
    );
  }
}

export interface LoadResult {
  model?: IntegrationModel;
  issues: ConfigIssue[];
}

/** Read a YAML file, interpolate the environment, validate, and build the model. Never throws for bad input. */
export function loadYaml(file: string, registry: Registry, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return {
      issues: [{ file, path: "", message: `cannot read the configuration: ${(error as Error).message}` }],
    };
  }
  return parseYaml(text, file, registry, env);
}

export function parseYaml(
  text: string,
  file: string,
  registry: Registry,
  env: NodeJS.ProcessEnv,
): LoadResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const error of [...document.errors, ...document.warnings]) {
    const position = lineCounter.linePos(error.pos[0]);
    issues.push({
      file,
      line: position.line,
      column: position.col,
      path: "",
      message: error.message.split("\n")[0],
    });
  }
  if (document.errors.length > 0) return { issues };
  const locate: Locate = (path, key) => {
    const node = nodeAt(document.contents as Node | null, path, key);
    if (!node?.range) return undefined;
    const position = lineCounter.linePos(node.range[0]);
    return { line: position.line, column: position.col };
  };
  const raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  const interpolated = interpolate(raw, env);
  for (const issue of interpolated.issues) {
    const position = locate(issue.path);
    issues.push({
      file,
      ...(position ? { line: position.line, column: position.column } : {}),
      path: issue.path.join("."),
      message: issue.message,
    });
  }
  const configDir = dirname(resolve(file));
  const result = validateConfig(interpolated.value, { registry, configDir, locate, file });
  issues.push(...result.issues);
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (issues.length > 0) return { issues };
  return { model: buildModel(interpolated.value, configDir, file), issues };
}

/** The deepest YAML node on the path (the key node itself when `key` is set and the last step is a key). */
function nodeAt(root: Node | null, path: (string | number)[], key?: boolean): Node | undefined {
  let node: Node | null | undefined = root;
  let last: Node | undefined = root ?? undefined;
  for (let index = 0; index < path.length; index++) {
    const segment = path[index];
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return last;
      if (key && index === path.length - 1) return pair.key as Node;
      node = pair.value as Node | null;
      if (node) last = node;
      else return pair.key as Node;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment] as Node | null;
      if (node) last = node;
      else return last;
    } else return last;
  }
  return last;
}

/**
 * A CommonJS module's exports arrive as the default of its namespace: `export default x` compiled
 * to CommonJS is `{ default: x }`, `export const integration = x` is `{ integration: x }`.
 */
function fromCommonJs(exports: any): unknown {
  if (
    !exports ||
    typeof exports !== "object" ||
    typeof exports.toConfig === "function" ||
    "routes" in exports
  )
    return undefined;
  return exports.default ?? exports.integration;
}

/** Once per process: each `register()` adds another hook chain that every later import goes through. */
let typeScriptHooks: Promise<void> | undefined;
function registerTypeScriptHooks(): Promise<void> {
  typeScriptHooks ??= (async () => {
    (await import("tsx/esm/api")).register();
    (await import("tsx/cjs/api")).register();
  })();
  return typeScriptHooks;
}

/** Load a TypeScript or JavaScript module exporting `defineIntegration(...)` as its default. */
export async function loadModule(
  file: string,
  registry: Registry,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadResult> {
  const absolute = resolve(file);
  const url = pathToFileURL(absolute).href;
  let exported: any;
  try {
    // tsx's ESM and CommonJS hooks both: a .ts file outside a `"type": "module"` package (a
    // junction.ts in a plain npm project) compiles to CommonJS, and its `require("junction")` must
    // find the engine already loaded (tsImport's own require loaded a second copy of its packages).
    if ([".ts", ".mts", ".cts"].includes(extname(absolute))) await registerTypeScriptHooks();
    const module = await import(url);
    exported = fromCommonJs(module.default) ?? module.default ?? module.integration;
  } catch (error) {
    return { issues: [{ file, path: "", message: `cannot load the module: ${(error as Error).message}` }] };
  }
  const raw = typeof exported?.toConfig === "function" ? exported.toConfig() : exported;
  if (!raw || typeof raw !== "object") {
    return {
      issues: [{ file, path: "", message: "the module must export default defineIntegration({...})" }],
    };
  }
  const interpolated = interpolate(raw, env);
  const configDir = dirname(absolute);
  const issues: ConfigIssue[] = interpolated.issues.map((issue) => ({
    file,
    path: issue.path.join("."),
    message: issue.message,
  }));
  issues.push(...validateConfig(interpolated.value, { registry, configDir, file }).issues);
  if (issues.length > 0) return { issues };
  return { model: buildModel(interpolated.value, configDir, file), issues };
}

export function loadConfig(
  file: string,
  registry: Registry,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadResult> {
  return /\.(ya?ml)$/i.test(file)
    ? Promise.resolve(loadYaml(file, registry, env))
    : loadModule(file, registry, env);
}
