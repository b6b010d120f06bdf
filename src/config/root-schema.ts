import { type TSchema, Type } from "typebox";
import type { Registry, SlotKind } from "./registry.js";
import { Duration, Expression, Secret } from "./schema-types.js";

/**
 * The root configuration schema, built from the registered components.
 *
 * `mode: "editor"` expands every component slot into the union of `{ <name>: <schema> }` objects:
 * that is the JSON Schema committed in schema/ for editors. `mode: "shape"` leaves slots as plain
 * objects so the validator can check each slot on its own and name the component in its errors.
 */
export type SchemaMode = "editor" | "shape";

export const ROUTE_CHANNEL_KEY = "channel";

function slot(
  registry: Registry,
  kind: SlotKind,
  mode: SchemaMode,
  extra: Record<string, TSchema> = {},
): TSchema {
  const description = `Exactly one ${kind} component, named by its key.`;
  // The validator checks each slot itself (and the DSL allows functions as steps).
  if (mode === "shape") return Type.Unknown({ description, "x-slot": kind });
  const variants: TSchema[] = registry.options(kind).map((option) =>
    Type.Object(
      { [option.name]: option.schema, ...optionalAll(extra) },
      {
        additionalProperties: false,
        description: option.summary,
      },
    ),
  );
  if (kind === "source" || kind === "sink") {
    variants.push(
      Type.Object(
        { [ROUTE_CHANNEL_KEY]: Type.String({ description: "A channel declared under `channels:`." }) },
        { additionalProperties: false, description: "A durable channel inside Junction." },
      ),
    );
  }
  return Type.Union(variants, { description });
}

function optionalAll(properties: Record<string, TSchema>): Record<string, TSchema> {
  return Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, Type.Optional(schema)]));
}

const NAME = "^[a-zA-Z][a-zA-Z0-9_.-]*$";

function named<T extends TSchema>(value: T, description: string) {
  return Type.Record(Type.String({ pattern: NAME }), value, { description });
}

export const CircuitBreakerSchema = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 1, description: "Consecutive retryable failures that open the circuit." }),
    ),
    failureRate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: "Open when this share of the calls in `window` failed (with at least `minimumCalls`).",
      }),
    ),
    minimumCalls: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 10,
        description: "Calls in the window before the failure rate counts.",
      }),
    ),
    window: Type.Optional(Duration({ description: "Sliding window of the failure rate.", default: "30s" })),
    halfOpenAfter: Type.Optional(
      Duration({ description: "How long the circuit stays open before one trial message.", default: "30s" }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      "One breaker per downstream system, shared by every route writing to it. While open, those routes stop claiming messages: the backlog waits on disk.",
  },
);

export const RateLimitSchema = Type.Object(
  {
    perSecond: Type.Number({ exclusiveMinimum: 0, description: "Sustained calls per second." }),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, description: "Calls allowed at once after a pause; default: perSecond." }),
    ),
  },
  { additionalProperties: false, description: "Token bucket: calls beyond the rate wait their turn." },
);

const ErrorMatchSchema = (description: string) =>
  Type.Object(
    {
      codes: Type.Optional(
        Type.Array(Type.String(), { description: "Junction error codes, e.g. JUNCTION_HTTP_409." }),
      ),
      statuses: Type.Optional(
        Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
          description: "HTTP statuses, e.g. [409, 423].",
        }),
      ),
    },
    { additionalProperties: false, description },
  );

