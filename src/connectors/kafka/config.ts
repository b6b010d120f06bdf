import { type Static, Type } from "typebox";
import { Duration, Secret, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

const clientProperties = {
  brokers: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description:
      "Bootstrap brokers as `host:port`. An item may hold several separated by commas, so one environment variable can carry the list.",
    examples: [["127.0.0.1:9092"], ["${KAFKA_BROKERS}"]],
  }),
  clientId: Type.Optional(
    Type.String({
      minLength: 1,
      default: "junction",
      description: "Client id shown in the brokers' logs and quotas.",
    }),
  ),
  sasl: Type.Optional(
    Type.Object(
      {
        mechanism: Type.Union(
          [Type.Literal("PLAIN"), Type.Literal("SCRAM-SHA-256"), Type.Literal("SCRAM-SHA-512")],
          { description: "SASL mechanism." },
        ),
        username: Type.String({ description: "User name.", examples: ["junction"] }),
        password: Secret({ description: "Password.", examples: ["${KAFKA_PASSWORD}"] }),
      },
      {
        additionalProperties: false,
        description: "SASL authentication (use with `tls: true` outside a trusted network).",
      },
    ),
  ),
  tls: Type.Optional(
    Type.Boolean({
      default: false,
      description: "Connect with TLS, trusting the system's root certificates.",
    }),
  ),
  timeout: Type.Optional(Duration({ description: "Timeout of one request to a broker.", default: "30s" })),
};

const Format = formatOptionSchema(
  "How record values are decoded and encoded, with any codec (`format: { avro-confluent: {} }`, `format: { text: {} }`); a value that does not decode becomes a dead letter with its bytes. Unset: JSON (a record that declares a text or binary content type still decodes as JSON).",
);

export const KafkaSourceSchema = Type.Object(
  {
    ...clientProperties,
    topics: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: "Topics to consume.",
      examples: [["orders"]],
    }),
    groupId: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Consumer group; by default the route's name. Offsets are committed to it.",
        examples: ["junction-orders"],
      }),
    ),
    fromBeginning: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Where a group with no committed offset starts: the oldest record (true) or only new records (false).",
      }),
    ),
    format: Type.Optional(Format),
    batchSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 100,
        description: "Largest number of records stored in one commit.",
      }),
    ),
    system: Type.Optional(Type.String({ description: "The system that writes these topics (for the map)." })),
    type: Type.Optional(
      Type.String({
        description:
          "CloudEvents type of the messages when a record has no `ce_type` header; by default `kafka.<topic>`.",
        examples: ["shop.order.created"],
      }),
    ),
  },
  { additionalProperties: false },
);
export type KafkaSourceConfig = Static<typeof KafkaSourceSchema>;

export const KafkaSinkSchema = Type.Object(
  {
    ...clientProperties,
    topic: Template({
      description: "Topic to write to; a template.",
      examples: ["orders", "orders.{{ region }}"],
    }),
    key: Type.Optional(
      Template({
        description:
          "Record key; a template. Records with the same key go to the same partition, in order. By default the message's subject, if any.",
        examples: ["{{ customerId }}"],
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Template({ description: "Header value." }), {
        description: "Extra record headers; values are templates.",
      }),
    ),
    forwardHeaders: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Copy the message's own headers into the record (besides the CloudEvents and trace headers).",
      }),
    ),
    format: Type.Optional(Format),
    idempotent: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Idempotent producer (acks from all in-sync replicas, one request in flight per broker): the client's own retries never duplicate or reorder records.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type KafkaSinkConfig = Static<typeof KafkaSinkSchema>;
