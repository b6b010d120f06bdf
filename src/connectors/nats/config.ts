import { type Static, Type } from "typebox";
import { Duration, Secret, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

export const NatsConnectionSchema = Type.Object(
  {
    servers: Type.Array(
      Type.String({
        minLength: 1,
        pattern: "^(nats|tls|wss?)://[^\\s]+$|^[^\\s:/]+(:[0-9]+)?$",
        description: "A server URL (`nats://host:port`) or `host:port`.",
      }),
      {
        minItems: 1,
        description:
          "Servers of one cluster; a connection tries them in random order. Credentials do not belong here: use `user`/`password` or `token`.",
        examples: [["nats://127.0.0.1:4222"]],
      },
    ),
    user: Type.Optional(Type.String({ minLength: 1, description: "User name; needs `password`." })),
    password: Type.Optional(Secret({ description: "Password of `user`." })),
    token: Type.Optional(Secret({ description: "Authentication token (instead of user and password)." })),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Client name shown by the server (`nats server report connections`); a suffix names each route's consumer connection.",
        default: "junction",
        examples: ["junction-orders"],
      }),
    ),
    connectTimeout: Type.Optional(
      Duration({ description: "Largest wait for the server to accept a new connection.", default: "5s" }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(
            Type.String({ description: "PEM file of the CA that signed the server's certificate." }),
          ),
          certFile: Type.Optional(Type.String({ description: "PEM client certificate, for mutual TLS." })),
          keyFile: Type.Optional(Type.String({ description: "PEM private key of `certFile`." })),
        },
        {
          additionalProperties: false,
          description:
            "Require TLS. Server certificates are always verified; relative paths resolve against the config file.",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type NatsConnectionConfig = Static<typeof NatsConnectionSchema>;

const connection = Type.String({
  minLength: 1,
  description: "A connection declared under `connections:` with `nats`.",
  examples: ["bus"],
});

const streamName = (description: string) =>
  Type.String({ minLength: 1, pattern: "^[^.*>\\s/\\\\]+$", description, examples: ["ORDERS"] });

export const NatsSourceSchema = Type.Object(
  {
    connection,
    stream: streamName("JetStream stream to read (no dots, spaces or wildcards in the name)."),
    declare: Type.Optional(
      Type.Object(
        {
          subjects: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description: "Subjects the stream stores; wildcards allowed.",
            examples: [["orders.>"]],
          }),
          storage: Type.Optional(
            Type.Union([Type.Literal("file"), Type.Literal("memory")], {
              default: "file",
              description: "`file` survives a server restart; `memory` does not.",
            }),
          ),
          retention: Type.Optional(
            Type.Union([Type.Literal("limits"), Type.Literal("interest"), Type.Literal("workqueue")], {
              default: "limits",
              description:
                "`limits` keeps messages until age/size limits; `workqueue` deletes each once acknowledged; `interest` once every consumer acknowledged it.",
            }),
          ),
          duplicateWindow: Type.Optional(
            Duration({
              description: "How long the server remembers `Nats-Msg-Id`s to drop repeated publishes.",
              default: "2m",
            }),
          ),
          maxAge: Type.Optional(
            Duration({ description: "Oldest message kept; unset keeps messages until other limits apply." }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "Create the stream when it does not exist (an existing stream is left as it is). Without it, the stream must exist.",
        },
      ),
    ),
    durable: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[^.*>\\s/\\\\]+$",
        description:
          "Durable consumer name; every process of the route shares it (competing consumers). Default: `junction-<route>`.",
        examples: ["orders-to-warehouse"],
      }),
    ),
    filterSubject: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Only messages whose subject matches (wildcards allowed).",
        examples: ["orders.created"],
      }),
    ),
    deliverPolicy: Type.Optional(
      Type.Union([Type.Literal("all"), Type.Literal("new"), Type.Literal("last")], {
        default: "all",
        description:
          "Where a new consumer starts: every stored message, only new ones, or the last one. An existing consumer keeps its position.",
      }),
    ),
    ackWait: Type.Optional(
      Duration({
        description:
          "A message not acknowledged within this time is redelivered (a crashed or disconnected reader). Kept alive with in-progress signals while its store commit is slow.",
        default: "30s",
      }),
    ),
    maxDeliver: Type.Optional(
      Type.Integer({
        minimum: -1,
        default: -1,
        description:
          "Deliveries per message before the server gives up on it; -1 is unlimited. A finite value can drop messages that were refused for backpressure that many times.",
      }),
    ),
    maxAckPending: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 1000,
        description: "Messages handed out and not yet acknowledged, across every process of the route.",
      }),
    ),
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 100,
        description: "Largest number of messages pulled and stored in one commit.",
      }),
    ),
    contentType: Type.Optional(
      Type.String({
        minLength: 1,
        default: "application/json",
        description:
          "How to read a payload that has no `content-type` header: JSON types are parsed, `text/*` is a string, anything else becomes base64.",
        examples: ["application/json", "text/plain", "application/octet-stream"],
      }),
    ),
    type: Type.Optional(
      Type.String({
        minLength: 1,
        description: "CloudEvents `type` when the message has no `ce-type` header.",
        default: "junction.nats",
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How payloads are decoded, whatever content type they carry (`format: { csv: {} }`); payloads that do not decode become dead letters naming where they went wrong. Unset: by content type.",
      ),
    ),
    system: Type.Optional(
      Type.String({ description: "The system that publishes to this stream (for the map; the `source`)." }),
    ),
  },
  { additionalProperties: false },
);
export type NatsSourceConfig = Static<typeof NatsSourceSchema>;

