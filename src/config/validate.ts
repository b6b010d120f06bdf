import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import jsonata from "jsonata";
import { type TSchema, Type } from "typebox";
import { type SchemaDeclaration, schemaTypeOf } from "../registry/declared.js";
import { canonicalSchema } from "../registry/registry.js";
import { type ConfigIssue, formatPath, nearest } from "./issues.js";
import type { Registry, SlotKind } from "./registry.js";
import { ConnectionExtras, ROUTE_CHANNEL_KEY, rootSchema } from "./root-schema.js";
import { VALUE_FORMATS } from "./value-formats.js";

type Path = (string | number)[];

/** Finds where a path sits in the source text; the YAML loader supplies one, the DSL none. */
export type Locate = (path: Path, key?: boolean) => { line: number; column: number } | undefined;

interface ValidationContext {
  registry: Registry;
  configDir: string;
  issues: ConfigIssue[];
  locate: Locate;
  file?: string;
}

// verbose: errors carry the offending value, so a `format` error can say what is wrong with it.
// optimize: false: each validator runs once per start, so ajv's code optimisation passes (a third of
// the compile time) cost more than they save.
const ajv = new Ajv2020({
  allErrors: true,
  strict: false,
  useDefaults: false,
  verbose: true,
  code: { optimize: false },
});
for (const [name, check] of Object.entries(VALUE_FORMATS)) {
  ajv.addFormat(name, { type: "string", validate: (value: string) => check?.(value) === undefined });
}
const compiled = new WeakMap<TSchema, ValidateFunction>();

/**
 * The root shape split in two, so a start compiles only what its config has: the root object with
 * each section accepted as anything (type, required and unknown top-level keys), and each section's
 * own schema, compiled when a config first has that section.
 */
interface Shape {
  root: TSchema;
  sections: [string, TSchema][];
}
const shapes = new WeakMap<Registry, Shape>();

function shapeOf(registry: Registry): Shape {
  let shape = shapes.get(registry);
  if (!shape) {
    const full = rootSchema(registry, "shape");
    const properties = ((full as { properties?: Record<string, TSchema> }).properties ?? {}) as Record<
      string,
      TSchema
    >;
    shape = {
      root: { ...full, properties: Object.fromEntries(Object.keys(properties).map((key) => [key, {}])) },
      sections: Object.entries(properties),
    };
    shapes.set(registry, shape);
  }
  return shape;
}

/** ajv's errors for the whole shape, in the order one validator of the whole shape gives them. */
function checkShape(ctx: ValidationContext, raw: unknown): void {
  const shape = shapeOf(ctx.registry);
  const validateRoot = validator(shape.root);
  if (!validateRoot(raw)) reportSchemaErrors(ctx, [], validateRoot.errors ?? [], shape.root);
  if (!isObject(raw)) return;
  for (const [key, schema] of shape.sections) {
    // As ajv's `properties`: a section that is undefined is absent.
    if (raw[key] === undefined) continue;
    const validateSection = validator(schema);
    if (!validateSection(raw[key])) reportSchemaErrors(ctx, [key], validateSection.errors ?? [], schema);
  }
}
const connectionExtrasSchema = Type.Object(
  Object.fromEntries(Object.entries(ConnectionExtras).map(([key, schema]) => [key, Type.Optional(schema)])),
  { additionalProperties: true },
);