export const RetrySchema = Type.Object(
  {
    attempts: Type.Optional(
      Type.Integer({ minimum: 1, default: 5, description: "Total attempts, the first one included." }),
    ),
    backoff: Type.Optional(
      Type.Union([Type.Literal("exponential"), Type.Literal("fixed")], {
        default: "exponential",
        description: "How the delay grows between attempts.",
      }),
    ),
    initial: Type.Optional(Duration({ description: "Delay before the second attempt.", default: "1s" })),
    multiplier: Type.Optional(
      Type.Number({ minimum: 1, default: 2, description: "Growth factor of exponential backoff." }),
    ),
    max: Type.Optional(Duration({ description: "Largest delay between two attempts.", default: "5m" })),
    jitter: Type.Optional(
      Type.Union([Type.Literal("full"), Type.Literal("equal"), Type.Literal("none")], {
        default: "full",
        description: "full: a random delay in [0, d]; equal: in [d/2, d]; none: d.",
      }),
    ),
    maxElapsed: Type.Optional(
      Duration({ description: "Give up (dead letter) once this long has passed since the first attempt." }),
    ),
    retryOn: Type.Optional(
      ErrorMatchSchema("Also retry these errors, though they are permanent by default."),
    ),
    deadLetterOn: Type.Optional(
      ErrorMatchSchema("Never retry these errors, though they are retryable by default."),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          ratio: Type.Number({
            exclusiveMinimum: 0,
            description: "Retries may be at most this share of first attempts (e.g. 0.2).",
          }),
          minPerSecond: Type.Optional(
            Type.Number({
              minimum: 0,
              default: 1,
              description: "Retries always allowed per second, whatever the ratio.",
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "A retry budget over a 10 s window: over it, retries wait the maximum delay, so a failing system does not turn into a retry storm.",
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description: "Durable retries: the next attempt time is kept in the store.",
  },
);

export const PolicySchema = Type.Object(
  {
    retry: Type.Optional(RetrySchema),
    circuitBreaker: Type.Optional(CircuitBreakerSchema),
    timeout: Type.Optional(Duration({ description: "Budget for the route's steps and sinks per message." })),
    deadLetter: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "true: a message that fails permanently or exhausts its attempts becomes a dead letter. false: it keeps being retried at the maximum delay.",
      }),
    ),
  },
  { additionalProperties: false },
);

/** Keys a connection may carry beside its one component: they apply to whatever the protocol. */
export const ConnectionExtras = {
  system: Type.String({ description: "The system this connection reaches." }),
  circuitBreaker: CircuitBreakerSchema,
  rateLimit: RateLimitSchema,
};

const routeRef = (description: string) => Type.String({ description });

/** What an alert watches: exactly one condition, named by its key. */
export const AlertConditionSchema = Type.Object(
  {
    deadLetters: Type.Optional(
      Type.Object(
        {
          route: Type.Optional(routeRef("Only this route's dead letters; default: all.")),
          above: Type.Integer({ minimum: 0, description: "Fire when open dead letters exceed this." }),
        },
        { additionalProperties: false, description: "Dead-letter depth." },
      ),
    ),
    errorRate: Type.Optional(
      Type.Object(
        {
          route: Type.Optional(routeRef("Only this route; default: all.")),
          above: Type.Number({ minimum: 0, maximum: 1, description: "Failed attempts / all attempts." }),
          window: Type.Optional(Duration({ description: "Over this window.", default: "5m" })),
          minimum: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 10,
              description: "Attempts needed in the window before the rate counts.",
            }),
          ),
        },
        {
          additionalProperties: false,
          description: "Share of attempts that failed (retried or dead-lettered).",
        },
      ),
    ),
    channelDepth: Type.Optional(
      Type.Object(
        {
          channel: Type.String({ description: "A channel declared under `channels:`." }),
          above: Type.Integer({ minimum: 0, description: "Messages waiting in any of its subscriptions." }),
        },
        { additionalProperties: false, description: "Backlog of a channel." },
      ),
    ),
    channelAge: Type.Optional(
      Type.Object(
        {
          channel: Type.String({ description: "A channel declared under `channels:`." }),
          above: Duration({ description: "Age of its oldest unacknowledged message." }),
        },
        { additionalProperties: false, description: "How long the oldest message has waited." },
      ),
    ),
    consumerLag: Type.Optional(
      Type.Object(
        {
          route: routeRef("The consuming route."),
          above: Type.Integer({ minimum: 0, description: "Messages waiting for this route." }),
        },
        { additionalProperties: false, description: "Messages a route has not yet taken." },
      ),
    ),
    circuitOpen: Type.Optional(
      Type.Object(
        {
          connection: Type.Optional(
            Type.String({ description: "Only this connection's breaker; default: any." }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "A circuit breaker is open or half-open: it resolves once a probe succeeded and the circuit closed.",
        },
      ),
    ),
    schemaViolations: Type.Optional(
      Type.Object(
        {
          route: Type.Optional(routeRef("Only this route; default: all.")),
          above: Type.Number({
            minimum: 0,
            maximum: 1,
            description: "Schema violations / messages received.",
          }),
          window: Type.Optional(Duration({ description: "Over this window.", default: "5m" })),
        },
        { additionalProperties: false, description: "Share of messages that failed their schema." },
      ),
    ),
    silence: Type.Optional(
      Type.Object(
        {
          route: Type.Optional(routeRef("Nothing received by this route...")),
          system: Type.Optional(Type.String({ description: "...or by any route reading from this system." })),
          for: Duration({ description: "...for this long: the silent failure." }),
        },
        {
          additionalProperties: false,
          minProperties: 2,
          description: "No message arrived from a source or system.",
        },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: "Exactly one condition." },
);

/** `order`, `order@latest` or `order@2`: a subject of the schema registry, optionally at a version. */
export const SUBJECT_REFERENCE = "^[^@\\s]+(@(latest|[1-9][0-9]*))?$";

export const SchemaDeclarationSchema = Type.Object(
  {
    file: Type.Optional(
      Type.String({
        description:
          "Schema file, relative to the configuration, registered at start (the same file again is a no-op). Without it the subject is managed through the registry API.",
        examples: ["schemas/order.avsc"],
      }),
    ),
    type: Type.Optional(
      Type.Union([Type.Literal("avro"), Type.Literal("json"), Type.Literal("protobuf")], {
        description:
          "Schema language; by default from the extension (.avsc avro, .proto protobuf, else json).",
      }),
    ),
    compatibility: Type.Optional(
      Type.Union(
        [
          "BACKWARD",
          "BACKWARD_TRANSITIVE",
          "FORWARD",
          "FORWARD_TRANSITIVE",
          "FULL",
          "FULL_TRANSITIVE",
          "NONE",
        ].map((level) => Type.Literal(level)),
        {
          description:
            "Confluent compatibility level for this subject; default the registry's global level (BACKWARD).",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CanonicalModelSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    schema: Type.String({
      pattern: SUBJECT_REFERENCE,
      description: "The registered schema of the model: subject, subject@latest or subject@N.",
      examples: ["order@2"],
    }),
    systems: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            to: Type.Optional(
              Type.String({ description: "Mapping (JSONata file) from the system's format to the model." }),
            ),
            from: Type.Optional(
              Type.String({ description: "Mapping (JSONata file) from the model to the system's format." }),
            ),
          },
          { additionalProperties: false },
        ),
        { description: "Per system (declared under systems:), its mappings to and from the model." },
      ),
    ),
  },
  { additionalProperties: false },
);

export function rootSchema(registry: Registry, mode: SchemaMode): TSchema {
  const system = Type.Object(
    {
      owner: Type.Optional(Type.String({ description: "Team or person responsible for the system." })),
      owns: Type.Optional(
        Type.Array(Type.String(), { description: "Kinds of data this system is the source of." }),
      ),
      needs: Type.Optional(Type.Array(Type.String(), { description: "Kinds of data this system consumes." })),
      description: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  );
  const channelOptions = Type.Object(
    {
      partitionBy: Type.Optional(
        Expression({
          description: "Expression giving the ordering key: order is kept per key, parallelism across keys.",
          examples: ["customerId"],
        }),
      ),
      retention: Type.Optional(
        Duration({ description: "How long consumed messages are kept (topics).", default: "0s" }),
      ),
      maxDepth: Type.Optional(
        Type.Integer({
          minimum: 1,
          default: 100000,
          description: "High-water mark: above it, sources writing here are told to back off (HTTP 503).",
        }),
      ),
    },
    { additionalProperties: false },
  );
  const channel =
    mode === "shape"
      ? Type.Object(
          { queue: Type.Optional(channelOptions), topic: Type.Optional(channelOptions) },
          { additionalProperties: false, minProperties: 1, maxProperties: 1, description: "queue or topic" },
        )
      : Type.Union(
          [
            Type.Object(
              { queue: channelOptions },
              { additionalProperties: false, description: "Competing consumers." },
            ),
            Type.Object(
              { topic: channelOptions },
              { additionalProperties: false, description: "Every subscribing route gets its own copy." },
            ),
          ],
          { description: "A durable message channel." },
        );
  const route = Type.Object(
    {
      description: Type.Optional(Type.String()),
      from: slot(registry, "source", mode),
      steps: Type.Optional(Type.Array(slot(registry, "step", mode), { description: "Applied in order." })),
      to: Type.Array(slot(registry, "sink", mode), {
        minItems: 1,
        description: "Every target must confirm before the message is acknowledged.",
      }),
      policy: Type.Optional(Type.String({ description: "A policy declared under `policies:`." })),
      concurrency: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 1024, default: 8, description: "Messages processed at once." }),
      ),
      maxDepth: Type.Optional(
        Type.Integer({
          minimum: 1,
          default: 100000,
          description: "High-water mark of the route's inbox; above it the source is told to back off.",
        }),
      ),
      intakeWait: Type.Optional(
        Duration({
          description:
            "How long the source holds a message for room when the route's inbox (or a channel it writes straight to) is above its high-water mark, before it is told to back off: a webhook request stays open and is answered 202 once there is room, or 503 with Retry-After after the wait. The intake then runs at the pace of the consumer with a bounded backlog. 0s: told at once.",
          default: "0s",
        }),
      ),
      lease: Type.Optional(
        Duration({
          description: "How long a claimed message is reserved before it is redelivered.",
          default: "60s",
        }),
      ),
      canonical: Type.Optional(
        Type.String({
          pattern: SUBJECT_REFERENCE,
          description:
            "The canonical schema the route's output must match after its steps, before its targets: a subject (`order`, `order@2`, `order@latest`) or a model under `models:`. Messages that do not match are dead-lettered with the failing fields.",
          examples: ["order@2"],
        }),
      ),
    },
    { additionalProperties: false },
  );
  const listen = (description: string, fallback: string) =>
    Type.String({ description, default: fallback, pattern: "^[^:]+:[0-9]+$|^\\[[^\\]]+\\]:[0-9]+$" });
  const engine = Type.Object(
    {
      store: Type.Optional(
        Type.Object(
          {
            sqlite: Type.Object(
              {
                path: Type.Optional(
                  Type.String({
                    default: ".junction/store.db",
                    description: "Relative to the configuration file.",
                  }),
                ),
                durability: Type.Optional(
                  Type.Union([Type.Literal("process"), Type.Literal("os")], {
                    default: "process",
                    description:
                      "process: survives a crash of the process; os: also survives an OS crash (fsync on every commit group).",
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          },
          { additionalProperties: false, description: "Where Junction keeps its own state." },
        ),
      ),
      http: Type.Optional(
        Type.Object(
          { listen: Type.Optional(listen("Shared listener for webhook sources.", "127.0.0.1:8080")) },
          { additionalProperties: false },
        ),
      ),
      admin: Type.Optional(
        Type.Object(
          {
            listen: Type.Optional(listen("Admin API, health checks and metrics.", "127.0.0.1:4195")),
            token: Type.Optional(
              Secret({ description: "Bearer token for the admin API; required off loopback." }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
      journal: Type.Optional(
        Type.Object(
          {
            retention: Type.Optional(Duration({ description: "How long hops are kept.", default: "7d" })),
            enabled: Type.Optional(
              Type.Boolean({
                default: true,
                description:
                  "false stores no hops (no `junction trace`); metrics and alerts still count them. Its cost is measured by `npm run bench`.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
      expressions: Type.Optional(
        Type.Object(
          {
            timeout: Type.Optional(
              Duration({ description: "Budget for one expression evaluation.", default: "1s" }),
            ),
            workers: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 16,
                default: 1,
                description: "Expression worker threads.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
      tracing: Type.Optional(
        Type.Object(
          {
            otlp: Type.Object(
              {
                endpoint: Type.String({
                  pattern: "^https?://",
                  description: "OTLP/HTTP traces endpoint.",
                  examples: ["http://127.0.0.1:4318/v1/traces"],
                }),
                headers: Type.Optional(
                  Type.Record(Type.String(), Secret({ description: "Header value (e.g. an API key)." }), {
                    description: "Headers sent with every export.",
                  }),
                ),
              },
              { additionalProperties: false, description: "Export spans with OTLP over HTTP (JSON)." },
            ),
            serviceName: Type.Optional(
              Type.String({ default: "junction", description: "The service.name resource attribute." }),
            ),
            sampleRatio: Type.Optional(
              Type.Number({
                minimum: 0,
                maximum: 1,
                default: 1,
                description: "Share of new traces recorded; a sampled parent is always followed.",
              }),
            ),
          },
          {
            additionalProperties: false,
            description: "OpenTelemetry traces following the messaging conventions.",
          },
        ),
      ),
      alerts: Type.Optional(
        Type.Object(
          {
            interval: Type.Optional(
              Duration({ description: "How often alert rules are evaluated.", default: "15s" }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
      shutdown: Type.Optional(
        Type.Object(
          {
            timeout: Type.Optional(
              Duration({ description: "How long SIGTERM waits for in-flight work.", default: "10s" }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  );
  const connection = slot(registry, "connection", mode, ConnectionExtras);
  return Type.Object(
    {
      $schema: Type.Optional(Type.String()),
      systems: Type.Optional(named(system, "Systems outside Junction that own or need data.")),
      connections: Type.Optional(named(connection, "How to reach one system over one protocol.")),
      channels: Type.Optional(named(channel, "Durable channels inside Junction.")),
      policies: Type.Optional(named(PolicySchema, "Failure-handling policies referenced by routes.")),
      routes: named(route, "Pipelines from a source through steps to targets."),
      alerts: Type.Optional(
        named(
          Type.Object(
            {
              description: Type.Optional(Type.String()),
              severity: Type.Optional(
                Type.Union([Type.Literal("info"), Type.Literal("warning"), Type.Literal("critical")], {
                  default: "warning",
                }),
              ),
              when: AlertConditionSchema,
              for: Type.Optional(
                Duration({
                  description: "The condition must hold this long before the alert fires.",
                  default: "0s",
                }),
              ),
              resolveAfter: Type.Optional(
                Duration({
                  description: "It must stay false this long before the alert resolves (hysteresis).",
                  default: "1m",
                }),
              ),
              notify: Type.Array(slot(registry, "sink", mode), {
                minItems: 1,
                description: "Where firing and resolved notices go: any sink (log, http...) or a channel.",
              }),
            },
            { additionalProperties: false },
          ),
          "Rules that watch the integrations and notify when something is wrong, or silent.",
        ),
      ),
      schemas: Type.Optional(
        named(SchemaDeclarationSchema, "Subjects of Junction's schema registry, with their schema files."),
      ),
      models: Type.Optional(
        named(
          CanonicalModelSchema,
          "Canonical models: a registered schema plus, for each system, a mapping to it and from it.",
        ),
      ),
      engine: Type.Optional(engine),
    },
    {
      additionalProperties: false,
      title: "Junction configuration",
      ...(mode === "editor" ? { $id: "https://junction.dev/schema/junction.schema.json" } : {}),
    },
  );
}
