import type { Requester, Sink } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { GrpcCaller } from "./client.js";
import {
  type GrpcCallConfig,
  GrpcRequestSchema,
  GrpcSinkSchema,
  type GrpcSourceConfig,
  GrpcSourceSchema,
} from "./config.js";
import { GrpcSource } from "./source.js";

export const grpcConnector = defineConnector({
  name: "grpc",
  summary: "Call gRPC methods (request step and sink), or serve one so that each call becomes a message.",
  description:
    "Built on @grpc/grpc-js with the .proto loaded at run time by @grpc/proto-loader (no code generation). Field names follow the proto3 JSON mapping (`orderId`; `keepCase: true` keeps `order_id`); 64-bit integers and enums are strings, bytes are base64. Calls carry `traceparent`, `x-correlation-id` and `ce-id` (the message id) as metadata. Unary methods answer with the reply; server-streaming methods with the array of replies. Statuses UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED are retried; INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, UNIMPLEMENTED and the rest are permanent. The source serves one unary method: the caller gets its reply only after the message is stored (by default `{ id: <message id> }`); RESOURCE_EXHAUSTED with `retry-after` when the route is full, UNAVAILABLE while stopping, INVALID_ARGUMENT for a request that cannot be decoded (kept as a dead letter).",
  examples: [
    {
      title: "Enrich an order with its lines (server streaming)",
      yaml: 'enrich:\n  with:\n    grpc: { proto: orders.proto, service: shop.orders.v1.OrderService, method: ListLines, address: "${ORDERS_GRPC}", input: \'{ "orderId": orderId }\' }\n  into: lines',
    },
    {
      title: "Create orders through a unary method",
      yaml: 'to:\n  - grpc:\n      proto: orders.proto\n      service: shop.orders.v1.OrderService\n      method: Create\n      address: 127.0.0.1:50051\n      metadata: { x-tenant: "{{ tenant }}" }\n      timeout: 5s',
    },
    {
      title: "Serve OrderService/Create: each call becomes a message",
      yaml: "from:\n  grpc: { listen: 127.0.0.1:50051, proto: orders.proto, service: shop.orders.v1.OrderService, method: Create }",
    },
  ],
  source: {
    schema: GrpcSourceSchema,
    create: (config: GrpcSourceConfig) => new GrpcSource(config),
  },
  sink: {
    schema: GrpcSinkSchema,
    create(config: GrpcCallConfig, context): Sink {
      const caller = new GrpcCaller(config, context);
      return {
        write: async (message, signal) => {
          await caller.call(message, signal);
        },
        close: () => caller.close(),
      };
    },
  },
  request: {
    schema: GrpcRequestSchema,
    create(config: GrpcCallConfig, context): Requester {
      const caller = new GrpcCaller(config, context);
      return { request: (message, signal) => caller.call(message, signal), close: () => caller.close() };
    },
  },
});