function validator(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function report(ctx: ValidationContext, path: Path, message: string, key = false): void {
  const position = ctx.locate(path, key);
  ctx.issues.push({
    ...(ctx.file ? { file: ctx.file } : {}),
    ...(position ? { line: position.line, column: position.column } : {}),
    path: formatPath(path),
    message,
  });
}

/** Turn ajv's errors into one readable issue each, located at the offending node. */
function reportSchemaErrors(
  ctx: ValidationContext,
  base: Path,
  errors: ErrorObject[],
  schema: TSchema,
): void {
  const seen = new Set<string>();
  for (const error of readableErrors(errors, schema)) {
    const path = [...base, ...pointerToPath(error.instancePath)];
    let message: string;
    let atKey = false;
    switch (error.keyword) {
      case "additionalProperties": {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        const parent = subschemaAt(schema, error.schemaPath.replace(/\/additionalProperties$/, "")) as any;
        const allowed = Object.keys(parent?.properties ?? {});
        const suggestion = nearest(extra, allowed);
        path.push(extra);
        atKey = true;
        message = `unknown property "${extra}"${suggestion ? ` (did you mean "${suggestion}"?)` : allowed.length ? ` (expected one of: ${allowed.join(", ")})` : ""}`;
        break;
      }
      case "format": {
        const check: ((value: string) => string | undefined) | undefined =
          VALUE_FORMATS[(error.params as { format: string }).format];
        message =
          (check && typeof error.data === "string" ? check(error.data) : undefined) ??
          `must be a ${(error.params as { format: string }).format}`;
        break;
      }
      case "required":
        message = `missing required property "${(error.params as { missingProperty: string }).missingProperty}"`;
        break;
      case "enum":
        message = `must be one of: ${(error.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
        break;
      case "const":
        message = `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      case "pattern": {
        const sub = subschemaAt(schema, error.schemaPath.replace(/\/pattern$/, "")) as any;
        const hint = sub?.["x-format"]
          ? ` (a ${sub["x-format"]}, e.g. ${sub.examples?.slice(0, 3).join(", ")})`
          : "";
        message = `must match ${error.params.pattern}${hint}`;
        break;
      }
      case "anyOf": {
        const sub = subschemaAt(schema, error.schemaPath) as any;
        const keys = keyedUnionKeys(sub);
        const alternatives = requiredAlternatives(sub);
        if (keys) {
          message = `names one of: ${keys.join(", ")} (as a key: { ${keys[0]}: {} })`;
          break;
        }
        if (alternatives) {
          message = `needs one of: ${alternatives.join(", ")}`;
          break;
        }
        const literals = (sub ?? []).map((s: any) => s.const).filter((v: unknown) => v !== undefined);
        message = literals.length
          ? `must be one of: ${literals.join(", ")}`
          : "does not match any allowed form";
        break;
      }
      default:
        message = error.message ?? "is invalid";
    }
    const id = `${formatPath(path)}|${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    // anyOf over literals also reports each `const` branch; the anyOf line says it all.
    if (
      error.keyword === "const" &&
      errors.some((e) => e.keyword === "anyOf" && e.instancePath === error.instancePath)
    )
      continue;
    report(ctx, path, message, atKey);
  }
}

/** The keys of a union whose branches are objects of exactly one property (`format: { csv: {} }`). */
function keyedUnionKeys(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const keys: string[] = [];
  for (const branch of branches as any[]) {
    const names = Object.keys(branch?.properties ?? {});
    if (names.length !== 1 || branch.required?.[0] !== names[0]) return undefined;
    keys.push(names[0]);
  }
  return keys;
}

/** `anyOf: [{ required: [a] }, { required: [b] }]`: one of these properties must be given. */
function requiredAlternatives(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const names = (branches as any[]).map((branch) =>
    Object.keys(branch ?? {}).length === 1 && branch.required?.length === 1 ? branch.required[0] : undefined,
  );
  return names.every((name) => typeof name === "string") ? names : undefined;
}

/**
 * ajv reports every branch of a failed union. For a keyed union, keep only the branch whose key
 * the value has (its real problems), or else only the union's own "names one of" line; for
 * required-alternatives, only the union's line.
 */
function readableErrors(errors: ErrorObject[], schema: TSchema): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const union of errors) {
    if (union.keyword !== "anyOf") continue;
    const branches = subschemaAt(schema, union.schemaPath) as any;
    const keys = keyedUnionKeys(branches);
    const inside = (error: ErrorObject, index?: number) =>
      error !== union &&
      error.schemaPath.startsWith(`${union.schemaPath}/${index ?? ""}`) &&
      error.instancePath.startsWith(union.instancePath);
    if (keys) {
      const present = keys.findIndex(
        (key, index) =>
          !errors.some(
            (error) =>
              inside(error, index) &&
              error.instancePath === union.instancePath &&
              (error.keyword === "type" ||
                (error.keyword === "required" &&
                  (error.params as { missingProperty: string }).missingProperty === key)),
          ),
      );
      for (const error of errors) {
        if (!inside(error)) continue;
        const ownBranch = present >= 0 && error.schemaPath.startsWith(`${union.schemaPath}/${present}/`);
        if (!ownBranch) drop.add(error);
      }
      if (present >= 0) drop.add(union);
    } else if (requiredAlternatives(branches)) {
      for (const error of errors) if (inside(error)) drop.add(error);
    } else if (Array.isArray(branches)) {
      // Alternatives by type (an integer, or a template): the value's own type picks the branch
      // whose complaint is worth reading; the rest, and "does not match any allowed form", go.
      const typeMismatch = (index: number) =>
        errors.some(
          (error) =>
            error.schemaPath.startsWith(`${union.schemaPath}/${index}/`) &&
            error.keyword === "type" &&
            error.instancePath === union.instancePath,
        );
      const fitting = branches.map((_, index) => index).filter((index) => !typeMismatch(index));
      if (fitting.length === 1) {
        drop.add(union);
        for (const error of errors) {
          if (inside(error) && !error.schemaPath.startsWith(`${union.schemaPath}/${fitting[0]}/`))
            drop.add(error);
        }
      }
    }
  }
  return errors.filter((error) => !drop.has(error));
}

function pointerToPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function subschemaAt(schema: unknown, schemaPath: string): unknown {
  let node: any = schema;
  for (const part of schemaPath.replace(/^#\/?/, "").split("/").filter(Boolean)) {
    if (node === undefined) return undefined;
    node = node[decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Check one slot: exactly one component key (plus allowed extras), a known component, a valid body.
 * Returns the component name when the slot is sound enough to look inside.
 */
function checkSlot(
  ctx: ValidationContext,
  kind: SlotKind,
  value: unknown,
  path: Path,
  extras: string[] = [],
): string | undefined {
  const options = ctx.registry.options(kind);
  const names = options.map((option) => option.name);
  const allowChannel = kind === "source" || kind === "sink";
  if (allowChannel) names.push(ROUTE_CHANNEL_KEY);
  if (kind === "step" && typeof value === "function") return undefined; // a TypeScript step (DSL)
  if (!isObject(value)) {
    report(ctx, path, `must be an object with one ${kind} component key (one of: ${names.join(", ")})`);
    return undefined;
  }
  const keys = Object.keys(value).filter((key) => !extras.includes(key));
  if (keys.length !== 1) {
    report(
      ctx,
      path,
      keys.length === 0
        ? `names no ${kind} component (one of: ${names.join(", ")})`
        : `names ${keys.length} components (${keys.join(", ")}); a ${kind} names exactly one`,
    );
    return undefined;
  }
  const name = keys[0];
  if (allowChannel && name === ROUTE_CHANNEL_KEY) {
    if (typeof value[name] !== "string" || value[name] === "") {
      report(ctx, [...path, name], "must be the name of a channel declared under channels:");
      return undefined;
    }
    return name;
  }
  const option = options.find((candidate) => candidate.name === name);
  if (!option) {
    const suggestion = nearest(name, names);
    report(
      ctx,
      [...path, name],
      `unknown ${kind} component "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; known: ${names.join(", ")}`,
      true,
    );
    return undefined;
  }
  // Steps given as TypeScript functions (DSL) carry no config to check.
  if (typeof value[name] === "function") return name;
  const validate = validator(option.schema);
  if (!validate(value[name])) reportSchemaErrors(ctx, [...path, name], validate.errors ?? [], option.schema);
  return name;
}

