import { type Static, Type } from "typebox";
import { DURATION_PATTERN, Duration, Secret, Size, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

const Arguments = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: "Extra `x-` arguments passed to the broker as they are.",
  examples: [{ "x-max-length": 100000 }],
});

const ExchangeSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: "Exchange name.", examples: ["orders"] }),
    type: Type.Optional(
      Type.Union(
        [Type.Literal("direct"), Type.Literal("topic"), Type.Literal("fanout"), Type.Literal("headers")],
        {
          default: "topic",
          description:
            "How the exchange routes: by exact key, by key pattern, to every queue, or by headers.",
        },
      ),
    ),
    durable: Type.Optional(Type.Boolean({ default: true, description: "Survives a broker restart." })),
    autoDelete: Type.Optional(
      Type.Boolean({ default: false, description: "Deleted by the broker when its last binding goes." }),
    ),
    arguments: Type.Optional(Arguments),
  },
  { additionalProperties: false },
);

const QueueSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: "Queue name.", examples: ["orders.warehouse"] }),
    durable: Type.Optional(
      Type.Boolean({ default: true, description: "Survives a broker restart (quorum queues always are)." }),
    ),
    type: Type.Optional(
      Type.Union([Type.Literal("classic"), Type.Literal("quorum")], {
        default: "classic",
        description: "Queue type; quorum queues are replicated and must be durable.",
      }),
    ),
    deadLetterExchange: Type.Optional(
      Type.String({
        description:
          "Exchange that receives messages the broker dead-letters (rejected without requeue, expired, over the length limit).",
        examples: ["orders.dlx"],
      }),
    ),
    deadLetterRoutingKey: Type.Optional(
      Type.String({ description: "Routing key used when dead-lettering; by default the message's own." }),
    ),
    messageTtl: Type.Optional(
      Duration({ description: "Messages older than this expire (or are dead-lettered)." }),
    ),
    maxLength: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Largest number of ready messages; the oldest are dropped or dead-lettered.",
      }),
    ),
    arguments: Type.Optional(Arguments),
  },
  { additionalProperties: false },
);

const BindingSchema = Type.Object(
  {
    exchange: Type.String({ minLength: 1, description: "Exchange to bind from.", examples: ["orders"] }),
    queue: Type.String({ minLength: 1, description: "Queue to bind to.", examples: ["orders.warehouse"] }),
    routingKey: Type.Optional(
      Type.String({
        default: "",
        description: "Binding key; on topic exchanges `*` matches one word and `#` zero or more.",
        examples: ["order.*", "#"],
      }),
    ),
    arguments: Type.Optional(Arguments),
  },
  { additionalProperties: false },
);

export const AmqpTopologySchema = Type.Object(
  {
    exchanges: Type.Optional(Type.Array(ExchangeSchema, { description: "Exchanges to declare." })),
    queues: Type.Optional(Type.Array(QueueSchema, { description: "Queues to declare." })),
    bindings: Type.Optional(Type.Array(BindingSchema, { description: "Queue bindings to declare." })),
  },
  {
    additionalProperties: false,
    description:
      "Declared on every (re)connect, before any source or sink uses the connection. Declaring what already exists with the same settings is harmless; different settings are a startup error (PRECONDITION_FAILED).",
  },
);
export type AmqpTopology = Static<typeof AmqpTopologySchema>;

export const AmqpConnectionSchema = Type.Object(
  {
    url: Secret({
      description:
        "`amqp://user:password@host:port/vhost` (or `amqps://` for TLS). Keep credentials in the environment.",
      examples: ["amqp://guest:guest@127.0.0.1:5672", "${RABBITMQ_URL}"],
    }),
    heartbeat: Type.Optional(
      Duration({
        description:
          "Heartbeat interval negotiated with the broker; a peer silent for about two intervals is considered gone. 0s turns heartbeats off.",
        default: "30s",
      }),
    ),
    connectionTimeout: Type.Optional(
      Duration({
        description: "How long connecting (TCP, TLS and the AMQP handshake) may take.",
        default: "10s",
      }),
    ),
    topology: Type.Optional(AmqpTopologySchema),
  },
  { additionalProperties: false },
);
export type AmqpConnectionConfig = Static<typeof AmqpConnectionSchema>;