const headers = Type.Optional(
  Type.Record(
    Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
    Template({ description: "Header value." }),
    {
      description: "Extra headers; values are templates.",
      examples: [{ "x-tenant": "{{ tenant }}" }],
    },
  ),
);

export const NatsSinkSchema = Type.Object(
  {
    connection,
    subject: Template({
      description: "Subject to publish to; a stream must store it.",
      examples: ["orders.created", "orders.{{ region }}"],
    }),
    stream: Type.Optional(
      streamName("When set, a publish that would land in another stream is refused (permanent)."),
    ),
    msgId: Type.Optional(
      Template({
        description:
          "Sent as `Nats-Msg-Id`: the stream stores one message per id within its duplicate window. Default: the message id, so a retried or replayed message is stored once. Give routes that publish the same message to one stream different ids.",
        default: "{{ $message.id }}",
        examples: ["{{ $message.id }}-audit"],
      }),
    ),
    headers,
    timeout: Type.Optional(
      Duration({ description: "Largest wait for the stream's acknowledgement (PubAck).", default: "5s" }),
    ),
    maxInFlight: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100000,
        default: 1000,
        description:
          "Publishes written and waiting for their PubAck at once (pipelined, each still awaited before its message counts as delivered); more wait their turn. The route's `concurrency` usually bounds it first.",
      }),
    ),
    format: Type.Optional(
      formatOptionSchema(
        "How message data is encoded, with that format's content type (`format: { avro: { schemaFile: schemas/order.avsc } }`); data the format cannot encode becomes a dead letter. Unset: JSON, text or base64 bytes by the message's content type.",
      ),
    ),
  },
  { additionalProperties: false },
);
export type NatsSinkConfig = Static<typeof NatsSinkSchema>;

export const NatsRequestSchema = Type.Object(
  {
    connection,
    subject: Template({
      description: "Subject of the service to call (core NATS request-reply).",
      examples: ["stock.lookup", "prices.{{ currency }}"],
    }),
    headers,
    timeout: Type.Optional(Duration({ description: "Largest wait for the reply.", default: "5s" })),
    format: Type.Optional(
      formatOptionSchema(
        "How the request is encoded and the reply decoded (`format: { protobuf: { proto: stock.proto, type: StockQuery } }`). Unset: JSON, or by the reply's content type.",
      ),
    ),
  },
  { additionalProperties: false },
);
export type NatsRequestConfig = Static<typeof NatsRequestSchema>;
