import type { Message } from "../api/message.js";

/**
 * The TypeScript way to declare an integration. It produces the same raw configuration object as
 * a YAML file, so it goes through the same validation and the same model: one runtime, two syntaxes.
 * Steps may be plain functions: `map(fn)` replaces the data, `filter(fn)` keeps or drops.
 */
export type Slot = Record<string, unknown>;
export type MapFunction = (data: any, message: Message) => unknown;
export type StepInput = Slot | MapFunction;

export interface RouteConfig {
  description?: string;
  from: Slot;
  steps?: StepInput[];
  to: Slot[];
  policy?: string;
  concurrency?: number;
  maxDepth?: number;
  /** How long the source holds a message for room above maxDepth before it backs off: "2s". */
  intakeWait?: string;
  lease?: string;
  /** Canonical schema the output must match: `order@2` or a model under `models`. */
  canonical?: string;
}

export interface IntegrationConfig {
  systems?: Record<string, { owner?: string; owns?: string[]; needs?: string[]; description?: string }>;
  connections?: Record<string, Slot>;
  channels?: Record<string, Slot>;
  policies?: Record<string, Slot>;
  routes: Record<string, RouteConfig | RouteBuilder>;
  /** Schema registry subjects: `{ order: { file: "schemas/order.avsc", compatibility: "FULL" } }`. */
  schemas?: Record<string, { file?: string; type?: "avro" | "json" | "protobuf"; compatibility?: string }>;
  /** Canonical models: `{ order: { schema: "order@2", systems: { shop: { to: "..." } } } }`. */
  models?: Record<
    string,
    { schema: string; description?: string; systems?: Record<string, { to?: string; from?: string }> }
  >;
  engine?: Slot;
}

/** A step function that maps the data (the default for a bare function). */
export function map(fn: MapFunction): MapFunction {
  return Object.assign((data: any, message: Message) => fn(data, message), { junctionStep: "map" as const });
}

/** A step function that keeps the message when it returns a truthy value. */
export function filter(fn: (data: any, message: Message) => unknown): MapFunction {
  return Object.assign((data: any, message: Message) => fn(data, message), {
    junctionStep: "filter" as const,
  });
}

/** Fluent route builder: `route().from({ webhook: {...} }).map(fn).to({ channel: "orders" })`. */
export class RouteBuilder {
  #config: Partial<RouteConfig> & { steps: StepInput[]; to: Slot[] } = { steps: [], to: [] };

  from(source: Slot): this {
    this.#config.from = source;
    return this;
  }
  step(step: StepInput): this {
    this.#config.steps.push(step);
    return this;
  }
  map(mapping: MapFunction | string): this {
    return this.step(typeof mapping === "string" ? { map: { jsonata: mapping } } : map(mapping));
  }
  filter(predicate: ((data: any, message: Message) => unknown) | string): this {
    return this.step(typeof predicate === "string" ? { filter: { jsonata: predicate } } : filter(predicate));
  }
  validate(schema: string): this {
    return this.step({ validate: { schema } });
  }
  to(...targets: Slot[]): this {
    this.#config.to.push(...targets);
    return this;
  }
  policy(name: string): this {
    this.#config.policy = name;
    return this;
  }
  concurrency(value: number): this {
    this.#config.concurrency = value;
    return this;
  }
  toConfig(): RouteConfig {
    const { steps, ...rest } = this.#config;
    return { ...rest, ...(steps.length ? { steps } : {}) } as RouteConfig;
  }
}

export function route(): RouteBuilder {
  return new RouteBuilder();
}

export interface Integration {
  toConfig(): Record<string, unknown>;
}

export function defineIntegration(config: IntegrationConfig): Integration {
  return {
    toConfig: () => ({
      ...config,
      routes: Object.fromEntries(
        Object.entries(config.routes).map(([name, value]) => [
          name,
          value instanceof RouteBuilder ? value.toConfig() : value,
        ]),
      ),
    }),
  };
}