export const AmqpSourceSchema = Type.Object(
  {
    connection: Type.String({
      description: "A connection declared under `connections:` with `amqp`.",
      examples: ["broker"],
    }),
    queue: Type.String({ minLength: 1, description: "Queue to consume.", examples: ["orders.warehouse"] }),
    prefetch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        default: 50,
        description:
          "Deliveries the broker may hand out before they are acknowledged. Each is acknowledged only after it is stored.",
      }),
    ),
    maxMessageSize: Type.Optional(
      Size({
        description:
          "Largest payload taken in; a larger one becomes a dead letter (with its first 64 KiB) and is rejected without requeue, so a broker dead-letter exchange keeps the whole message.",
        default: "1mb",
      }),
    ),
    contentType: Type.Optional(
      Type.String({
        description:
          "Content type assumed for deliveries that carry none. JSON types are parsed, text types become strings, others base64.",
        default: "application/octet-stream",
        examples: ["application/json", "text/plain"],
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How payloads are decoded, whatever content type they carry (`format: { csv: {} }`). Unset: by content type, as `contentType` describes. Payloads that do not decode become dead letters naming where they went wrong.",
      ),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that publishes to this queue (for the map and as `source`)." }),
    ),
  },
  { additionalProperties: false },
);
export type AmqpSourceConfig = Static<typeof AmqpSourceSchema>;

/** The connection a sink or request publishes on. */
const publisherConnection = Type.String({
  description: "A connection declared under `connections:` with `amqp`.",
  examples: ["broker"],
});

/** Headers a sink or request adds to each publish. */
const extraHeaders = Type.Optional(
  Type.Record(Type.String(), Template({ description: "Header value." }), {
    description: "Extra AMQP headers; values are templates.",
  }),
);

export const AmqpSinkSchema = Type.Object(
  {
    connection: publisherConnection,
    exchange: Type.Optional(
      Template({
        description:
          'Exchange to publish to; `""` is the default exchange, which routes to the queue named by the routing key.',
        default: "",
        examples: ["orders", "{{ $message.headers.tenant }}.events"],
      }),
    ),
    routingKey: Template({
      description: "Routing key; a template.",
      examples: ["order.{{ status }}", "orders.warehouse"],
    }),
    headers: extraHeaders,
    priority: Type.Optional(
      Type.Union(
        [
          Type.Integer({ minimum: 0, maximum: 255 }),
          Type.String({ "x-format": "template", pattern: "\\{\\{", examples: ["{{ priority }}"] }),
        ],
        {
          description:
            "The message's priority (0 to 255), or a template rendered per message; it orders messages in a queue declared with `x-max-priority` (see the topology's `arguments`). A rendering that is not such an integer makes the message a dead letter (`JUNCTION_AMQP_BAD_PROPERTY`).",
          examples: [5, "{{ $message.headers.urgency = 'high' ? 9 : 1 }}"],
        },
      ),
    ),
    expiration: Type.Optional(
      Type.String({
        "x-format": "template",
        pattern: `^(${DURATION_PATTERN.slice(1, -1)}|.*\\{\\{.*)$`,
        description:
          "Per-message TTL (AMQP `expiration`): a duration, or a template rendered per message to a duration or a number of milliseconds. The broker drops (or dead-letters) the message once it waited that long in a queue. A rendering that is neither makes the message a dead letter (`JUNCTION_AMQP_BAD_PROPERTY`).",
        examples: ["30s", "{{ ttlMs }}"],
      }),
    ),
    persistent: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Delivery mode 2: the broker writes the message to disk in durable queues.",
      }),
    ),
    mandatory: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Ask the broker to return a message no queue takes; the write then fails for good (a dead letter) instead of the message vanishing.",
      }),
    ),
    timeout: Type.Optional(
      Duration({ description: "How long a publish may wait for the broker's confirm.", default: "30s" }),
    ),
    maxInFlight: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100000,
        default: 1000,
        description:
          "Publishes sent and waiting for their confirm at once (pipelined on one confirm channel, each still awaited before its message counts as delivered); more wait their turn. The route's `concurrency` usually bounds it first.",
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How message data is encoded (`format: { avro: { schemaFile: schemas/order.avsc } }`), with that format's content type. Unset: JSON, text or base64 bytes by the message's content type. Data the format cannot encode becomes a dead letter.",
      ),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that consumes what is published (for the map)." }),
    ),
  },
  { additionalProperties: false },
);
export type AmqpSinkConfig = Static<typeof AmqpSinkSchema>;

export const AmqpRequestSchema = Type.Object(
  {
    connection: publisherConnection,
    exchange: Type.Optional(
      Template({
        description:
          'Exchange to send the request to; `""` is the default exchange, which routes to the queue named by the routing key.',
        default: "",
      }),
    ),
    routingKey: Template({
      description: "Routing key: with the default exchange, the queue the service consumes.",
      examples: ["stock.lookup", "prices.{{ currency }}"],
    }),
    headers: extraHeaders,
    timeout: Type.Optional(
      Duration({
        description:
          "Largest wait for the reply; also the request's `expiration`, so a service that reads it later never answers a caller that gave up.",
        default: "5s",
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How the request is encoded and the reply decoded. Unset: the request as JSON (or text, or bytes, by the message's content type) and the reply by its content type.",
      ),
    ),
  },
  { additionalProperties: false },
);
export type AmqpRequestConfig = Static<typeof AmqpRequestSchema>;
