import type { StepFunction } from "../api/step.js";
import type { SchemaDeclaration } from "../registry/declared.js";

/**
 * The one runtime model. YAML files and the TypeScript DSL both compile to it, and the engine only
 * ever sees this shape. Component slots keep their raw config: each component owns its schema.
 */
export interface ComponentRef {
  /** Component name (its key in the slot), or "channel". */
  kind: string;
  config: any;
  /** Path in the configuration, for messages: `routes.orders.to[0]`. */
  path: string;
}

export interface FunctionStepRef {
  kind: "function";
  fn: StepFunction | ((data: any, message: any) => unknown);
  name: string;
  path: string;
}

export interface SystemModel {
  owner?: string;
  owns?: string[];
  needs?: string[];
  description?: string;
}

export interface CircuitBreakerModel {
  after?: number;
  failureRate?: number;
  minimumCalls?: number;
  window?: string;
  halfOpenAfter?: string;
}

export interface ConnectionModel {
  ref: ComponentRef;
  system?: string;
  circuitBreaker?: CircuitBreakerModel;
  rateLimit?: { perSecond: number; burst?: number };
}

export interface ChannelModel {
  name: string;
  kind: "queue" | "topic";
  partitionBy?: string;
  retention: string;
  maxDepth: number;
}

export interface PolicyModel {
  retry?: {
    attempts?: number;
    backoff?: "exponential" | "fixed";
    initial?: string;
    multiplier?: number;
    max?: string;
    jitter?: "full" | "equal" | "none";
    maxElapsed?: string;
    retryOn?: { codes?: string[]; statuses?: number[] };
    deadLetterOn?: { codes?: string[]; statuses?: number[] };
    budget?: { ratio: number; minPerSecond?: number };
  };
  circuitBreaker?: CircuitBreakerModel;
  timeout?: string;
  deadLetter?: boolean;
}

export interface RouteModel {
  name: string;
  description?: string;
  from: ComponentRef;
  steps: (ComponentRef | FunctionStepRef)[];
  to: ComponentRef[];
  policy?: string;
  concurrency: number;
  maxDepth: number;
  /** How long a source holds a message for room above maxDepth before it is told to back off. */
  intakeWait: string;
  lease: string;
  /** The canonical schema (subject@version or model name) its output is checked against, as a last step. */
  canonical?: string;
}

/** A canonical model: a registered schema plus, per system, mappings to it and from it. */
export interface CanonicalModel {
  name: string;
  description?: string;
  /** subject, subject@latest or subject@N. */
  schema: string;
  systems: Record<string, { to?: string; from?: string }>;
}

export interface AlertModel {
  name: string;
  description?: string;
  severity: "info" | "warning" | "critical";
  /** One key: deadLetters, errorRate, channelDepth, channelAge, consumerLag, circuitOpen, schemaViolations, silence. */
  when: Record<string, any>;
  for: string;
  resolveAfter: string;
  notify: ComponentRef[];
}

export interface EngineModel {
  store: { sqlite: { path: string; durability: "process" | "os" } };
  http: { listen: string };
  admin: { listen: string; token?: string };
  journal: { retention: string; enabled: boolean };
  expressions: { timeout: string; workers: number };
  shutdown: { timeout: string };
  alerts: { interval: string };
  tracing?: {
    otlp: { endpoint: string; headers?: Record<string, string> };
    serviceName?: string;
    sampleRatio?: number;
  };
}

export interface IntegrationModel {
  /** The configuration file, when there is one. */
  file?: string;
  configDir: string;
  systems: Record<string, SystemModel>;
  connections: Record<string, ConnectionModel>;
  channels: Record<string, ChannelModel>;
  policies: Record<string, PolicyModel>;
  routes: Record<string, RouteModel>;
  alerts: Record<string, AlertModel>;
  /** Subjects of the schema registry declared in the configuration (registered at start). */
  schemas: Record<string, SchemaDeclaration>;
  models: Record<string, CanonicalModel>;
  engine: EngineModel;
}

function slotRef(value: Record<string, any>, path: string, extras: string[] = []): ComponentRef {
  const kind = Object.keys(value).find((key) => !extras.includes(key)) as string;
  return { kind, config: value[kind], path };
}

