import { setMaxListeners } from "node:events";
import { resolve } from "node:path";
import type {
  ComponentContext,
  ConnectionInstance,
  EmitOptions,
  EmitResult,
  SourceContext,
} from "../api/component.js";
import { BackpressureError, ConfigError, describeError, ShuttingDownError } from "../api/errors.js";
import { createMessage, type Message, type MessageInit } from "../api/message.js";
import type { RoutedMessage, StepContext, StepFunction, Target } from "../api/step.js";
import type { ComponentRef, FunctionStepRef, IntegrationModel, RouteModel } from "../config/model.js";
import type { Registry, SlotKind } from "../config/registry.js";
import { ROUTE_CHANNEL_KEY } from "../config/root-schema.js";
import { parseDuration } from "../config/schema-types.js";
import { Activity } from "../observe/activity.js";
import { AlertEvaluator, type AlertStatus } from "../observe/alerts.js";
import type { Logger } from "../observe/logger.js";
import { Metrics, observedStore } from "../observe/metrics.js";
import { collectSecrets, Redactor } from "../observe/redact.js";
import { Tracing, traceparentOf } from "../observe/tracing.js";
import { packageVersion } from "../observe/version.js";
import { registerDeclaredSchemas } from "../registry/declared.js";
import { SchemaRegistry } from "../registry/registry.js";
import { BreakerRegistry } from "../reliability/breakers.js";
import { retryPlan } from "../reliability/retry.js";
import { TokenBucket } from "../reliability/token-bucket.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import type { Append, JournalEntry, Store } from "../store/store.js";
import { Evaluator } from "./evaluator.js";
import { ExpressionPool } from "./expression-pool.js";
import { HttpHost } from "./http-host.js";
import { IntakeGate } from "./intake-gate.js";
import {
  type ChannelTarget,
  type DryRunResult,
  type GuardedTarget,
  isChannelTarget,
  RouteRunner,
  type RouteStatus,
} from "./route-runner.js";
import { SourceSupervisor } from "./source-supervisor.js";

/** The subscription a route consumes: its own inbox, a topic copy, or a queue shared with competitors. */
export function inboxChannel(route: string): string {
  return `route:${route}`;
}

interface RunningRoute {
  model: RouteModel;
  subscription: string;
  runner: RouteRunner;
  stopSource?: () => Promise<void>;
}

export interface StartInfo {
  routes: { name: string; from: string; to: string[] }[];
  listeners: { url: string; routes: string[] }[];
  store: string;
}

/**
 * One integration, running: the store, the expression workers, the connections, every route's
 * source and worker. `start` brings them up in dependency order and `stop` takes them down in
 * reverse: intake first, then in-flight work, then the store.
 */
export class Engine {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly activity: Activity;
  readonly tracing: Tracing;
  /** Removes configured secrets from error records, logs and admin answers. */
  readonly redactor: Redactor;
  #alerts: AlertEvaluator | undefined;
  readonly #model: IntegrationModel;
  readonly #registry: Registry;
  readonly #logger: Logger;
  readonly #pool: ExpressionPool;
  readonly #evaluator: Evaluator;
  readonly #http: HttpHost;
  readonly #connections = new Map<string, ConnectionInstance>();
  readonly #routes = new Map<string, RunningRoute>();
  readonly #closers: (() => Promise<void>)[] = [];
  /** Every target of each route, the router's choices included (for breakers and backpressure). */
  readonly #routeTargets = new Map<string, Target[]>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #breakers: BreakerRegistry;
  readonly #abort = new AbortController();
  /** Sources holding for room above a high-water mark (a route's `intakeWait`). */
  readonly #intake = new IntakeGate();
  #maintenance: NodeJS.Timeout | undefined;
  #state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";

