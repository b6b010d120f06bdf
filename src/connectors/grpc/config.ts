import { type Static, Type } from "typebox";
import { Duration, Expression, Template } from "../../config/schema-types.js";

const protoProperties = {
  proto: Type.String({
    minLength: 1,
    description: "Path of the .proto file, relative to the configuration file; loaded when the route starts.",
    examples: ["protos/orders.proto"],
  }),
  includeDirs: Type.Optional(
    Type.Array(Type.String(), {
      description:
        "Directories searched for the proto's imports, relative to the configuration file (the proto's own directory is always searched).",
      examples: [["protos", "third_party/googleapis"]],
    }),
  ),
  service: Type.String({
    minLength: 1,
    description: "Fully qualified service name: package and service.",
    examples: ["shop.orders.v1.OrderService"],
  }),
  method: Type.String({ minLength: 1, description: "Method of the service.", examples: ["Create"] }),
  keepCase: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        "Keep the proto's field names (`order_id`) instead of the proto3 JSON names (`orderId`) in message data.",
    }),
  ),
};

const callProperties = {
  ...protoProperties,
  address: Type.String({
    pattern: "^(dns:|unix:|ipv4:|ipv6:)?[^\\s]+$",
    description:
      "Where the server listens: `host:port`, or a gRPC target such as `dns:///orders.internal:443`.",
    examples: ["127.0.0.1:50051", "${ORDERS_GRPC_ADDRESS}"],
  }),
  tls: Type.Optional(
    Type.Boolean({
      default: false,
      description: "Use TLS with the system's root certificates instead of a plaintext connection.",
    }),
  ),
  input: Type.Optional(
    Expression({
      description:
        "JSONata expression producing the request message from the data (`$message` is the envelope). By default the data itself is sent.",
      examples: ['{ "orderId": orderId }', '{ "orderId": $message.subject, "lines": items }'],
    }),
  ),
  metadata: Type.Optional(
    Type.Record(Type.String({ pattern: "^[0-9a-z_.-]+$" }), Template({ description: "Metadata value." }), {
      description:
        "Extra metadata sent with the call; values are templates. `traceparent`, `x-correlation-id` and `ce-id` (the message id) are always sent.",
      examples: [{ "x-tenant": "{{ tenant }}" }],
    }),
  ),
  timeout: Type.Optional(
    Duration({
      description: "Deadline of one call; when it passes the call fails with a retryable DEADLINE_EXCEEDED.",
      default: "30s",
    }),
  ),
};

export const GrpcRequestSchema = Type.Object(callProperties, { additionalProperties: false });
export const GrpcSinkSchema = Type.Object(callProperties, { additionalProperties: false });
export type GrpcCallConfig = Static<typeof GrpcRequestSchema>;

export const GrpcSourceSchema = Type.Object(
  {
    ...protoProperties,
    listen: Type.String({
      pattern: "^[^\\s]+:[0-9]+$",
      description: "host:port on which Junction serves the method (port 0 picks a free port).",
      examples: ["127.0.0.1:50051", "0.0.0.0:50051"],
    }),
    reply: Type.Optional(
      Expression({
        description:
          "JSONata expression producing the reply from the request data, once the message is stored; `$message.id` is the stored message's id. By default `{ id: <message id> }`, which needs the reply type to have a string field `id`.",
        examples: ['{ "id": $message.id, "status": "ACCEPTED" }'],
      }),
    ),
    system: Type.Optional(Type.String({ description: "The system that calls this method (for the map)." })),
    type: Type.Optional(
      Type.String({
        description: "CloudEvents type of the messages; by default `<service>.<method>`.",
        examples: ["shop.order.created"],
      }),
    ),
  },
  { additionalProperties: false },
);
export type GrpcSourceConfig = Static<typeof GrpcSourceSchema>;