/** Build the model from a configuration that passed validation; defaults are applied here. */
export function buildModel(raw: any, configDir: string, file?: string): IntegrationModel {
  const engine = raw.engine ?? {};
  const model: IntegrationModel = {
    ...(file ? { file } : {}),
    configDir,
    systems: raw.systems ?? {},
    connections: {},
    channels: {},
    policies: raw.policies ?? {},
    routes: {},
    alerts: {},
    schemas: raw.schemas ?? {},
    models: {},
    engine: {
      store: {
        sqlite: {
          path: engine.store?.sqlite?.path ?? ".junction/store.db",
          durability: engine.store?.sqlite?.durability ?? "process",
        },
      },
      http: { listen: engine.http?.listen ?? "127.0.0.1:8080" },
      admin: {
        listen: engine.admin?.listen ?? "127.0.0.1:4195",
        ...(engine.admin?.token ? { token: engine.admin.token } : {}),
      },
      journal: { retention: engine.journal?.retention ?? "7d", enabled: engine.journal?.enabled ?? true },
      expressions: {
        timeout: engine.expressions?.timeout ?? "1s",
        workers: engine.expressions?.workers ?? 1,
      },
      shutdown: { timeout: engine.shutdown?.timeout ?? "10s" },
      alerts: { interval: engine.alerts?.interval ?? "15s" },
      ...(engine.tracing ? { tracing: engine.tracing } : {}),
    },
  };
  for (const [name, value] of Object.entries<any>(raw.connections ?? {})) {
    model.connections[name] = {
      ref: slotRef(value, `connections.${name}`, ["system", "circuitBreaker", "rateLimit"]),
      ...(value.system ? { system: value.system } : {}),
      ...(value.circuitBreaker ? { circuitBreaker: value.circuitBreaker } : {}),
      ...(value.rateLimit ? { rateLimit: value.rateLimit } : {}),
    };
  }
  for (const [name, value] of Object.entries<any>(raw.channels ?? {})) {
    const kind = "topic" in value ? "topic" : "queue";
    const options = value[kind] ?? {};
    model.channels[name] = {
      name,
      kind,
      ...(options.partitionBy ? { partitionBy: options.partitionBy } : {}),
      retention: options.retention ?? "0s",
      maxDepth: options.maxDepth ?? 100_000,
    };
  }
  for (const [name, value] of Object.entries<any>(raw.models ?? {})) {
    model.models[name] = {
      name,
      ...(value.description ? { description: value.description } : {}),
      schema: value.schema,
      systems: value.systems ?? {},
    };
  }
  for (const [name, route] of Object.entries<any>(raw.routes ?? {})) {
    const base = `routes.${name}`;
    model.routes[name] = {
      name,
      ...(route.description ? { description: route.description } : {}),
      from: slotRef(route.from, `${base}.from`),
      steps: (route.steps ?? []).map((step: any, index: number) => {
        const path = `${base}.steps[${index}]`;
        if (typeof step === "function")
          return { kind: "function", fn: step, name: step.name || "function", path };
        return slotRef(step, path);
      }),
      to: route.to.map((target: any, index: number) => slotRef(target, `${base}.to[${index}]`)),
      ...(route.policy ? { policy: route.policy } : {}),
      concurrency: route.concurrency ?? 8,
      maxDepth: route.maxDepth ?? 100_000,
      intakeWait: route.intakeWait ?? "0s",
      lease: route.lease ?? "60s",
      ...(route.canonical ? { canonical: route.canonical } : {}),
    };
    // A canonical route checks its mapped output against the model's schema after its own steps.
    if (route.canonical) {
      const subject = model.models[route.canonical]?.schema ?? route.canonical;
      model.routes[name].steps.push({
        kind: "validate",
        config: { subject },
        path: `${base}.canonical`,
      });
    }
  }
  for (const [name, alert] of Object.entries<any>(raw.alerts ?? {})) {
    model.alerts[name] = {
      name,
      ...(alert.description ? { description: alert.description } : {}),
      severity: alert.severity ?? "warning",
      when: alert.when,
      for: alert.for ?? "0s",
      resolveAfter: alert.resolveAfter ?? "1m",
      notify: alert.notify.map((target: any, index: number) =>
        slotRef(target, `alerts.${name}.notify[${index}]`),
      ),
    };
  }
  return model;
}