  constructor(options: {
    model: IntegrationModel;
    registry: Registry;
    logger: Logger;
    store?: Store;
    /** The CLI builds it first, for the logger too; otherwise it is built from the model. */
    redactor?: Redactor;
  }) {
    this.#model = options.model;
    this.#registry = options.registry;
    this.#logger = options.logger;
    // Each source request held for room listens for shutdown on this signal: under backpressure
    // dozens at once, which is not a leak (Node warned past 10).
    setMaxListeners(0, this.#abort.signal);
    const { sqlite } = options.model.engine.store;
    const storePath = resolve(options.model.configDir, sqlite.path);
    const store = options.store ?? new SqliteStore({ path: storePath, durability: sqlite.durability });
    this.metrics = new Metrics({
      version: packageVersion(),
      store: () => this.store,
      storePath,
      breakers: () => this.#breakers.list(),
      intakeWaiting: () => this.#intake.waitingByRoute(),
    });
    this.activity = new Activity();
    const tracing = options.model.engine.tracing;
    this.tracing = new Tracing(
      tracing
        ? {
            endpoint: tracing.otlp.endpoint,
            ...(tracing.otlp.headers ? { headers: tracing.otlp.headers } : {}),
            ...(tracing.serviceName ? { serviceName: tracing.serviceName } : {}),
            ...(tracing.sampleRatio !== undefined ? { sampleRatio: tracing.sampleRatio } : {}),
          }
        : undefined,
    );
    this.redactor = options.redactor ?? new Redactor(collectSecrets(options.model, options.registry));
    const keepJournal = options.model.engine.journal.enabled;
    this.store = observedStore(
      store,
      [this.metrics, this.activity],
      (batch) => {
        const redacted = this.redactor.batch(batch);
        return keepJournal || !redacted.journal ? redacted : { ...redacted, journal: [] };
      },
      () => this.#intake.opened(),
    );
    this.#pool = new ExpressionPool({
      workers: options.model.engine.expressions.workers,
      timeoutMs: parseDuration(options.model.engine.expressions.timeout),
    });
    this.#evaluator = new Evaluator(this.#pool);
    this.#http = new HttpHost(options.logger);
    this.#breakers = new BreakerRegistry(this.store, options.logger);
  }

  get state() {
    return this.#state;
  }

  get model(): IntegrationModel {
    return this.#model;
  }

  /** The subscription a route consumes: where a replayed dead letter of that route goes back to. */
  subscriptionOf(route: string): string | undefined {
    return this.#routes.get(route)?.subscription;
  }

  dryRun(route: string, message: Message): Promise<DryRunResult> {
    const running = this.#routes.get(route);
    if (!running)
      return Promise.resolve({
        ok: false,
        step: "route",
        error: describeError(new ConfigError(`no route ${route}`)),
      });
    return running.runner.dryRun(message);
  }

  routes(): RouteStatus[] {
    return [...this.#routes.values()].map((route) => route.runner.status());
  }

  #context(owner: string): ComponentContext {
    return {
      owner,
      configDir: this.#model.configDir,
      logger: this.#logger.child({ component: owner }),
      connection: <T>(name: string) => {
        const connection = this.#connections.get(name);
        if (!connection) throw new ConfigError(`connection "${name}" is not declared under connections:`);
        return connection as T;
      },
      httpServer: (listen?: string) => this.#http.mount(listen ?? this.#model.engine.http.listen),
      evaluate: (expression, data, message) => this.#evaluator.evaluate(expression, data, message),
      render: (template, data, message) => this.#evaluator.render(template, data, message),
      schemaById: (id) => this.store.schemaRegistry().schemaById(id),
    };
  }

  #component<T>(slot: SlotKind, ref: ComponentRef, owner: string): T {
    const connector = this.#registry.connectors.get(ref.kind);
    const spec = connector?.[slot as "source" | "sink" | "request" | "connection"];
    if (!spec) throw new ConfigError(`${ref.path}: no ${slot} component named "${ref.kind}"`);
    return spec.create(ref.config, this.#context(owner)) as T;
  }

  #subscriptionFor(route: RouteModel): string {
    if (route.from.kind !== ROUTE_CHANNEL_KEY) return inboxChannel(route.name);
    const channel = this.#model.channels[route.from.config];
    return channel.kind === "topic" ? `${channel.name}:${route.name}` : channel.name;
  }

  /** Subscriptions reading a channel, for backpressure. */
  #subscriptionsOf(channel: string): string[] {
    return Object.values(this.#model.routes)
      .filter((route) => route.from.kind === ROUTE_CHANNEL_KEY && route.from.config === channel)
      .map((route) => this.#subscriptionFor(route));
  }

  #target(ref: ComponentRef, route: string): Target {
    if (ref.kind === ROUTE_CHANNEL_KEY) {
      const channel = this.#model.channels[ref.config];
      const subscriptions = this.#subscriptionsOf(channel.name);
      const target: ChannelTarget = {
        name: `channel:${channel.name}`,
        channel: channel.name,
        keyed: Boolean(channel.partitionBy),
        partitionKey: async (message: Message) => {
          if (!channel.partitionBy) return null;
          const key = await this.#evaluator.evaluate(channel.partitionBy, message.data, message);
          return key === undefined || key === null ? null : String(key);
        },
        full: () => subscriptions.some((subscription) => this.store.depth(subscription) >= channel.maxDepth),
        deliver: async () => {
          throw new Error("channel targets are written by the route runner");
        },
      };
      return target;
    }
    const sink = this.#component<import("../api/component.js").Sink>("sink", ref, route);
    if (sink.close) this.#closers.push(() => sink.close!());
    const name = `${ref.path.slice(ref.path.lastIndexOf(".") + 1)}:${ref.kind}`;
    // The system behind the target: its connection when it names one, else this target alone.
    const connectionName = typeof ref.config?.connection === "string" ? ref.config.connection : undefined;
    const connection = connectionName ? this.#model.connections[connectionName] : undefined;
    const breakerKey = connectionName ? `connection:${connectionName}` : `${route}/${name}`;
    const policyName = this.#model.routes[route]?.policy;
    const breakerConfig =
      connection?.circuitBreaker ??
      (policyName ? this.#model.policies[policyName]?.circuitBreaker : undefined);
    const bucket =
      connectionName && connection?.rateLimit
        ? this.#bucket(connectionName, connection.rateLimit)
        : undefined;
    const target: GuardedTarget = {
      name,
      deliver: async (message, signal) => {
        if (bucket) await bucket.take(signal);
        await sink.write(message, signal);
      },
      ...(breakerConfig
        ? {
            breaker: this.#breakers.get(breakerKey, {
              ...(breakerConfig.after !== undefined ? { after: breakerConfig.after } : {}),
              ...(breakerConfig.failureRate !== undefined ? { failureRate: breakerConfig.failureRate } : {}),
              ...(breakerConfig.minimumCalls !== undefined
                ? { minimumCalls: breakerConfig.minimumCalls }
                : {}),
              ...(breakerConfig.window ? { windowMs: parseDuration(breakerConfig.window) } : {}),
              halfOpenAfterMs: parseDuration(breakerConfig.halfOpenAfter ?? "30s"),
            }),
          }
        : {}),
    };
    this.#routeTargets.get(route)?.push(target);
    return target;
  }

  /** One token bucket per connection, shared by every route that calls it. */
  #bucket(connection: string, limit: { perSecond: number; burst?: number }): TokenBucket {
    let bucket = this.#buckets.get(connection);
    if (!bucket) {
      bucket = new TokenBucket(limit.perSecond, limit.burst);
      this.#buckets.set(connection, bucket);
    }
    return bucket;
  }

  breakers(): { key: string; state: string; waitMs: number }[] {
    return this.#breakers.list();
  }

  #stepContext(route: string): StepContext {
    return {
      ...this.#context(route),
      store: this.store,
      targets: (slots, path) =>
        slots.map((slot, index) => {
          const value = slot as Record<string, unknown>;
          const kind = Object.keys(value)[0];
          return this.#target(
            { kind, config: value[kind], path: `routes.${route}.${path}[${index}]` },
            route,
          );
        }),
      requester: (slot, path) => {
        const value = slot as Record<string, unknown>;
        const kind = Object.keys(value)[0];
        const requester = this.#component<import("../api/component.js").Requester>(
          "request",
          { kind, config: value[kind], path },
          route,
        );
        if (requester.close) this.#closers.push(() => requester.close!());
        return requester;
      },
    };
  }

  #step(ref: ComponentRef | FunctionStepRef, route: string): { name: string; run: StepFunction } {
    const name = `${ref.path.slice(ref.path.lastIndexOf(".") + 1)}:${ref.kind === "function" ? (ref as FunctionStepRef).name : ref.kind}`;
    if (ref.kind === "function") return { name, run: functionStep(ref as FunctionStepRef) };
    const definition = this.#registry.steps.get(ref.kind);
    if (!definition) throw new ConfigError(`${ref.path}: no step named "${ref.kind}"`);
    return { name, run: definition.create((ref as ComponentRef).config, this.#stepContext(route)) };
  }

  async start(): Promise<StartInfo> {
    if (this.#state !== "new") throw new Error(`engine already ${this.#state}`);
    this.#state = "starting";
    const model = this.#model;
    // Before any component is built: validate steps and codecs read these subjects. An incompatible
    // schema file stops the start with the reasons.
    registerDeclaredSchemas(new SchemaRegistry(this.store.schemaRegistry()), {
      configDir: model.configDir,
      schemas: model.schemas,
    });
    for (const channel of Object.values(model.channels)) {
      this.store.declareChannel({
        name: channel.name,
        kind: channel.kind,
        retentionMs: parseDuration(channel.retention),
      });
    }
    for (const [name, connection] of Object.entries(model.connections)) {
      this.#connections.set(name, this.#component<ConnectionInstance>("connection", connection.ref, name));
    }
    const sources: { route: RunningRoute; start: () => Promise<void> }[] = [];
    for (const route of Object.values(model.routes)) {
      const subscription = this.#subscriptionFor(route);
      if (route.from.kind === ROUTE_CHANNEL_KEY) {
        this.store.subscribe(route.from.config, subscription);
      } else {
        this.store.declareChannel({ name: subscription, kind: "queue", retentionMs: 0 });
        this.store.subscribe(subscription, subscription);
      }
      this.#routeTargets.set(route.name, []);
      const targets = route.to.map((ref) => this.#target(ref, route.name));
      const steps = route.steps.map((ref) => this.#step(ref, route.name));
      const policy = route.policy ? model.policies[route.policy] : undefined;
      const runner = new RouteRunner({
        name: route.name,
        subscription,
        store: this.store,
        steps,
        targets,
        allTargets: this.#routeTargets.get(route.name) ?? targets,
        concurrency: route.concurrency,
        leaseMs: parseDuration(route.lease),
        timeoutMs: policy?.timeout
          ? parseDuration(policy.timeout)
          : Math.floor(parseDuration(route.lease) / 2),
        retry: retryPlan(policy),
        logger: this.#logger.child({ route: route.name }),
        tracing: this.tracing,
      });
      const running: RunningRoute = { model: route, subscription, runner };
      this.#routes.set(route.name, running);
      if (route.from.kind !== ROUTE_CHANNEL_KEY) {
        const source = this.#component<import("../api/component.js").Source>(
          "source",
          route.from,
          route.name,
        );
        // A route that only moves messages from its source into channels writes them there at
        // intake, in the same commit: no inbox hop, half the writes.
        const direct =
          steps.length === 0 && targets.every(isChannelTarget) ? (targets as ChannelTarget[]) : undefined;
        const supervisor = new SourceSupervisor(
          source,
          (lost) => this.#sourceContext(route, subscription, lost, direct),
          this.#logger.child({ route: route.name }),
        );
        running.stopSource = () => supervisor.stop();
        sources.push({ route: running, start: () => supervisor.start() });
      }
    }
    for (const running of this.#routes.values()) running.runner.start();
    for (const source of sources) await source.start();
    const listeners = await this.#http.listen();
    this.#alerts = this.#startAlerts();
    const journalRetentionMs = parseDuration(model.engine.journal.retention);
    this.#maintenance = setInterval(() => {
      this.store
        .maintain({ journalRetentionMs, idempotencyRetentionMs: 24 * 3_600_000 })
        .catch((error) => this.#logger.error({ err: error }, "store maintenance failed"));
    }, 60_000);
    this.#maintenance.unref();
    this.#state = "running";
    return {
      routes: Object.values(model.routes).map((route) => ({
        name: route.name,
        from: route.from.kind === ROUTE_CHANNEL_KEY ? `channel ${route.from.config}` : route.from.kind,
        to: route.to.map((ref) => (ref.kind === ROUTE_CHANNEL_KEY ? `channel ${ref.config}` : ref.kind)),
      })),
      listeners,
      store: this.store.description,
    };
  }

  #startAlerts(): AlertEvaluator {
    const targets = new Map<string, Target[]>();
    for (const alert of Object.values(this.#model.alerts)) {
      targets.set(
        alert.name,
        alert.notify.map((ref) => this.#target(ref, `alert:${alert.name}`)),
      );
    }
    const evaluator = new AlertEvaluator({
      model: this.#model,
      store: this.store,
      activity: this.activity,
      breakers: () => this.#breakers.list(),
      subscriptionOf: (route) => this.subscriptionOf(route),
      logger: this.#logger.child({ component: "alerts" }),
      notify: async (alert, notice) => {
        for (const target of targets.get(alert.name) ?? []) {
          if (isChannelTarget(target)) {
            await this.store.commit({
              appends: [
                {
                  channel: target.channel,
                  message: notice,
                  partitionKey: target.keyed ? await target.partitionKey(notice) : null,
                },
              ],
            });
          } else await target.deliver(notice, AbortSignal.timeout(30_000));
        }
      },
    });
    evaluator.start(parseDuration(this.#model.engine.alerts.interval));
    return evaluator;
  }

  alerts(): AlertStatus[] {
    return this.#alerts?.status() ?? [];
  }

  #sourceContext(
    route: RouteModel,
    subscription: string,
    lost: (error: unknown) => void,
    direct?: ChannelTarget[],
  ): SourceContext {
    const base = this.#context(route.name);
    const channel = subscription;
    const received = `from:${route.from.kind}`;
    const intakeWaitMs = parseDuration(route.intakeWait);
    // Above the high-water mark of the route's inbox, or of a channel it writes straight to.
    const full = direct
      ? () => direct.some((target) => target.full())
      : () => this.store.depth(subscription) >= route.maxDepth;
    const directDetail = direct ? { channels: direct.map((target) => target.channel) } : undefined;
    return {
      ...base,
      signal: this.#abort.signal,
      lost,
      checkpoint: (key) => this.store.checkpoint(`${route.name}:${key}`),
      emit: async (inits: MessageInit[], options: EmitOptions = {}): Promise<EmitResult> => {
        if (this.#state === "stopping" || this.#state === "stopped") throw new ShuttingDownError();
        if (options.idempotencyKey) {
          const seen = this.store.idempotencyValue(route.name, options.idempotencyKey);
          if (seen) return { ids: JSON.parse(seen), duplicate: true };
        }
        if (full() && !(await this.#intake.room(full, intakeWaitMs, this.#abort.signal, route.name))) {
          if (this.#abort.signal.aborted) throw new ShuttingDownError();
          throw new BackpressureError(`route ${route.name} is above its high-water mark`, 1000);
        }
        const messages = inits.map((init) => createMessage(init));
        // With tracing on, each message continues its trace from the receive span.
        const spans = this.tracing.enabled
          ? messages.map((message) => {
              const span = this.tracing.start("receive", route.name, message, {
                "junction.source": route.from.kind,
              });
              message.traceparent = traceparentOf(span);
              return span;
            })
          : [];
        const ids = messages.map((message) => message.id);
        const appends: Append[] = [];
        const journal: JournalEntry[] = [];
        for (let index = 0; index < messages.length; index++) {
          const message = messages[index];
          const { dataJson } = inits[index];
          const { id: messageId, correlationId } = message;
          journal.push({
            messageId,
            correlationId,
            route: route.name,
            step: received,
            outcome: "received",
            durationMs: 0,
          });
          if (!direct) {
            appends.push({ channel, message, partitionKey: null, dataJson });
            continue;
          }
          for (const target of direct) {
            appends.push({
              channel: target.channel,
              message,
              partitionKey: target.keyed ? await target.partitionKey(message) : null,
              dataJson,
            });
          }
          // One detail object for every message of the route: it is only read (serialised, counted).
          journal.push({
            messageId,
            correlationId,
            route: route.name,
            step: null,
            outcome: "processed",
            durationMs: 0,
            detail: directDetail!,
          });
        }
        const result = await this.store.commit({
          appends,
          journal,
          ...(options.checkpoint
            ? {
                checkpoint: {
                  key: `${route.name}:${options.checkpoint.key}`,
                  value: options.checkpoint.value,
                },
              }
            : {}),
          ...(options.idempotencyKey
            ? { idempotency: { scope: route.name, key: options.idempotencyKey, value: JSON.stringify(ids) } }
            : {}),
        });
        for (const span of spans) this.tracing.end(span);
        if (result.duplicateOf) return { ids: JSON.parse(result.duplicateOf), duplicate: true };
        return { ids, duplicate: false };
      },
      deadLetter: async (record: MessageInit, error: unknown) => {
        const message = createMessage(record);
        const described = describeError(error);
        await this.store.commit({
          deadLetters: [
            { message, route: route.name, step: `from:${route.from.kind}`, error: described, attempts: [] },
          ],
          journal: [
            {
              messageId: message.id,
              correlationId: message.correlationId,
              route: route.name,
              step: `from:${route.from.kind}`,
              outcome: "dead-lettered",
              durationMs: 0,
              error: described,
            },
          ],
        });
      },
    };
  }

  /** SIGTERM: stop intake, drain in-flight work within the deadline, commit, close. */
  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "stopping") return;
    this.#state = "stopping";
    const deadline = parseDuration(this.#model.engine.shutdown.timeout);
    this.#abort.abort();
    clearInterval(this.#maintenance);
    await this.#alerts?.stop();
    await this.#http.close();
    await Promise.allSettled([...this.#routes.values()].map((route) => route.stopSource?.()));
    await Promise.allSettled([...this.#routes.values()].map((route) => route.runner.stop(deadline)));
    await Promise.allSettled(this.#closers.map((close) => close()));
    await Promise.allSettled([...this.#connections.values()].map((connection) => connection.close?.()));
    await this.#pool.close();
    await this.tracing.shutdown().catch(() => {});
    await this.store.close();
    this.#state = "stopped";
  }
}

/** A TypeScript function used as a step: map (returns the new data) or filter (returns a boolean). */
function functionStep(ref: FunctionStepRef): StepFunction {
  const fn = ref.fn as ((data: unknown, message: Message) => unknown) & { junctionStep?: "map" | "filter" };
  const mode = fn.junctionStep ?? "map";
  return async (item: RoutedMessage) => {
    const result = await fn(item.message.data, item.message);
    if (mode === "filter") return result ? [item] : [];
    return [{ ...item, message: { ...item.message, data: result } }];
  };
}