export interface ValidationResult {
  issues: ConfigIssue[];
}

/** Validate a raw configuration object (from YAML or the TypeScript DSL). */
export function validateConfig(
  raw: unknown,
  options: { registry: Registry; configDir: string; locate?: Locate; file?: string },
): ValidationResult {
  const ctx: ValidationContext = {
    registry: options.registry,
    configDir: options.configDir,
    issues: [],
    locate: options.locate ?? (() => undefined),
    ...(options.file ? { file: options.file } : {}),
  };
  checkShape(ctx, raw);
  if (!isObject(raw)) return { issues: ctx.issues };

  const connections = isObject(raw.connections) ? raw.connections : {};
  const channels = isObject(raw.channels) ? raw.channels : {};
  const policies = isObject(raw.policies) ? raw.policies : {};
  const systems = isObject(raw.systems) ? raw.systems : {};
  const routes = isObject(raw.routes) ? raw.routes : {};

  const checkSystem = (value: unknown, path: Path) => {
    if (typeof value === "string" && Object.keys(systems).length > 0 && !(value in systems)) {
      const suggestion = nearest(value, Object.keys(systems));
      report(
        ctx,
        path,
        `system "${value}" is not declared under systems:${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      );
    }
  };

  for (const [name, channel] of Object.entries(channels)) {
    if (!isObject(channel)) continue;
    for (const kind of ["queue", "topic"]) {
      const options = channel[kind];
      if (isObject(options) && typeof options.partitionBy === "string") {
        checkExpression(ctx, options.partitionBy, ["channels", name, kind, "partitionBy"]);
      }
    }
  }

  for (const [name, connection] of Object.entries(connections)) {
    checkSlot(ctx, "connection", connection, ["connections", name], Object.keys(ConnectionExtras));
    if (isObject(connection)) {
      checkSystem(connection.system, ["connections", name, "system"]);
      const extras = Object.fromEntries(
        Object.entries(connection).filter(([key]) => key in ConnectionExtras),
      );
      const validateExtras = validator(connectionExtrasSchema);
      if (!validateExtras(extras)) {
        reportSchemaErrors(ctx, ["connections", name], validateExtras.errors ?? [], connectionExtrasSchema);
      }
    }
  }

  const checkReference = (kind: "channel" | "connection" | "policy", value: unknown, path: Path) => {
    const table = kind === "channel" ? channels : kind === "connection" ? connections : policies;
    if (typeof value !== "string" || value in table) return;
    const suggestion = nearest(value, Object.keys(table));
    report(
      ctx,
      path,
      `${kind} "${value}" is not declared under ${kind === "policy" ? "policies" : `${kind}s`}:${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
    );
  };

  /** Walk a component body for `connection:` references and nested slots. */
  const checkComponent = (kind: SlotKind, slotValue: Record<string, unknown>, name: string, path: Path) => {
    const body = slotValue[name];
    if (name === ROUTE_CHANNEL_KEY) {
      checkReference("channel", body, [...path, name]);
      return;
    }
    if (!isObject(body)) return;
    if ("connection" in body) checkReference("connection", body.connection, [...path, name, "connection"]);
    if ("system" in body) checkSystem(body.system, [...path, name, "system"]);
    if (kind === "step") {
      const step = ctx.registry.steps.get(name);
      for (const nested of step?.slots?.(body) ?? []) {
        const nestedPath = [...path, name, ...nested.path];
        const nestedName = checkSlot(ctx, nested.kind, nested.value, nestedPath);
        if (nestedName)
          checkComponent(nested.kind, nested.value as Record<string, unknown>, nestedName, nestedPath);
      }
      for (const expression of step?.expressions?.(body) ?? []) {
        checkExpression(ctx, expression.expression, [...path, name, ...expression.path]);
      }
      for (const file of step?.files?.(body) ?? []) {
        if (!existsSync(resolve(ctx.configDir, file.file))) {
          report(
            ctx,
            [...path, name, ...file.path],
            `file not found: ${file.file} (relative to ${ctx.configDir})`,
          );
        }
      }
    }
  };

  const feeds = new Map<string, Set<string>>(); // route -> channels it writes
  const reads = new Map<string, string>(); // route -> channel it reads
  for (const [routeName, route] of Object.entries(routes)) {
    if (!isObject(route)) continue;
    const base: Path = ["routes", routeName];
    const fromName = checkSlot(ctx, "source", route.from, [...base, "from"]);
    if (fromName) {
      checkComponent("source", route.from as Record<string, unknown>, fromName, [...base, "from"]);
      if (fromName === ROUTE_CHANNEL_KEY)
        reads.set(routeName, (route.from as Record<string, string>).channel);
    }
    const written = new Set<string>();
    const collectSinks = (value: unknown, path: Path) => {
      const sinkName = checkSlot(ctx, "sink", value, path);
      if (!sinkName) return;
      checkComponent("sink", value as Record<string, unknown>, sinkName, path);
      if (sinkName === ROUTE_CHANNEL_KEY) written.add((value as Record<string, string>).channel);
    };
    if (Array.isArray(route.to)) {
      route.to.forEach((target, index) => {
        collectSinks(target, [...base, "to", index]);
      });
    }
    if (Array.isArray(route.steps)) {
      route.steps.forEach((step, index) => {
        const path = [...base, "steps", index];
        const stepName = checkSlot(ctx, "step", step, path);
        if (!stepName) return;
        checkComponent("step", step as Record<string, unknown>, stepName, path);
        // A router's targets feed channels too.
        const definition = ctx.registry.steps.get(stepName);
        const body = (step as Record<string, unknown>)[stepName];
        for (const nested of definition?.slots?.(body) ?? []) {
          if (nested.kind === "sink" && isObject(nested.value) && typeof nested.value.channel === "string") {
            written.add(nested.value.channel);
          }
        }
      });
    }
    feeds.set(routeName, written);
    if (route.policy !== undefined) checkReference("policy", route.policy, [...base, "policy"]);
  }

  checkSchemas(ctx, raw, routes, checkSystem);
  reportCycles(ctx, feeds, reads);
  checkAlerts(ctx, raw.alerts, { routes, channels, connections, systems }, (value, path) => {
    const sinkName = checkSlot(ctx, "sink", value, path);
    if (sinkName) checkComponent("sink", value as Record<string, unknown>, sinkName, path);
  });
  checkEngine(ctx, raw.engine);
  return { issues: ctx.issues };
}

/**
 * Schema registry references: declared schema files exist, and every subject a validate step, a
 * route's `canonical:` or a model names is declared under `schemas:` (a model name also works for canonical).
 */
function checkSchemas(
  ctx: ValidationContext,
  raw: Record<string, unknown>,
  routes: Record<string, unknown>,
  checkSystem: (value: unknown, path: Path) => void,
): void {
  const schemas = isObject(raw.schemas) ? raw.schemas : {};
  const models = isObject(raw.models) ? raw.models : {};
  const checkFile = (file: unknown, path: Path) => {
    if (typeof file === "string" && !existsSync(resolve(ctx.configDir, file)))
      report(ctx, path, `file not found: ${file} (relative to ${ctx.configDir})`);
  };
  const checkSubject = (reference: unknown, path: Path, allowModel = false) => {
    if (typeof reference !== "string") return;
    const subject = reference.replace(/@[^@]*$/, "");
    if (subject in schemas || (allowModel && reference in models)) return;
    const known = [...Object.keys(schemas), ...(allowModel ? Object.keys(models) : [])];
    const suggestion = nearest(subject, known);
    report(
      ctx,
      path,
      `subject "${subject}" is not declared under schemas:${allowModel ? " (nor a model under models:)" : ""}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
    );
  };
  for (const [subject, declaration] of Object.entries(schemas)) {
    if (!isObject(declaration) || typeof declaration.file !== "string") continue;
    const path: Path = ["schemas", subject, "file"];
    const file = resolve(ctx.configDir, declaration.file);
    if (!existsSync(file)) {
      checkFile(declaration.file, path);
      continue;
    }
    // A schema that does not parse would stop the start: say so now, at its declaration.
    const type = schemaTypeOf(declaration as SchemaDeclaration);
    try {
      canonicalSchema(type, readFileSync(file, "utf8"));
    } catch (error) {
      report(ctx, path, `${declaration.file}: ${(error as Error).message}`);
    }
  }
  for (const [name, model] of Object.entries(models)) {
    if (!isObject(model)) continue;
    checkSubject(model.schema, ["models", name, "schema"]);
    if (!isObject(model.systems)) continue;
    for (const [system, mappings] of Object.entries(model.systems)) {
      checkSystem(system, ["models", name, "systems", system]);
      if (!isObject(mappings)) continue;
      checkFile(mappings.to, ["models", name, "systems", system, "to"]);
      checkFile(mappings.from, ["models", name, "systems", system, "from"]);
    }
  }
  for (const [routeName, route] of Object.entries(routes)) {
    if (!isObject(route)) continue;
    checkSubject(route.canonical, ["routes", routeName, "canonical"], true);
    if (!Array.isArray(route.steps)) continue;
    route.steps.forEach((step, index) => {
      if (!isObject(step) || !isObject(step.validate)) return;
      const body = step.validate;
      const path: Path = ["routes", routeName, "steps", index, "validate"];
      if ((body.schema === undefined) === (body.subject === undefined))
        report(
          ctx,
          path,
          "give either schema (a JSON Schema file) or subject (a registered schema), not both",
        );
      checkSubject(body.subject, [...path, "subject"]);
    });
  }
}

/** An alert's condition must name routes, channels, connections and systems that exist. */
function checkAlerts(
  ctx: ValidationContext,
  alerts: unknown,
  tables: Record<"routes" | "channels" | "connections" | "systems", Record<string, unknown>>,
  checkSink: (value: unknown, path: Path) => void,
): void {
  if (!isObject(alerts)) return;
  const fields = {
    route: "routes",
    channel: "channels",
    connection: "connections",
    system: "systems",
  } as const;
  for (const [name, alert] of Object.entries(alerts)) {
    if (!isObject(alert)) continue;
    if (Array.isArray(alert.notify)) {
      alert.notify.forEach((target, index) => {
        checkSink(target, ["alerts", name, "notify", index]);
      });
    }
    if (!isObject(alert.when)) continue;
    for (const [kind, condition] of Object.entries(alert.when)) {
      if (!isObject(condition)) continue;
      for (const [field, table] of Object.entries(fields)) {
        const value = condition[field];
        if (typeof value !== "string" || value in tables[table]) continue;
        const suggestion = nearest(value, Object.keys(tables[table]));
        report(
          ctx,
          ["alerts", name, "when", kind, field],
          `${field} "${value}" is not declared under ${table}:${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
        );
      }
    }
  }
}

/** Compile (never run) an expression so a syntax error is a config error with its position. */
function checkExpression(ctx: ValidationContext, expression: unknown, path: Path): void {
  if (typeof expression !== "string") return;
  try {
    jsonata(expression);
  } catch (error) {
    const { message, position } = error as { message: string; position?: number };
    report(
      ctx,
      path,
      `invalid JSONata expression${position !== undefined ? ` at position ${position}` : ""}: ${message}`,
    );
  }
}

/** Routes that feed each other through channels in a loop would pass messages around for ever. */
function reportCycles(
  ctx: ValidationContext,
  feeds: Map<string, Set<string>>,
  reads: Map<string, string>,
): void {
  const readersOf = new Map<string, string[]>();
  for (const [route, channel] of reads) readersOf.set(channel, [...(readersOf.get(channel) ?? []), route]);
  const next = (route: string) =>
    [...(feeds.get(route) ?? [])].flatMap((channel) => readersOf.get(channel) ?? []);
  const state = new Map<string, "visiting" | "done">();
  const reported = new Set<string>();
  const visit = (route: string, trail: string[]) => {
    state.set(route, "visiting");
    for (const following of next(route)) {
      if (state.get(following) === "visiting") {
        const cycle = [...trail.slice(trail.indexOf(following)), following];
        const id = [...cycle].sort().join(",");
        if (!reported.has(id)) {
          reported.add(id);
          report(
            ctx,
            ["routes", route, "to"],
            `routes feed each other through channels in a cycle: ${cycle.join(" → ")}`,
          );
        }
      } else if (!state.has(following)) visit(following, [...trail, following]);
    }
    state.set(route, "done");
  };
  for (const route of feeds.keys()) if (!state.has(route)) visit(route, [route]);
}

function checkEngine(ctx: ValidationContext, engine: unknown): void {
  if (!isObject(engine) || !isObject(engine.admin)) return;
  const listen = engine.admin.listen;
  if (typeof listen === "string" && !isLoopback(listen) && !engine.admin.token) {
    report(
      ctx,
      ["engine", "admin", "token"],
      `the admin API listens on ${listen}, off loopback: set a token`,
    );
  }
}

export function isLoopback(listen: string): boolean {
  const host = listen.replace(/:[0-9]+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
